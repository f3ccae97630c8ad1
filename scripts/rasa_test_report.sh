#!/usr/bin/env bash
# `make rasa-test-report`: Rasa's own test reports in results/ —
#   results/nlu/  intent_report.json, intent_confusion_matrix.png, intent_histogram.png,
#                 response_selection_report.json (faq/*), DIETClassifier_report.json (entities)
#   results/core/ story_report.json, failed_test_stories.yml, story_confusion_matrix.png
# on the held-out NLU set and the conversation tests. `make test` runs it, then the NLU gate.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_model
# endpoints.yml names the action server (not called by these tests, but the file must resolve).
export ACTIONS_URL="${ACTIONS_URL:-http://127.0.0.1:5055/webhook}"

say "Tests de conversation (rasa test core --fail-on-prediction-errors)"
"$VENV/bin/rasa" test core --model "$MODEL" --stories tests/test_stories.yml \
  --fail-on-prediction-errors --out results/core --quiet

say "Jeu NLU réservé (rasa test nlu) → results/nlu"
"$VENV/bin/rasa" test nlu --model "$MODEL" --nlu tests/nlu_holdout.yml --out results/nlu --quiet >/dev/null
for report in intent_report.json intent_confusion_matrix.png response_selection_report.json; do
  [ -s "results/nlu/$report" ] || die "results/nlu/$report manque"
done
say "Rapports : results/nlu/intent_report.json, results/nlu/intent_confusion_matrix.png, results/core/"
