"""`bot review` on stores filled by Rasa's own SQLTrackerStore: listing, grouping, each choice,
the YAML written (re-read by Rasa's loader), refusals, the review files, the dry run, the verdict.
Training and evaluation are faked (`Checks`); the interactive flow in a real terminal is in
tests/unit/test_review_terminal.py."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bot import PROJECT_DIR
from bot.knowledge.topics import UNCLEAR_MESSAGE, not_in_sources_message
from bot.staff.nlu_examples import Refused, TrainingData, message_key
from bot.staff.nlu_gate import evaluate
from bot.staff.personal_data import find_personal_data, mask_personal_data
from bot.staff.review import (
    ADD,
    CONTEXT,
    IGNORE,
    LEARN,
    SKIP,
    STOP,
    Item,
    Review,
    ReviewFiles,
    TopicChoice,
    group,
    read_conversations,
    state_id,
)
from bot.staff.review_check import BETTER, SAME, WORSE, ModelScores, compare, format_comparison
from tests.pg import temporary_database
from tests.unit.test_report import bot, session, sql_store, ts

UNKNOWN_MONEY = "quel montant pour notre projet"
PERSONAL = "je m'appelle Marie Dupont, mon mail est marie.dupont@example.org, un rdv ?"
EVAL_MESSAGE = "Qui a le droit de déposer un dossier ?"  # tests/eval/questions.yml, short-001
TRAINING_EXAMPLE = "qui peut candidater ?"  # data/nlu/faq.yml


def user(text: str, intent: str, confidence: float, when: float, key: str | None = None) -> Any:
    from rasa.shared.core.events import UserUttered

    parse_data: dict[str, Any] = {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "text": text,
    }
    if key:
        parse_data["response_selector"] = {
            intent: {"response": {"intent_response_key": key, "confidence": confidence}}
        }
    return UserUttered(text, parse_data["intent"], [], parse_data, timestamp=when)


def conversations() -> dict[str, list[Any]]:
    return {
        "anne": [
            *session(ts(1)),
            user("bonjour", "greet", 0.99, ts(1, 1)),
            bot("Bonjour ! Je suis l'assistant…", ts(1, 2)),
            user("qsdfgh", "nlu_fallback", 0.3, ts(1, 3)),
            bot(UNCLEAR_MESSAGE, ts(1, 4)),
            user("/ask_dates", "ask_dates", 1.0, ts(1, 5)),
            bot("Cet appel est clos…", ts(1, 6)),
        ],
        "bruno": [
            *session(ts(2)),
            user("Qsdfgh !", "nlu_fallback", 0.2, ts(2, 1)),
            bot(UNCLEAR_MESSAGE, ts(2, 2)),
            user(UNKNOWN_MONEY, "not_in_sources", 0.97, ts(2, 3)),
            bot(not_in_sources_message("le montant"), ts(2, 4)),
            user("qui peut candidater", "faq", 0.95, ts(2, 5), "faq/who_can_apply"),
            bot("Peut candidater : un conseil départemental…", ts(2, 6)),
        ],
        "chloe": [
            *session(ts(3)),
            user("le cahier des charges svp", "faq", 0.41, ts(3, 1), "faq/more_info"),
            bot("Mes réponses viennent d'une actualité…", ts(3, 2)),
            user(PERSONAL, "nlu_fallback", 0.3, ts(3, 3)),
            bot(UNCLEAR_MESSAGE, ts(3, 4)),
            # The core fallback: a confident intent, yet the topic suggestions were sent.
            user("bla bla truc", "greet", 0.8, ts(3, 5)),
            bot(UNCLEAR_MESSAGE, ts(3, 6)),
            user(TRAINING_EXAMPLE, "nlu_fallback", 0.3, ts(3, 7)),
            bot(UNCLEAR_MESSAGE, ts(3, 8)),
            user(EVAL_MESSAGE, "faq", 0.5, ts(3, 9), "faq/who_can_apply"),
            bot("Peut candidater…", ts(3, 10)),
        ],
    }


def fill(store: Any) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    for sender, events in conversations().items():
        tracker = DialogueStateTracker.from_events(sender, events, slots=store.domain.slots)
        asyncio.run(store.save(tracker))
    store.engine.dispose()


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tracker") / "tracker.db"
    fill(sql_store(dialect="sqlite", db=str(path)))
    return f"sqlite:///{path}"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of data/nlu/ to write into (the real files stay untouched)."""
    shutil.copytree(PROJECT_DIR / "data" / "nlu", tmp_path / "nlu")
    return tmp_path


