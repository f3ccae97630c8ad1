#!/usr/bin/env bash
# make bench: the load benchmark and the comparison with Rasa's default pipeline (docs/benchmarks.md).
# Arguments go to bench/benchmark.py, e.g. `bash bench/run.sh --quick --skip-default`.
source "$(dirname "$0")/../scripts/common.sh"
cd "$ROOT"
ensure_venv requirements.txt
ensure_model
say "Benchmark (environ 35 minutes : trois entraînements, trois serveurs ; --quick --no-train : environ 6 minutes)"
exec "$PY" bench/benchmark.py "$@"
