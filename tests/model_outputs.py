"""`python -m tests.model_outputs MODEL (rasa|speedups) OUT`: the trained model's NLU outputs
(intent, ranking, response selector) for every held-out message, as JSON, loaded either
through Rasa's own `RasaModel.load` or through rasa_ext/speedups.py's. Run in a process of its
own: the choice is made before anything is loaded."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HOLDOUT = Path(__file__).parent / "nlu_holdout.yml"


def holdout_messages() -> list[str]:
    messages = []
    for block in yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))["nlu"]:
        messages += [
            line[2:].strip() for line in block["examples"].splitlines() if line[:2] == "- "
        ]
    return messages


async def outputs(model: str) -> list[Any]:
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=model)
    results = []
    for text in holdout_messages():
        parsed = await agent.parse_message(text)
        results.append(
            [text, parsed["intent"], parsed["intent_ranking"], parsed.get("response_selector")]
        )
    return results


def main(model: str, loading: str, out: str) -> None:
    # Imported here: importing rasa_ext installs the speed-ups, which the test process must not get.
    from rasa_ext import speedups

    if loading == "rasa":
        speedups.uninstall()
    Path(out).write_text(json.dumps(asyncio.run(outputs(model)), ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:4])