EXPECTED_ORDER = [
    ("qsdfgh", 2),
    (EVAL_MESSAGE, 1),
    (TRAINING_EXAMPLE, 1),
    ("bla bla truc", 1),
    (PERSONAL, 1),
    ("le cahier des charges svp", 1),
    (UNKNOWN_MONEY, 1),
]


def check_listing(items: list[Item]) -> None:
    # Most frequent first, then the most recent; buttons and well understood messages left out.
    assert [(i.text, i.count) for i in items] == EXPECTED_ORDER
    by_text = {i.text: i for i in items}
    assert by_text["qsdfgh"].variants == ["Qsdfgh !"]
    assert by_text["qsdfgh"].summary() == (
        "2 fois (non compris ×2, sujets proposés ×2) ; lu comme : Message non compris (nlu_fallback), confiance 0.30"
    )
    assert by_text[UNKNOWN_MONEY].summary() == (
        "1 fois (« pas dans les sources » ×1) ; lu comme : Question à laquelle la page de l'AMI ne répond pas (not_in_sources), confiance 0.97"
    )
    assert (
        by_text["bla bla truc"].summary()
        == "1 fois (sujets proposés ×1) ; lu comme : Salutation (greet), confiance 0.80"
    )
    assert by_text["le cahier des charges svp"].summary() == (
        "1 fois (confiance faible ×1) ; lu comme : Où trouver plus d'informations ? (faq/more_info), confiance 0.41"
    )


def test_listing_and_grouping_sqlite(sqlite_url: str) -> None:
    check_listing(group(read_conversations(sqlite_url).occurrences))


@pytest.mark.postgres
def test_listing_and_grouping_postgresql() -> None:
    with temporary_database("spie_review") as url:
        parts = sa.engine.make_url(url)
        store = sql_store(
            dialect="postgresql", host=parts.host, port=parts.port, db=parts.database,
            username=parts.username,
        )  # fmt: skip
        fill(store)
        check_listing(group(read_conversations(url).occurrences))


def test_threshold_decides_low_confidence(sqlite_url: str) -> None:
    texts = {i.text for i in group(read_conversations(sqlite_url, threshold=0.3).occurrences)}
    assert "le cahier des charges svp" not in texts and EVAL_MESSAGE not in texts
    assert "qsdfgh" in texts  # the fallback is listed whatever its confidence


def test_context_on_demand(sqlite_url: str) -> None:
    conversations = read_conversations(sqlite_url)
    occurrence = next(o for o in conversations.occurrences if o.text == "Qsdfgh !")
    lines = [(line.speaker, line.text) for line in conversations.context(occurrence)]
    assert lines == [
        ("user", "Qsdfgh !"),
        ("bot", UNCLEAR_MESSAGE),
        ("user", UNKNOWN_MONEY),
        ("bot", not_in_sources_message("le montant")),
    ]


# --- a scripted keyboard ------------------------------------------------------------------

TOPICS = [
    TopicChoice("faq/who_can_apply", "Qui peut candidater ?", "Peut candidater : un conseil…"),
    TopicChoice("faq/more_info", "Où trouver plus d'informations ?", "Mes réponses viennent…"),
    TopicChoice("not_in_sources", "Question à laquelle la page de l'AMI ne répond pas", "…"),
]


