"""Produce docs/samples/report.html from scripted conversations with the real assistant.

Starts an action server and a Rasa server on free ports with an empty SQLite tracker store, plays a
fixed set of conversations over REST (questions, contacts, eligibility tests, unclear messages),
then runs `bot report` on that store. Usage: .venv/bin/python scripts/sample_report.py [OUT]
[TRACKER]: with TRACKER, REVIEW_CONVERSATIONS are played too and the store is copied there (the
sample conversations of `bot review`'s worked example in the README).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.staff.report import write_report  # noqa: E402
from scripts.supervisor import Assistant  # noqa: E402

ELIGIBLE = [
    "suis-je éligible ?",
    "Le conseil départemental",
    "oui",
    "passer",
    "oui",
    "oui",
    "oui",
    "oui",
    "Allier",
]
NOT_ELIGIBLE = [
    "test d'éligibilité",
    "une association",
    "non",
    "oui",
    "oui",
    "la CAF",
    "oui",
    "pas encore",
    "oui",
    "oui",
    "63",
]
CONVERSATIONS: list[list[str]] = [
    ["bonjour", "Qui peut candidater ?", "merci"],
    ["c'est quand la date limite ?", "qui contacter dans l'Allier ?", "au revoir"],
    ["quels sont les partenaires obligatoires ?", "contact DREETS Bretagne"],
    ["code postal 63000", "c'est quoi le SPIE"],
    ["qsdfgh", "qui contacter ?", "Moulins"],
    ["xkcd blorp zzzz", "pole emploi c'est devenu quoi ?"],
    ["quel temps fera-t-il demain ?", "aide"],
    ["l'Allier est-il déjà retenu ?", "je suis à Mamoudzou"],
    ELIGIBLE,
    NOT_ELIGIBLE,
    ["suis je eligible", "Le conseil départemental", "annuler"],
]

# Played only for the review's sample store (TRACKER): questions worded as people write them,
# some of which the assistant misreads or cannot answer, one of them twice, one with personal data.
REVIEW_CONVERSATIONS: list[list[str]] = [
    ["bonjour", "c'est quoi le cahier des charges ?"],
    ["le cahier des charges svp"],
    ["y a-t-il un webinaire de présentation ?", "merci"],
    ["Bonjour, je m'appelle Julie Martin, pouvez-vous me rappeler au 06 12 34 56 78 ?"],
    ["deux départements peuvent-ils candidater ensemble ?"],
    ["kel date limit pr deposer"],
    ["un EPCI peut-il porter le projet ?"],
    ["ou envoyer le dossier"],
    ["y a-t-il un webinaire de présentation ?"],
    ["combien de temps dure l'expérimentation ?"],
]


def main(out: Path, tracker: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="spie-sample-") as workdir:
        assistant = Assistant(Path(workdir)).start()
        try:
            played = CONVERSATIONS + (REVIEW_CONVERSATIONS if tracker is not None else [])
            for index, messages in enumerate(played):
                for message in messages:
                    assistant.say(f"exemple-{index:02d}", message)
        finally:
            assistant.stop()
        data = write_report(out=out, db_url=assistant.env["TRACKER_DB_URL"])
        if tracker is not None:
            shutil.copyfile(Path(workdir) / "tracker.db", tracker)
    print(
        f"{out}: {data.conversations} conversations, {data.user_messages} messages, "
        f"{data.fallback_count} non compris"
    )


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "samples" / "report.html",
        Path(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
