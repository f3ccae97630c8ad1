#!/usr/bin/env bash
# make run / make shell: install, train if needed, build the database, then hand over to the
# supervisor (scripts/supervisor.py), which starts the action server, the demo pages and Rasa
# (REST + socket.io) — or `rasa shell` — in the foreground; Ctrl-C, or closing the terminal
# (SIGHUP), stops everything. Ports, hosts and origins: bot/config.py (environment, then .env).
source "$(dirname "$0")/common.sh"
MODE="${1:-server}"   # server | shell

cd "$ROOT"
ensure_venv requirements.txt
ensure_model
ensure_database
# Retention: the Rasa server's tracker store purges old events at start and every PURGE_INTERVAL_HOURS.

# exec: the supervisor takes this process's place, so signals (Ctrl-C, SIGHUP) reach it directly.
if [ "$MODE" = shell ]; then exec "$PY" -m scripts.supervisor shell; fi
exec "$PY" -m scripts.supervisor run