@dataclass
class Keyboard:
    """Answers the review's questions from a script, and records what was asked."""

    actions: list[str]
    topics: list[str] = field(default_factory=list)  # intents, in order
    confirms: list[bool] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def action(self, item: Item, position: str) -> str:
        self.asked.append(f"action {position} {item.text}")
        return self.actions.pop(0) if self.actions else STOP

    def topic(self, choices: list[TopicChoice]) -> TopicChoice | None:
        wanted = self.topics.pop(0)
        return next(c for c in choices if c.intent == wanted)

    def confirm(self, message: str, default: bool = True) -> bool:
        self.asked.append(message)
        return self.confirms.pop(0)

    def edit(self, message: str, default: str) -> str | None:
        self.asked.append(f"{message} [{default}]")
        return self.edits.pop(0)


@dataclass
class FakeChecks:
    """Validation, training and scores without Rasa; records the data files seen at training."""

    old: ModelScores
    new: ModelScores
    valid: bool = True
    trained_with: dict[str, str] = field(default_factory=dict)
    nlu_dir: Path | None = None

    def validate(self) -> tuple[bool, str]:
        return self.valid, "" if self.valid else "Invalid intent 'xyz'"

    def train(self, out_dir: Path) -> Path:
        assert self.nlu_dir is not None
        self.trained_with = {p.name: p.read_text() for p in self.nlu_dir.glob("*.yml")}
        return out_dir / "candidat.tar.gz"

    def scores(self, model: Path, work_dir: Path) -> ModelScores:
        return self.new if model.name == "candidat.tar.gz" else self.old


def scores(macro: dict[str, float], eval_topics: dict[str, tuple[int, int]]) -> ModelScores:
    return ModelScores(evaluate(macro, dict.fromkeys(macro, 10)), eval_topics)


OLD = scores({"faq/more_info": 0.96, "greet": 0.98}, {"more_info": (8, 10), "greet": (10, 10)})
BETTER_SCORES = scores(
    {"faq/more_info": 0.99, "greet": 0.98}, {"more_info": (10, 10), "greet": (10, 10)}
)
WORSE_SCORES = scores(
    {"faq/more_info": 0.80, "greet": 0.98}, {"more_info": (8, 10), "greet": (9, 10)}
)


def make_review(
    url: str, project: Path, keyboard: Keyboard, checks: FakeChecks | None = None,
    dry_run: bool = False,
) -> tuple[Review, list[str]]:  # fmt: skip
    said: list[str] = []
    (project / "current.tar.gz").touch()  # the model in use, compared with the new one
    checks = checks or FakeChecks(OLD, BETTER_SCORES)
    checks.nlu_dir = project / "nlu"
    review = Review(
        db_url=url,
        prompter=keyboard,
        data=TrainingData(project / "nlu"),
        files=ReviewFiles(project / "review"),
        checks=checks,
        old_model=project / "current.tar.gz",
        dry_run=dry_run,
        say=said.append,
        topics=TOPICS,
        today=date(2021, 3, 5),
    )
    return review, said


def nlu_texts(project: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((project / "nlu").glob("*.yml"))}


