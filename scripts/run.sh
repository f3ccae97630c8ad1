#!/usr/bin/env bash
# make run / make shell: install, train if needed, start the action server, the demo pages and
# Rasa (REST + socket.io) — or `rasa shell` — in the foreground; Ctrl-C, or closing the terminal
# (SIGHUP), stops everything.
source "$(dirname "$0")/common.sh"
MODE="${1:-server}"   # server | shell

export RASA_PORT="${RASA_PORT:-5005}" ACTIONS_PORT="${ACTIONS_PORT:-5055}" WEB_PORT="${WEB_PORT:-8080}"
export RASA_HOST="${RASA_HOST:-127.0.0.1}"
export ACTIONS_URL="${ACTIONS_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}"
export RASA_PUBLIC_URL="${RASA_PUBLIC_URL:-http://127.0.0.1:$RASA_PORT}"
export ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-http://127.0.0.1:$WEB_PORT http://localhost:$WEB_PORT}"  # read by the socket.io channel too

cd "$ROOT"
ensure_venv requirements.txt
ensure_model
ensure_database
# Retention: the Rasa server's tracker store purges old events at start and every PURGE_INTERVAL_HOURS.

children=()  # background processes started here (servers, rasa shell)
watcher=""   # the terminal watcher, see watch_terminal

# The given pids and all their descendants (a child's own children must stop too).
process_tree() {
  local table pid ppid i=0 found=("$@")
  table="$(ps -e -o pid= -o ppid=)"
  while ((i < ${#found[@]})); do
    while read -r pid ppid; do
      if [ "$ppid" = "${found[i]}" ]; then found+=("$pid"); fi
    done <<<"$table"
    i=$((i + 1))
  done
  echo "${found[@]}"
}

any_alive() {
  local pid
  for pid in "$@"; do if kill -0 "$pid" 2>/dev/null; then return 0; fi; done
  return 1
}

# SIGTERM to every process started here, then SIGKILL to those still there after $1 seconds (10 by
# default): a child may ignore signals or be busy loading the model, and rasa shell, at its prompt,
# takes 10 s to stop on SIGTERM (measured).
cleanup() {
  trap - EXIT
  trap '' INT TERM HUP  # a second signal (Ctrl-C again, the terminal's SIGHUP) must not cut this short
  local grace="${1:-10}" pids i
  read -r -a pids <<<"$(process_tree "${children[@]}" $watcher)"
  if ((${#pids[@]} == 0)); then return 0; fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < grace * 4; i++)); do
    any_alive "${pids[@]}" || break
    sleep 0.25
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
# Ctrl-C may come while waiting for a server to start: stop everything and leave, not go on waiting.
trap 'cleanup; exit 130' INT TERM
# The terminal is gone: nobody is left to see a graceful stop; free the memory and ports at once.
trap 'cleanup 2; exit 129' HUP

# Closing the terminal sends SIGHUP to its session leader only; when that is make itself or
# `sh -c` (a tmux pane, an IDE's task), this script and its children get no signal at all. So
# watch the terminal: once it is gone (/dev/tty can no longer be opened), act as on SIGHUP.
watch_terminal() {
  while { : </dev/tty; } 2>/dev/null; do sleep 1; done
  kill -HUP $$
}
if { : </dev/tty; } 2>/dev/null; then
  watch_terminal &
  watcher=$!
fi

say "Serveur d'actions sur le port $ACTIONS_PORT"
"$VENV/bin/rasa" run actions --actions actions --port "$ACTIONS_PORT" &
children+=($!)
wait_for "http://127.0.0.1:$ACTIONS_PORT/health" 120 "Le serveur d'actions"

if [ "$MODE" = shell ]; then
  say "rasa shell (tapez /stop pour quitter)"
  # rasa shell, every answer shown whole (rasa_ext/shell.py). In the background, keeping the
  # terminal as its input, so that a signal's trap runs at once rather than when it ends.
  "$PY" -m rasa_ext.shell --model "$MODEL" --endpoints endpoints.yml --port "$RASA_PORT" <&0 &
  children+=($!)
  wait "$!"
  exit 0
fi

"$PY" -m bot.cli web serve --host 127.0.0.1 --port "$WEB_PORT" --rasa-url "$RASA_PUBLIC_URL" &
children+=($!)

read -r -a origins <<<"$ALLOWED_ORIGINS"
say "Serveur Rasa sur $RASA_PUBLIC_URL (démarrage ≈ 35 s)"
# rasa_ext.launch = `rasa`, plus the HTTP API when RASA_API_TOKEN is set, the token read from the
# environment (never on this command line, visible in ps) and accepted only in a Bearer header.
"$PY" -m rasa_ext.launch run --model "$MODEL" --interface "$RASA_HOST" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml --cors "${origins[@]}" &
children+=($!)
wait_for "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 300 "Le serveur Rasa"
cat <<MSG

  L'assistant est prêt.
  - API REST :  POST $RASA_PUBLIC_URL/webhooks/rest/webhook  {"sender": "moi", "message": "Qui peut candidater ?"}
  - socket.io : $RASA_PUBLIC_URL/socket.io/
  - Pages de démonstration (widget) :
      http://127.0.0.1:$WEB_PORT/departement.html
      http://127.0.0.1:$WEB_PORT/dreets.html
  Ctrl-C arrête tout.

MSG
wait -n "${children[@]}"
