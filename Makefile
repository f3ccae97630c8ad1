# Two commands: `make run` (the assistant) and `make test` (everything). See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run shell install install-dev lock model check test test-live lint validate rasa-test-report faq-sheet report review bench cluster clean

help:
	@echo "make run    — installe, entraîne si besoin, démarre l'assistant (REST, socket.io, pages de démo)"
	@echo "make shell  — la même chose avec « rasa shell » pour tester les réponses au clavier"
	@echo "make test   — tous les tests (données, unitaires, conversations, NLU, serveur, navigateur)"
	@echo "make check  — la boucle rapide (< 1 min) : lint, format, types, données, tests sans serveur"

run:
	@bash scripts/run.sh server

shell:
	@bash scripts/run.sh shell

install:
	@bash -c 'source scripts/common.sh && ensure_venv requirements.txt'

install-dev:
	@bash -c 'source scripts/common.sh && ensure_venv requirements-dev.txt'

# Regenerates requirements.txt and requirements-dev.txt (versions + hashes) from the .in files.
# Keeps what is locked; `make lock UPGRADE=package` moves one package.
lock:
	@bash scripts/lock.sh

model: install
	@bash -c 'source scripts/common.sh && ensure_model'

# The fast loop: no server, model, browser or network service (scripts/check.sh).
check:
	@bash scripts/check.sh

test:
	@bash scripts/test.sh

# Only the tests against live servers, Chromium and the cluster (make test runs them too).
test-live: model
	.venv/bin/python -m pytest -m "server or browser"

lint: install-dev
	.venv/bin/ruff check bot actions rasa_ext tests bench scripts

validate: install
	.venv/bin/rasa data validate --fail-on-warnings

# rasa test results: intent report, confusion matrix image, story results (results/).
rasa-test-report: model
	bash scripts/rasa_test_report.sh

faq-sheet: install
	.venv/bin/python -m bot.cli faq-sheet

report: install
	.venv/bin/python -m bot.cli report

# Staff: turn the messages the assistant misread into examples (README « Améliorer l'assistant… »).
review: install
	.venv/bin/python -m bot.cli review $(ARGS)

bench: model
	bash bench/run.sh

cluster: model
	bash scripts/cluster.sh

clean:
	rm -rf models results artifacts var .pytest_cache