def rasa_examples(path: Path) -> dict[str, list[str]]:
    """The examples as Rasa's own loader reads them."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples: dict[str, list[str]] = {}
    for message in load_data(str(path)).intent_examples:
        intent = message.get("intent")
        key = message.get("intent_response_key") or intent
        examples.setdefault(key, []).append(message.get("text"))
    return examples


# --- each choice --------------------------------------------------------------------------


def test_add_example_written_in_rasa_format_and_kept(sqlite_url: str, project: Path) -> None:
    before = nlu_texts(project)
    # 1 qsdfgh: ignore; 2-3 refused then skipped; 4 bla bla: skip; 5 personal: learn;
    # 6 cahier des charges: context, then add to more_info; 7 montant: add to not_in_sources.
    keyboard = Keyboard(
        actions=[IGNORE, ADD, SKIP, ADD, SKIP, SKIP, LEARN, CONTEXT, ADD, ADD],
        topics=["faq/more_info", "not_in_sources"],  # refused messages: no topic asked
        confirms=[True, True, True],  # the two additions, then keep the new examples
    )
    review, said = make_review(sqlite_url, project, keyboard)
    assert review.run() == 0
    output = "\n".join(said)
    assert "8 message(s) à revoir, 7 après regroupement des doublons." in output
    assert "  Refusé : déjà un exemple d'entraînement (intention faq/who_can_apply)." in output
    assert "  Refusé : c'est un message des évaluations (tests/) : il doit rester inédit." in output
    assert "→ Usager : le cahier des charges svp" in output  # the context, on demand
    assert "Verdict : le nouveau modèle est MEILLEUR." in output
    assert "Exemples gardés." in output

    after = nlu_texts(project)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"faq.yml", "not_in_sources.yml"}
    # Only the new lines, each at the end of its intent's first block; comments and order kept.
    for name, line in [("faq.yml", "    - le cahier des charges svp\n"),
                       ("not_in_sources.yml", "      - quel montant pour notre projet\n")]:  # fmt: skip
        old_lines, new_lines = before[name].splitlines(True), after[name].splitlines(True)
        assert len(new_lines) == len(old_lines) + 1
        position = new_lines.index(line)
        assert new_lines[:position] + new_lines[position + 1 :] == old_lines
    faq = rasa_examples(project / "nlu" / "faq.yml")
    assert faq["faq/more_info"].count("le cahier des charges svp") == 1
    assert UNKNOWN_MONEY in rasa_examples(project / "nlu" / "not_in_sources.yml")["not_in_sources"]
    # What training saw: the new examples.
    assert "le cahier des charges svp" in review.checks.trained_with["faq.yml"]


def test_review_files_and_ignored_messages_not_shown_again(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(actions=[IGNORE, SKIP, SKIP, SKIP, LEARN, STOP])
    review, _ = make_review(sqlite_url, project, keyboard)
    review.run()
    ignored = yaml.safe_load((project / "review" / "ignored.yml").read_text(encoding="utf-8"))
    assert ignored == [{"key": state_id("qsdfgh"), "text": "qsdfgh"}]
    questions_text = (project / "review" / "questions.yml").read_text(encoding="utf-8")
    assert questions_text.startswith("# Questions que l'assistant devrait apprendre")
    assert "marie" not in questions_text.lower()  # personal data masked
    assert yaml.safe_load(questions_text) == [
        {
            "key": state_id(message_key(PERSONAL)),
            "question": "je m'appelle …, mon mail est …, un rdv ?",
            "count": 1,
            "since": "2021-03-05",
        }
    ]
    second = Keyboard(actions=[STOP])
    review, said = make_review(sqlite_url, project, second)
    review.run()
    assert second.asked == [f"action 1/5 {EVAL_MESSAGE}"]  # neither ignored nor learned ones
    assert "5 message(s) à revoir, 5 après regroupement des doublons." in said


def test_personal_data_refused_then_masked_text_accepted(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(
        actions=[SKIP] * 4 + [ADD],
        topics=["faq/more_info"],
        edits=["un rdv avec la DREETS ?"],
        confirms=[True, False],  # add the edited text; then refuse to keep it
    )
    review, said = make_review(sqlite_url, project, keyboard)
    before = nlu_texts(project)
    review.run()
    output = "\n".join(said)
    assert (
        "  Refusé : données personnelles (adresse e-mail, nom) : à retirer avant l'ajout." in output
    )
    assert "Texte sans données personnelles : [je m'appelle …, mon mail est …, un rdv ?]" in (
        keyboard.asked
    )
    assert "Ajouter « un rdv avec la DREETS ? » à « Où trouver plus d'informations ? » ?" in (
        keyboard.asked
    )
    assert "un rdv avec la DREETS ?" in review.checks.trained_with["faq.yml"]
    assert "Les fichiers de données sont restaurés : rien n'est gardé." in output
    assert nlu_texts(project) == before  # refused by staff: restored


def test_worse_model_restores_the_data(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(actions=[SKIP] * 5 + [ADD], topics=["faq/more_info"], confirms=[True])
    review, said = make_review(sqlite_url, project, keyboard, FakeChecks(OLD, WORSE_SCORES))
    before = nlu_texts(project)
    review.run()
    output = "\n".join(said)
    assert "Verdict : le nouveau modèle est MOINS BON." in output
    assert "  - évaluation, greet : baisse de 10/10 à 9/10" in output
    assert "Les fichiers de données sont restaurés : rien n'est gardé." in output
    assert keyboard.confirms == [] and nlu_texts(project) == before  # never asked to keep


def test_invalid_data_restores_without_training(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(actions=[SKIP] * 5 + [ADD], topics=["faq/more_info"], confirms=[True])
    checks = FakeChecks(OLD, BETTER_SCORES, valid=False)
    review, said = make_review(sqlite_url, project, keyboard, checks)
    before = nlu_texts(project)
    review.run()
    assert "Les données ne sont pas valides :\nInvalid intent 'xyz'" in said
    assert checks.trained_with == {} and nlu_texts(project) == before


def test_dry_run_writes_nothing(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(
        actions=[IGNORE, SKIP, SKIP, SKIP, LEARN, ADD], topics=["faq/more_info"], confirms=[True]
    )
    review, said = make_review(sqlite_url, project, keyboard, dry_run=True)
    before = nlu_texts(project)
    review.run()
    output = "\n".join(said)
    assert "faq.yml : 1 exemple(s) ajouté(s)\n  - le cahier des charges svp   [faq/more_info]" in (
        output
    )
    assert (
        "questions.yml : 1 question(s)\n  - je m'appelle …, mon mail est …, un rdv ? (1 fois)"
        in (output)
    )
    assert "ignored.yml : 1 message(s) ignoré(s)\n  - qsdfgh" in output
    assert "Essai à blanc (--dry-run) : aucun fichier n'a été modifié." in output
    # The exact change, as a diff of the file, in its place in the intent's first block.
    diff = output.split("Ce qui serait écrit dans les données d'entraînement :\n")[1]
    assert "     - une page web a consulter ?\n+    - le cahier des charges svp\n" in diff
    added = [line for line in diff.splitlines() if line[:1] == "+" and line[:3] != "+++"]
    assert added == ["+    - le cahier des charges svp"]
    assert nlu_texts(project) == before and not (project / "review").exists()
    assert review.checks.trained_with == {}


def test_questions_counts_brought_up_to_date(sqlite_url: str, project: Path) -> None:
    files = ReviewFiles(project / "review")
    files.directory.mkdir()
    key = state_id("qsdfgh")
    files.questions_path.write_text(
        f"- key: {key}\n  question: qsdfgh\n  count: 1\n  since: '2021-03-01'\n", encoding="utf-8"
    )
    review, _ = make_review(sqlite_url, project, Keyboard(actions=[STOP]))
    review.run()
    assert yaml.safe_load(files.questions_path.read_text(encoding="utf-8"))[0]["count"] == 2


# --- refusals, personal data --------------------------------------------------------------


def test_training_data_refusals(project: Path) -> None:
    data = TrainingData(project / "nlu")
    with pytest.raises(Refused, match="déjà un exemple d'entraînement"):
        data.check("faq/more_info", "Qui peut candidater ?!")  # folded: same words
    with pytest.raises(Refused, match="messages des évaluations|message des évaluations"):
        data.check("faq/who_can_apply", "qui a le droit de deposer un dossier")  # folded
    with pytest.raises(Refused, match="aucun mot"):
        data.check("faq/more_info", "?!")
    addition = data.check("faq/more_info", "voir le [texte](officiel) ?\nmerci")
    assert addition.text == "voir le (texte)(officiel) ? merci"  # never read as an entity
    assert addition.path.name == "faq.yml"
    data.remember(addition)
    with pytest.raises(Refused, match="déjà un exemple"):
        data.check("faq/more_info", "Voir le (texte)(officiel) ? Merci")


@pytest.mark.parametrize(
    ("text", "kinds", "masked"),
    [
        ("Qui peut candidater ?", [], "Qui peut candidater ?"),
        ("mon mail : jean.dupont@gmail.com", ["adresse e-mail"], "mon mail : …"),
        ("rappelez-moi au 06 12 34 56 78", ["numéro de téléphone"], "rappelez-moi au …"),
        ("+33 6 12 34 56 78 svp", ["numéro de téléphone"], "… svp"),
        ("bonjour je m'appelle Marie Dupont", ["nom"], "bonjour je m'appelle …"),
        ("moi c'est Paul, quelle date ?", ["nom"], "moi c'est …, quelle date ?"),
        ("moi c'est quand la date limite", [], "moi c'est quand la date limite"),
        ("Madame Durand de la mission locale", ["nom après une civilité"],
         "Madame … de la mission locale"),
        ("code postal 63000, date 11 octobre 2021", [], "code postal 63000, date 11 octobre 2021"),
        ("mon numéro 1 85 05 78 006 084", ["long numéro"], "mon numéro …"),
        ("Bonjour,\nqui peut candidater ?\nCordialement,\nMarie Durand", ["signature"],
         "Bonjour,\nqui peut candidater ?"),
    ],
)  # fmt: skip
def test_personal_data(text: str, kinds: list[str], masked: str) -> None:
    assert find_personal_data(text) == kinds
    assert mask_personal_data(text) == masked


# --- the verdict --------------------------------------------------------------------------


def test_verdict_better_same_worse() -> None:
    better = compare(OLD, BETTER_SCORES)
    assert better.verdict == BETTER
    assert better.reasons == (
        "macro-F1 du jeu réservé en hausse (+0.015)",
        "2 réponse(s) juste(s) de plus dans l'évaluation",
    )
    assert better.moved == (
        "jeu réservé, faq/more_info : F1 monte de 0.960 à 0.990",
        "évaluation, more_info : monte de 8/10 à 10/10",
    )
    same = compare(OLD, OLD)
    assert (
        same.verdict == SAME
        and same.moved == ()
        and same.reasons == ("aucun changement mesurable",)
    )
    worse = compare(OLD, WORSE_SCORES)
    assert worse.verdict == WORSE
    assert worse.reasons == (
        "le nouveau modèle ne passe pas le seuil NLU (macro-F1 0.890, pire intention "
        "faq/more_info = 0.800)",
        "macro-F1 du jeu réservé en baisse (-0.080)",
        "1 réponse(s) juste(s) de moins dans l'évaluation",
    )
    table = format_comparison(worse)
    assert "Jeu réservé : macro-F1" in table and "0.970" in table and "0.890" in table
    assert "Évaluation : réponses justes" in table and "18/20 (90,0 %)" in table
    assert "17/20 (85,0 %)" in table
    assert "  - jeu réservé, faq/more_info : F1 baisse de 0.960 à 0.800" in table


def test_evaluation_messages_cover_every_test_file() -> None:
    keys = TrainingData().evaluation_keys
    assert message_key("Qui a le droit de déposer un dossier ?") in keys  # tests/eval/questions.yml
    assert message_key("je suis à Meaulne-Vitray") in keys  # tests/eval/places.yml
    assert message_key("qui a le droit de porter un projet ?") in keys  # tests/nlu_holdout.yml
    assert message_key("une asso peut elle porter le projet") in keys  # tests/test_stories.yml


@pytest.fixture()
def empty_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'absent.db'}"


def test_nothing_to_review(empty_url: str, project: Path) -> None:
    review, said = make_review(empty_url, project, Keyboard(actions=[]))
    assert review.run() == 0
    assert said == ["Aucun message à revoir : tout a été compris ou déjà traité."]


# --- the real steps, with stand-ins for rasa and python -----------------------------------

FAKE_TOOL = """#!/bin/sh
# Records its arguments; writes what the real command would (a model, reports, outcomes).
echo "$PYTHONHASHSEED$TF_DETERMINISTIC_OPS $(basename "$0") $*" >> "{log}"
case "$*" in
  train*) out=$(echo "$*" | sed 's/.*--out \\([^ ]*\\).*/\\1/'); touch "$out/candidat.tar.gz";;
  "test nlu"*) out=$(echo "$*" | sed 's/.*--out \\([^ ]*\\).*/\\1/'); mkdir -p "$out"
    echo '{{"greet": {{"f1-score": 0.97, "support": 5}}}}' > "$out/intent_report.json";;
  *tests.eval.evaluate*) out=$(echo "$*" | sed 's/.*--json \\([^ ]*\\).*/\\1/')
    echo '[{{"expect": "greet", "passed": true}}, {{"expect": "dates", "passed": false}}]' > "$out";;
