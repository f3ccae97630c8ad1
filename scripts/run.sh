#!/usr/bin/env bash
# make run / make shell: install, train if needed, start the action server, the demo pages and
# Rasa (REST + socket.io) — or `rasa shell` — in the foreground; Ctrl-C stops everything.
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
"$PY" -m bot.cli privacy purge >/dev/null || say "Purge des anciennes conversations impossible (TRACKER_DB_URL) : voir « bot privacy purge »."

children=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
# Ctrl-C may come while waiting for a server to start: stop everything and leave, not go on waiting.
trap 'cleanup; exit 130' INT TERM

say "Serveur d'actions sur le port $ACTIONS_PORT"
"$VENV/bin/rasa" run actions --actions actions --port "$ACTIONS_PORT" &
children+=($!)
wait_for "http://127.0.0.1:$ACTIONS_PORT/health" 120 "Le serveur d'actions"

if [ "$MODE" = shell ]; then
  say "rasa shell (tapez /stop pour quitter)"
  "$VENV/bin/rasa" shell --model "$MODEL" --endpoints endpoints.yml
  exit 0
fi

"$PY" -m bot.cli web serve --host 127.0.0.1 --port "$WEB_PORT" --rasa-url "$RASA_PUBLIC_URL" &
children+=($!)

api_args=()
if [ -n "${RASA_API_TOKEN:-}" ]; then api_args=(--enable-api --auth-token "$RASA_API_TOKEN"); fi
read -r -a origins <<<"$ALLOWED_ORIGINS"
say "Serveur Rasa sur $RASA_PUBLIC_URL (démarrage ≈ 35 s)"
"$VENV/bin/rasa" run --model "$MODEL" --interface "$RASA_HOST" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml --cors "${origins[@]}" "${api_args[@]}" &
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
