#!/usr/bin/env bash
# make test: lint, data validation, training (once), conversation tests, NLU gate, pytest
# (unit, store on SQLite and PostgreSQL, live server over REST, browser). Non-zero on any failure.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
mkdir -p results artifacts

ensure_venv requirements-dev.txt

say "Lint, format (ruff), types (mypy, strict sur bot/)"
"$VENV/bin/ruff" check bot actions rasa_ext tests bench scripts
"$VENV/bin/ruff" format --check --quiet bot actions rasa_ext tests bench scripts
"$VENV/bin/mypy"

say "Validation des données Rasa (--fail-on-warnings)"
"$VENV/bin/rasa" data validate --fail-on-warnings --quiet

start=$(date +%s)
ensure_model
say "Modèle prêt en $(( $(date +%s) - start )) s"

bash "$ROOT/scripts/rasa_test_report.sh"
# Fails below macro-F1 0.95 or any intent below 0.85 (bot/staff/nlu_gate.py); prints the figures.
say "Qualité NLU sur le jeu réservé (macro-F1 ≥ 0,95, chaque intention ≥ 0,85)"
"$PY" -m bot.cli nlu-gate results/nlu

if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/axe-core ]; then
  say "axe-core (npm ci)"
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
fi

# Unit tests, then the live ones: one assistant (Rasa + action server) shared by the session,
# REST conversations, faults, fuzzing, `make shell` in a terminal, the widget in Chromium, and
# the nginx + PostgreSQL + Redis cluster.
say "pytest (unitaires, serveur réel, navigateur, grappe)"
"$VENV/bin/python" -m pytest --durations=10 "$@"