esac
"""


def test_rasa_checks_commands(tmp_path: Path) -> None:
    from bot.staff.review_check import RasaChecks

    bin_dir, log = tmp_path / "bin", tmp_path / "commands.log"
    bin_dir.mkdir()
    for name in ("rasa", "python"):
        (bin_dir / name).write_text(FAKE_TOOL.format(log=log))
        (bin_dir / name).chmod(0o755)
    checks = RasaChecks(bin_dir=bin_dir)
    assert checks.validate() == (True, "")
    (tmp_path / "model").mkdir()
    model = checks.train(tmp_path / "model")
    assert model == tmp_path / "model" / "candidat.tar.gz"  # a temporary directory, not models/
    result = checks.scores(model, tmp_path / "new")
    assert result.holdout.macro_f1 == pytest.approx(0.97)
    assert result.eval_topics == {"greet": (1, 1), "dates": (0, 1)}
    # Every command as `make model` trains: PYTHONHASHSEED=0 TF_DETERMINISTIC_OPS=1 (« 01 »).
    assert log.read_text().splitlines() == [
        "01 rasa data validate --fail-on-warnings",
        f"01 rasa train --out {tmp_path / 'model'} --fixed-model-name candidat",
        f"01 rasa test nlu --nlu {PROJECT_DIR / 'tests' / 'nlu_holdout.yml'} --model {model} "
        f"--out {tmp_path / 'new' / 'holdout'}",
        f"01 python -m tests.eval.evaluate --model {model} --json {tmp_path / 'new' / 'eval.json'}",
    ]


def test_no_current_model_no_training(sqlite_url: str, project: Path) -> None:
    keyboard = Keyboard(actions=[SKIP] * 5 + [ADD], topics=["faq/more_info"], confirms=[True])
    review, said = make_review(sqlite_url, project, keyboard)
    (project / "current.tar.gz").unlink()
    before = nlu_texts(project)
    review.run()
    assert (
        f"Pas de modèle actuel à comparer ({project / 'current.tar.gz'}) : lancez d'abord "
        "`make model`." in said
    )
    assert review.checks.trained_with == {} and nlu_texts(project) == before


def test_terminal_closed_during_checks_restores_the_data(sqlite_url: str, project: Path) -> None:
    import os
    import signal

    class HangUp(FakeChecks):
        def train(self, out_dir: Path) -> Path:
            os.kill(os.getpid(), signal.SIGHUP)  # the terminal closes during the training
            return super().train(out_dir)

    keyboard = Keyboard(actions=[SKIP] * 5 + [ADD], topics=["faq/more_info"], confirms=[True])
    review, said = make_review(sqlite_url, project, keyboard, HangUp(OLD, BETTER_SCORES))
    before, handler = nlu_texts(project), signal.getsignal(signal.SIGHUP)
    with pytest.raises(SystemExit) as leaving:
        review.run()
    assert leaving.value.code == 128 + signal.SIGHUP
    assert nlu_texts(project) == before
    assert said[-1] == "Les fichiers de données sont restaurés : rien n'est gardé."
    assert signal.getsignal(signal.SIGHUP) is handler  # the usual handling back
