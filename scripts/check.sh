#!/usr/bin/env bash
# make check: the fast loop — lint, format, types, Rasa data, and every test that needs no server,
# model, browser or network service (tests/unit and tests/actions, without the PostgreSQL and Redis
# cases), on both cores. No training, nothing started. `make test` runs all of this and the rest.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt
start=$(date +%s)

# `rasa data validate` (≈6 s) runs beside the tests: its output is shown only when it fails.
validate_log="$(mktemp)"
trap 'rm -f "$validate_log"' EXIT
"$VENV/bin/rasa" data validate --fail-on-warnings --quiet >"$validate_log" 2>&1 &
validate=$!

say "Lint, format (ruff), types (mypy, strict sur bot/)"
"$VENV/bin/ruff" check bot actions rasa_ext tests bench scripts
"$VENV/bin/ruff" format --check --quiet bot actions rasa_ext tests bench scripts
"$VENV/bin/mypy"

say "Tests sans serveur ni modèle (tests/unit, tests/actions)"
"$VENV/bin/python" -m pytest -q -n 2 --dist loadgroup -p no:cacheprovider tests/unit tests/actions -m "not postgres and not redis" "$@"

if ! wait "$validate"; then
  cat "$validate_log" >&2
  die "rasa data validate a trouvé une erreur dans les données (ci-dessus)."
fi
say "make check : tout est bon ($(( $(date +%s) - start )) s)"
