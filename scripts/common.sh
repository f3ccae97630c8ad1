# Shared by scripts/*.sh: the virtual environment, the model, the database. Source it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
MODEL="$ROOT/models/current.tar.gz"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mErreur : %s\033[0m\n' "$*" >&2; exit 1; }

# Rasa 3.6 needs Python 3.10: python3.10 on PATH, or python3 resolving to 3.10 (pyenv + .python-version).
find_python() {
  local candidate
  for candidate in python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  die "Python 3.10 est introuvable (Rasa 3.6 ne fonctionne ni avec 3.11 ni avec 3.9).
Installez-le (paquet python3.10, ou « pyenv install 3.10 » : le fichier .python-version le sélectionne), puis relancez."
}

# Installs (or updates) the virtual environment from a lock (requirements.txt, or requirements-dev.txt
# for the tests and tools) when the lock changed. Hash-checked: pip installs exactly the locked
# versions and refuses any file whose sha256 differs from the lock's (the locks come from their .in
# sources through `make lock`, scripts/lock.sh). The project itself is installed editable, without
# dependencies: they are all in the lock.
ensure_venv() {
  local lock="$ROOT/${1:-requirements.txt}" stamp wanted
  stamp="$VENV/.installed-$(basename "$lock" .txt)"
  wanted="$(cat "$lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$PY" ]; then return 0; fi
  if [ ! -x "$PY" ]; then
    local python; python="$(find_python)"
    say "Création de l'environnement virtuel ($("$python" --version)) dans $VENV"
    "$python" -m venv "$VENV"
  fi
  say "Installation des dépendances ($(basename "$lock")) — quelques minutes la première fois"
  # pip first, at the locked version, so that the same installer reads the lock everywhere.
  "$PY" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r <(lock_entry pip "$lock")
  "$PY" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
  echo "$wanted" > "$stamp"
}

# Prints the lines of PACKAGE's entry (version and hashes) in LOCK.
lock_entry() {
  awk -v name="$1==" 'index($0, name) == 1 { entry = 1 } entry { print } entry && !/\\$/ { exit }' "$2"
}

# Fingerprint of everything the model is trained from.
training_fingerprint() {
  # What training reads: the data, the configuration, and the code of the NLU components that run
  # before DIET or persist something (message_focus rewrites the texts DIET learns from; spacy_nlp
  # gives the tokens and lemmas; the unclear-message classifier keeps a vocabulary). The components
  # that only overrule at inference (places, subject_guard, overrides), the channels, the stores and
  # the speed-ups take effect without retraining.
  (cd "$ROOT" && cat config.yml domain.yml $TRAINING_CODE $(find data -name '*.yml' | sort) |
    sha256sum | cut -c1-16)
}
TRAINING_CODE="rasa_ext/message_focus.py rasa_ext/unclear_message.py rasa_ext/spacy_nlp.py \
bot/understanding/message_focus.py bot/understanding/spelling.py bot/data/spelling.yml bot/text.py"

# Rasa's training cache: one per version of the training code. Rasa keys its cached outputs on the
# components' names, configuration and inputs, not on their code: after a change of
# message_focus.py it gave the old texts back and the « new » model was trained in 21 s on them.
training_cache() {
  local code; code="$(cd "$ROOT" && cat $TRAINING_CODE | sha256sum | cut -c1-16)"
  local cache="$ROOT/.rasa/cache-$code"
  find "$ROOT/.rasa" -maxdepth 1 -name 'cache*' ! -path "$cache" -exec rm -rf {} + 2>/dev/null || true
  echo "$cache"
}

# Trains the model when it is missing, stale or unreadable.
ensure_model() {
  local fingerprint; fingerprint="$(training_fingerprint)"
  if [ -f "$MODEL" ] && ! tar -tzf "$MODEL" >/dev/null 2>&1; then
    say "Le modèle $MODEL est illisible (fichier corrompu) : il est supprimé et réentraîné."
    rm -f "$MODEL" "$ROOT/models/.fingerprint"
  fi
  if [ -f "$MODEL" ] && [ "$(cat "$ROOT/models/.fingerprint" 2>/dev/null)" = "$fingerprint" ]; then
    return 0
  fi
  say "Entraînement du modèle (plusieurs minutes)"
  # Repeatable training: the seeds in config.yml are not enough, Python's string hashing and
  # TensorFlow's multi-threaded ops must be fixed too (two runs give the same model, measured).
  local cache; cache="$(training_cache)"
  (cd "$ROOT" && RASA_CACHE_DIRECTORY="$cache" PYTHONHASHSEED=0 TF_DETERMINISTIC_OPS=1 \
    "$VENV/bin/rasa" train --fixed-model-name current --out models --quiet) ||
    die "l'entraînement a échoué : lancez « $VENV/bin/rasa data validate » pour voir l'erreur dans les données."
  echo "$fingerprint" > "$ROOT/models/.fingerprint"
}

# Builds the places and contacts database (SQLite by default) if needed.
ensure_database() {
  "$PY" -m bot.cli db build >/dev/null || die "la base des lieux et contacts n'a pas pu être construite (DATABASE_URL=$(masked "${DATABASE_URL:-défaut}"))."
}

# Prints TEXT with its secrets (URL passwords, tokens) masked: bot/masking.py, the one masking.
masked() {
  "$PY" -c 'import sys; from bot.masking import mask_secrets; print(mask_secrets(sys.argv[1]))' "$1"
}
