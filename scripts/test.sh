#!/usr/bin/env bash
# make test: lint, data validation, training (once), conversation tests, NLU gate, pytest
# (unit, store on SQLite and PostgreSQL, live server over REST, browser). Non-zero on any failure.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
mkdir -p results artifacts

ensure_venv requirements-dev.txt

say "Lint (ruff)"
"$VENV/bin/ruff" check bot actions rasa_ext tests bench scripts

say "Validation des données Rasa (--fail-on-warnings)"
"$VENV/bin/rasa" data validate --fail-on-warnings --quiet

start=$(date +%s)
ensure_model
say "Modèle prêt en $(( $(date +%s) - start )) s"

bash "$ROOT/scripts/rasa_test_report.sh"
say "Barrière de qualité NLU (macro-F1 ≥ 0,95, chaque intention ≥ 0,85)"
"$PY" -m bot.cli nlu-gate results/nlu

if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/axe-core ]; then
  say "axe-core (npm ci)"
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
fi

say "pytest"
"$VENV/bin/python" -m pytest "$@"
