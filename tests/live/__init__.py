"""Tests against the real assistant (Rasa + action server, `tests/conftest.py`), `make run`, `make shell` in a terminal."""
