#!/usr/bin/env bash
# make cluster: the scale-out topology on loopback, in the foreground until Ctrl-C.
#   nginx (CLUSTER_PORT, 8000) -> CLUSTER_SERVERS Rasa servers (2) -> nginx -> action servers (2),
#   conversations and places/contacts in PostgreSQL, conversation locks in Redis.
# Started by scripts/cluster/topology.py (also used by tests/cluster/test_cluster.py). See README.md,
# « Passer à l'échelle (make cluster) ».
source "$(dirname "$0")/common.sh"
cd "$ROOT"

export TRACKER_DB_URL="${TRACKER_DB_URL:-postgresql://root@127.0.0.1:5432/spie_cluster}"
export DATABASE_URL="${DATABASE_URL:-$TRACKER_DB_URL}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/1}"
export CLUSTER_PORT="${CLUSTER_PORT:-8000}" CLUSTER_SERVERS="${CLUSTER_SERVERS:-2}"
export CLUSTER_DIR="${CLUSTER_DIR:-$ROOT/var/cluster}"

ensure_venv requirements.txt
ensure_model
[ -x "${NGINX_BIN:-/usr/sbin/nginx}" ] ||
  die "nginx est introuvable : installez le paquet Debian (sudo apt-get install -y nginx)."

say "Grappe : $CLUSTER_SERVERS serveurs Rasa et ${CLUSTER_ACTION_SERVERS:-$CLUSTER_SERVERS} serveurs d'actions derrière nginx (port $CLUSTER_PORT)"
# Creates the database if needed, builds the places store, starts everything, stops it on Ctrl-C.
exec "$PY" -m scripts.cluster.topology
