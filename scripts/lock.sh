#!/usr/bin/env bash
# Regenerates the locks from their sources (`make lock`): requirements.in → requirements.txt and
# requirements-dev.in → requirements-dev.txt, each with the exact version and the sha256 of every
# file of every package, direct or not, for this machine's CPython 3.10 on Linux x86_64 and the
# indexes pip is configured with (so the hashes are those of the files pip downloads here).
# Versions already in a lock are kept: nothing moves unless its source asks for it, or
# `make lock UPGRADE=package` names it (one package, with what it needs).
source "$(dirname "$0")/common.sh"
ensure_venv requirements-dev.txt  # pip-compile (pip-tools) is pinned in requirements-dev.in

cd "$ROOT"
upgrade=()
[ -n "${UPGRADE:-}" ] && upgrade=(--upgrade-package "$UPGRADE")
for lock in requirements requirements-dev; do
  say "Verrouillage : $lock.in → $lock.txt"
  CUSTOM_COMPILE_COMMAND="make lock" "$VENV/bin/pip-compile" --quiet "${upgrade[@]}" \
    --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
    --output-file "$lock.txt" "$lock.in"
done
