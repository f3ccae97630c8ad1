"""Jinja2 templates of every generated document: the staff pages (`bot faq-sheet`, `bot report`)
and the benchmark's Markdown (`bench/benchmark.py`).

The templates live in `bot/templates/` (packaged with `bot`). HTML templates (`*.html`) are
autoescaped: a value from the data (an answer, a user's message, a topic) can never become markup;
the staff pages extend `base.html` (head, styles, header, footer with the source and the date).
Markdown templates (`*.md`) are not HTML-escaped: they escape what they print with the
`md_escape` filter, or put it in a fenced block with `md_fence`.
"""

from __future__ import annotations

import functools
import html
import re
from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot import PACKAGE_DIR

TEMPLATES_DIR = PACKAGE_DIR / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")
_TILDES = re.compile(r"~+")


def md_escape(text: object) -> str:
    """Text shown as is in Markdown: no emphasis, link, heading or HTML, on one line."""
    escaped = html.escape(str(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


def md_fence(text: object) -> str:
    """A fenced block longer than any run of tildes inside: the text stays exactly as sent."""
    text = str(text)
    longest = max((len(run) for run in _TILDES.findall(text)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def fr_datetime(moment: datetime) -> str:
    """`02/12/2026 à 14:05`, as the staff pages write a generation time."""
    return moment.strftime("%d/%m/%Y à %H:%M")


def is_web_url(value: object) -> bool:
    """Only http(s) sources become links (never `javascript:` or a file path)."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def is_md_autolink(value: object) -> bool:
    """A web address Markdown can show as `<https://…>` (no space or angle bracket inside)."""
    return is_web_url(value) and not re.search(r"[\s<>]", str(value))


@functools.cache
def environment() -> Environment:
    """The one Environment of the project's generated documents (built once, then shared)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,  # a misspelt variable fails loudly instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md_escape=md_escape, md_fence=md_fence, fr_datetime=fr_datetime)
    env.tests.update(web_url=is_web_url, md_autolink=is_md_autolink)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
