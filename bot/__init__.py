"""Logique métier de l'assistant SPIE : connaissances, lieux, contacts, éligibilité, outils."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
PROJECT_DIR = PACKAGE_DIR.parent
