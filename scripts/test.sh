#!/usr/bin/env bash
# make test: lint, data validation, training (once), conversation tests, NLU gate, pytest
# (unit, store on SQLite and PostgreSQL, live server over REST, browser). Non-zero on any failure.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
export SPIE_TEST_RUN=1
mkdir -p results artifacts

ensure_venv requirements-dev.txt

say "Lint (ruff)"
"$VENV/bin/ruff" check bot actions rasa_ext tests bench scripts

say "Validation des données Rasa (--fail-on-warnings)"
"$VENV/bin/rasa" data validate --fail-on-warnings --quiet

start=$(date +%s)
ensure_model
say "Modèle prêt en $(( $(date +%s) - start )) s"

say "Tests de conversation (rasa test core --fail-on-prediction-errors)"
"$VENV/bin/rasa" test core --model "$MODEL" --stories tests/test_stories.yml \
  --fail-on-prediction-errors --out results/core --quiet

say "Qualité NLU sur le jeu réservé (tests/nlu_holdout.yml)"
"$VENV/bin/rasa" test nlu --model "$MODEL" --nlu tests/nlu_holdout.yml --out results/nlu --quiet >/dev/null
"$PY" -m bot.cli nlu-gate results/nlu

if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/axe-core ]; then
  say "axe-core (npm ci)"
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
fi

say "pytest"
"$VENV/bin/python" -m pytest "$@"
