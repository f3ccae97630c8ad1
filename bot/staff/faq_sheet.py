"""`bot faq-sheet`: every question the assistant knows, as HTML and Markdown for content staff.

Reads the standard Rasa files (`domain.yml`, `data/nlu/*.yml`, `data/rules.yml`,
`data/stories.yml`) with PyYAML only: no rasa import. A response variation may carry
`metadata: {source: "...", title: "..."}`; custom actions are sampled through
`bot.staff.sample_answers.SAMPLES` (action name → function returning (context, answer text)).
The pages are written by the templates `bot/templates/faq_sheet.html` and `faq_sheet.md`.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot import PROJECT_DIR
from bot.knowledge.facts import fill_facts
from bot.staff.templating import render

log = logging.getLogger(__name__)

Samples = Mapping[str, Callable[[], tuple[str, str]]]

DEFAULT_OUT_DIR = PROJECT_DIR / "results" / "faq-sheet"
NO_SOURCE = "non renseignée"
# French titles; a response's `metadata.title` wins, an example phrasing is the last resort.
TITLES = {
    "faq/who_can_apply": "Qui peut candidater ?",
    "faq/partners": "Quels partenaires dans le groupement ?",
    "faq/expectations": "Que doit montrer le projet ?",
    "faq/what_is_spie": "Qu'est-ce que le SPIE ?",
    "faq/what_is_ami": "Qu'est-ce que l'appel à manifestation d'intérêt ?",
    "faq/territory_count": "Combien de territoires seront retenus ?",
    "faq/how_to_submit": "Comment déposer sa candidature ?",
    "faq/pole_emploi": "Pôle emploi (France Travail)",
    "faq/more_info": "Où trouver plus d'informations ?",
    "ask_dates": "Quelles sont les dates de l'appel ?",
    "ask_territory_status": "Mon territoire fait-il déjà partie du SPIE ?",
    "ask_contact": "Qui contacter ?",
    "inform_place": "Indication d'un lieu (département, commune, code postal)",
    "check_eligibility": "Suis-je éligible ? (test d'éligibilité)",
    "restart_test": "Refaire le test d'éligibilité",
    "inform_structure": "Réponse : la structure porteuse",
    "inform_partners": "Réponse : les partenaires du groupement",
    "affirm": "Réponse : oui",
    "deny": "Réponse : non",
    "dont_know": "Réponse : je ne sais pas",
    "not_yet": "Réponse : pas encore",
    "stop": "Arrêter",
    "greet": "Salutation",
    "goodbye": "Au revoir",
    "thank": "Remerciements",
    "thanks": "Remerciements",
    "bot_challenge": "Êtes-vous un robot ?",
    "help": "Que savez-vous faire ? (aide)",
    "out_of_scope": "Question hors sujet",
    "other_language": "Message dans une autre langue",
    "restart": "Recommencer la conversation",
    "not_in_sources": "Question à laquelle la page de l'AMI ne répond pas",
    "nlu_fallback": "Message non compris",
}
# Rasa's own rules (RulePolicy) for its default intents, and what its built-in actions do.
DEFAULT_FLOWS = {"restart": "action_restart", "back": "action_back"}
BUILTIN_ACTIONS = {
    "action_restart": "La conversation est remise à zéro.",
    "action_back": "L'assistant revient à l'étape précédente.",
    "action_deactivate_loop": "Le formulaire en cours est arrêté.",
    "action_default_fallback": "L'assistant indique qu'il n'a pas compris.",
}
UNKNOWN = "?"  # loop state of a story step: not known
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_QUESTION_START = re.compile(
    r"^(qui|que|quel|quelle|quels|quelles|quand|comment|où|ou|pourquoi|combien|est-ce)\b"
    r"|-(je|tu|il|elle|on|nous|vous|ils|elles)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Answer:
    text: str
    buttons: tuple[str, ...] = ()
    source: str | None = None
    note: str | None = None  # when it is sent, channel, condition, sample context…


@dataclass(frozen=True)
class Entry:
    intent: str  # "greet" or "faq/who_can_apply"
    title: str
    examples: tuple[str, ...]
    answered_by: tuple[str, ...]  # response or action names
    answers: tuple[Answer, ...] = field(default_factory=tuple)


@dataclass
class Flows:
    """What rules and stories say: intent → {action: loop states it runs in}."""

    answers: dict[str, dict[str, set[str | None]]] = field(default_factory=dict)
    form_results: dict[str, list[str]] = field(default_factory=dict)  # form → actions at its end

    def add(self, intent: str, action: str, loop: str | None) -> None:
        self.answers.setdefault(intent, {}).setdefault(action, set()).add(loop)


@dataclass(frozen=True)
class Project:
    domain: dict[str, Any]
    examples: dict[str, list[str]]  # intent → phrasings, in file order
    flows: Flows

    @property
    def responses(self) -> dict[str, list[dict[str, Any]]]:
        return self.domain.get("responses") or {}

    @property
    def forms(self) -> dict[str, Any]:
        return self.domain.get("forms") or {}


# --- reading the Rasa files -------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def clean_example(text: str) -> str:
    """`je suis dans l'[Allier](place)` → `je suis dans l'Allier`."""
    return _ANNOTATION.sub(r"\1", text).strip()


def _parse_examples(value: Any) -> list[str]:
    if isinstance(value, str):
        lines = (line.strip() for line in value.splitlines())
        return [clean_example(line[2:]) for line in lines if line.startswith("- ")]
    items = value if isinstance(value, list) else []
    texts = [item.get("text", "") if isinstance(item, dict) else str(item) for item in items]
    return [clean_example(text) for text in texts if text.strip()]


def load_examples(nlu_dir: Path) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for path in sorted([*nlu_dir.rglob("*.yml"), *nlu_dir.rglob("*.yaml")]):
        for intent, found in file_examples(path).items():
            examples.setdefault(intent, []).extend(found)
    return examples


def file_examples(path: Path) -> dict[str, list[str]]:
    """intent → phrasings of one Rasa NLU file, annotations removed."""
    examples: dict[str, list[str]] = {}
    for block in _read_yaml(path).get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:
            found = _parse_examples(block.get("examples"))
            examples.setdefault(str(block["intent"]), []).extend(found)
    return examples


def _step_intents(step: dict[str, Any]) -> list[str] | None:
    """Intents a step starts a turn with; None when the step is not a user turn."""
    if "intent" in step:
        return [str(step["intent"])]
    if "or" in step:
        return [str(sub["intent"]) for sub in step["or"] or [] if "intent" in sub]
    if "user" in step:
        return []
    return None


def _initial_loop(flow: dict[str, Any]) -> str | None:
    for condition in flow.get("condition") or []:
        if "active_loop" in condition:
            loop = condition["active_loop"]  # null: no form running
            return None if loop is None else str(loop)
    return UNKNOWN


def _walk(flow: dict[str, Any], flows: Flows) -> None:
    """`- intent: X` then `- action: Y`: Y answers X (resuming the active form does not)."""
    intents: list[str] = []
    loop = turn_loop = _initial_loop(flow)
    previous = ended = None
    for step in flow.get("steps") or []:
        turn = _step_intents(step)
        action = step.get("action")
        if turn is not None:
            intents, turn_loop, ended = turn, loop, None
        elif "active_loop" in step:
            ended = previous if step["active_loop"] is None and previous == loop else ended
            loop = step["active_loop"]
        elif ended and action and action not in flows.form_results.setdefault(ended, []):
            flows.form_results[ended].append(action)
        elif not ended and action and action not in ("action_listen", loop):
            for intent in intents:
                flows.add(intent, action, turn_loop)
        previous = action or previous


def load_flows(paths: Iterable[Path]) -> Flows:
    flows = Flows()
    for path in paths:
        data = _read_yaml(path)
        for flow in [*(data.get("rules") or []), *(data.get("stories") or [])]:
            _walk(flow, flows)
    for intent, action in DEFAULT_FLOWS.items():
        if intent not in flows.answers:
            flows.add(intent, action, UNKNOWN)
    return flows


def load_project(project_dir: Path) -> Project:
    data_dir = project_dir / "data"
    return Project(
        domain=_read_yaml(project_dir / "domain.yml"),
        examples=load_examples(data_dir / "nlu"),
        flows=load_flows([data_dir / "rules.yml", data_dir / "stories.yml"]),
    )


# --- building the entries ---------------------------------------------------------------


def _domain_intents(domain: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for item in domain.get("intents") or []:
        names.extend(item.keys() if isinstance(item, dict) else [item])
    return [str(name) for name in names]


def intent_names(project: Project) -> list[str]:
    """Intents the assistant knows, in order; a retrieval intent is replaced by its keys."""
    known = [*_domain_intents(project.domain), *project.examples]
    from_responses = [key[len("utter_") :] for key in project.responses if "/" in key]
    # Rasa's default intents count only when the NLU data teaches them.
    ordered = list(dict.fromkeys([*known, *from_responses]))
    ordered += [i for i in project.flows.answers if i not in ordered and i not in DEFAULT_FLOWS]
    parents = {name.split("/", 1)[0] for name in ordered if "/" in name}
    names: list[str] = []
    for name in ordered:
        if name in parents:
            names.extend(sub for sub in ordered if sub.startswith(f"{name}/"))
        elif "/" not in name:
            names.append(name)
    return list(dict.fromkeys(names))


def _variation_answer(variation: dict[str, Any], note: str | None = None) -> Answer:
    metadata = variation.get("metadata") or {}
    notes = [note] if note else []
    if variation.get("channel"):
        notes.append(f"canal : {variation['channel']}")
    if variation.get("condition"):
        conditions = ", ".join(
            f"{cond.get('name')} = {cond.get('value')}" for cond in variation["condition"]
        )
        notes.append(f"condition : {conditions}")
    text = variation.get("text") or ("(image)" if variation.get("image") else "(réponse spéciale)")
    return Answer(
        text=fill_facts(str(text)),  # as the assistant says it (actions fill the placeholders)
        buttons=tuple(str(b.get("title", "")) for b in variation.get("buttons") or []),
        source=metadata.get("source"),
        note=" ; ".join(notes) or None,
    )


def _form_answers(project: Project, form: str, samples: Samples) -> list[Answer]:
    spec = project.forms.get(form) or {}
    answers = []
    for slot in spec.get("required_slots") or []:
        note = f"question du formulaire {form} ({slot})"
        name = next(
            (
                n
                for n in (f"utter_ask_{form}_{slot}", f"utter_ask_{slot}")
                if n in project.responses
            ),
            None,
        )
        if name is None:
            answers.append(Answer(f"question posée par l'action action_ask_{slot}", note=note))
        else:
            answers.extend(_variation_answer(v, note) for v in project.responses[name])
    for action in project.flows.form_results.get(form, []):
        for answer in answers_for(project, action, samples):
            note = f"à la fin du formulaire {form}" + (f" ; {answer.note}" if answer.note else "")
            answers.append(Answer(answer.text, answer.buttons, answer.source, note))
    return answers or [Answer(f"formulaire {form} (questions calculées)")]


def _action_answers(action: str, samples: Samples) -> list[Answer]:
    fallback = f"réponse calculée par l'action {action}"
    sample = samples.get(action)
    if sample is None and action in BUILTIN_ACTIONS:
        return [Answer(BUILTIN_ACTIONS[action], note=f"action Rasa intégrée {action}")]
    if sample is None:
        return [Answer(fallback)]
    try:
        context, text = sample()
    except Exception as error:  # a broken sample must not stop the sheet
        log.warning("sample for %s failed: %s", action, error)
        return [Answer(fallback, note=f"exemple indisponible : {error}")]
    return [Answer(text, note=f"exemple calculé par l'action {action} — {context}")]


def answers_for(project: Project, action: str, samples: Samples) -> list[Answer]:
    if action in project.responses:
        return [_variation_answer(v) for v in project.responses[action]]
    if action in project.forms:
        return _form_answers(project, action, samples)
    if action.startswith("utter_"):
        return [Answer(f"réponse {action} absente de domain.yml")]
    if action == "action_restart" and "utter_restart" in project.responses:
        return answers_for(project, "utter_restart", samples)
    return _action_answers(action, samples)


def _loop_note(loops: set[str | None]) -> str | None:
    """When an action runs: always, only outside any form, or only during a form."""
    if UNKNOWN in loops or len(loops) > 1:
        return None
    loop = next(iter(loops))
    return "si aucun formulaire n'est en cours" if loop is None else f"pendant le formulaire {loop}"


def _with_note(answer: Answer, note: str | None) -> Answer:
    if not note:
        return answer
    joined = f"{note} ; {answer.note}" if answer.note else note
    return Answer(answer.text, answer.buttons, answer.source, joined)


def _answered_by(project: Project, intent: str) -> dict[str, set[str | None]]:
    if "/" in intent:  # retrieval: one rule answers the parent with `utter_<parent>`
        return {f"utter_{intent}": {UNKNOWN}}
    actions = project.flows.answers.get(intent) or {}
    if not actions and f"utter_{intent}" in project.responses:
        actions = {f"utter_{intent}": {UNKNOWN}}
    return actions


def as_title(example: str) -> str:
    """`quel est le budget` → `Quel est le budget ?`."""
    title = example[:1].upper() + example[1:]
    if _QUESTION_START.search(example) and not title.endswith(("?", ".", "!")):
        title += " ?"
    return title


def _title(project: Project, intent: str, examples: list[str]) -> str:
    for variation in project.responses.get(f"utter_{intent}") or []:
        title = (variation.get("metadata") or {}).get("title")
        if title:
            return str(title)
    if intent in TITLES:
        return TITLES[intent]
    questions = [e for e in examples if e.endswith("?")]
    return as_title((questions or examples or [intent])[0])


def build_entry(project: Project, intent: str, samples: Samples) -> Entry:
    examples = project.examples.get(intent, [])
    actions = _answered_by(project, intent)
    answers = [
        _with_note(answer, _loop_note(loops))
        for action, loops in actions.items()
        for answer in answers_for(project, action, samples)
    ]
    if not answers:
        answers = [Answer("aucune réponse associée dans les règles ni les histoires")]
    title = _title(project, intent, examples)
    return Entry(intent, title, tuple(examples), tuple(actions), tuple(answers))


def load_samples() -> Samples:
    """`bot.staff.sample_answers.SAMPLES`, imported when the sheet is built (it loads the place and contact
    modules, which the fixture-project tests do not need)."""
    from bot.staff.sample_answers import SAMPLES

    return SAMPLES


def build_sheet(project_dir: Path = PROJECT_DIR, samples: Samples | None = None) -> list[Entry]:
    project = load_project(project_dir)
    samples = load_samples() if samples is None else samples
    return [build_entry(project, intent, samples) for intent in intent_names(project)]


# --- rendering ----------------------------------------------------------------------------


def anchor(intent: str) -> str:
    return "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", intent)


SOURCE = "fichiers du projet Rasa (domain.yml, data/nlu, data/rules.yml, data/stories.yml)"
COMMAND = "bot faq-sheet"


def _render(template: str, entries: list[Entry], generated: datetime | None) -> str:
    return render(
        template,
        title="Questions connues de l'assistant SPIE",
        source=SOURCE,
        command=COMMAND,
        generated=generated or datetime.now(),
        entries=entries,
        anchor=anchor,
        no_source=NO_SOURCE,
    )


def render_html(entries: list[Entry], generated: datetime | None = None) -> str:
    return _render("faq_sheet.html", entries, generated)


def render_markdown(entries: list[Entry], generated: datetime | None = None) -> str:
    return _render("faq_sheet.md", entries, generated)


def write_sheet(
    out_dir: Path = DEFAULT_OUT_DIR,
    project_dir: Path = PROJECT_DIR,
    samples: Samples | None = None,
) -> tuple[Path, Path]:
    entries = build_sheet(project_dir, samples)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path = out_dir / "faq.html", out_dir / "faq.md"
    html_path.write_text(render_html(entries), encoding="utf-8")
    md_path.write_text(render_markdown(entries), encoding="utf-8")
    return html_path, md_path


# --- command line -------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    html_path, md_path = write_sheet(args.out_dir, args.project_dir)
    print(f"Fiche écrite : {html_path} et {md_path}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "faq-sheet", help="fiche HTML et Markdown de toutes les questions connues"
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    parser.set_defaults(func=_run)
