"""Load benchmark of the assistant over REST, side by side with the project before the performance
work and with Rasa's default pipeline.

Three configurations: "ours" (config.yml, models/current.tar.gz), "before" (the project tree of
commit BEFORE_REF, `--before`, extracted with `git archive`: its own config.yml, actions, rasa_ext and
bot code) and "default" (Rasa's default configuration on our domain and data). One run:
1. trains Rasa's default configuration (`bench/config_default.yml`, what `rasa init` gives, with
   `language: fr`) into `models/bench-default.tar.gz`, the "before" tree with its own config.yml
   (copied to `models/bench-before.tar.gz`), and times a training of `config.yml` (thrown away) so
   that the training times come from the same run;
2. scores the models on the held-out set (`rasa test nlu`, intent macro-F1 as `bot nlu-gate`; the
   current tests/nlu_holdout.yml for all three);
3. serves each model in turn (action server + Rasa server on free loopback ports, `scripts/supervisor.py`;
   "before" from its own tree) and runs the same scenarios against it:
   - baseline: sequential FAQ turns, one at a time;
   - users: N simulated users x M turns (FAQ, contact flow, start of the eligibility test) with a
     think time of 2-6 s between turns;
   - saturation: K clients with no think time for T seconds (messages per second);
   - profile (ours and before; not counted in any other figure): the saturation clients again while
     py-spy samples the Rasa server (bench/spy_profile.py reads its output);
   - bad input: a mix of invalid bodies, 20,000-character, oversize (413), empty and control-character messages
     and normal questions, sent concurrently;
   while the resident memory of both servers is sampled every 0.5 s;
4. measures the cold start of `make run` (ours and before, model present): seconds until the REST
   webhook answers and until a first question gets its answer;
5. prints a side-by-side table and writes `docs/benchmarks.md`.

    .venv/bin/python bench/benchmark.py                      # full run (about 30 minutes)
    .venv/bin/python bench/benchmark.py --quick --no-train --skip-stock   # smoke run (trained models)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.spy_profile import read_profile  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.staff.nlu_gate import evaluate, load_scores  # noqa: E402
from bot.staff.templating import render  # noqa: E402
from scripts.supervisor import (  # noqa: E402
    VENV_BIN,
    Assistant,
    Process,
    free_port,
    group_members,
    post_json,
    process_tree,
    terminate,
    wait_until_up,
)

RASA = str(VENV_BIN / "rasa")
DEFAULT_CONFIG = ROOT / "bench" / "config_default.yml"
OUR_MODEL = ROOT / "models" / "current.tar.gz"
DEFAULT_MODEL = ROOT / "models" / "bench-default.tar.gz"
# The project before the performance work of issue 16: the last commit before it (in main's history).
BEFORE_REF = "62eddae"
BEFORE_MODEL = ROOT / "models" / "bench-before.tar.gz"
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
REPORT = ROOT / "docs" / "benchmarks.md"

# Targets of the issue (ours, one server, 50 users with 2-6 s think time).
TARGET_USERS = 50
TARGET_FAQ_P95_MS = 300.0
# Issue 16: ratios against "before" in the same run, and absolute limits on this machine.
TARGET_SATURATION_RATIO = 2.0  # ours / before, at least
TARGET_FAQ_P95_RATIO = 0.5  # ours / before, 50 users, at most
TARGET_RASA_VMHWM_MB = 1600.0
TARGET_COLD_START_S = 30.0  # `make run`, model present, until the first answer
TARGET_TRAINING_S = 180.0
COLD_START_QUESTION = ("Qui peut candidater ?", "conseil départemental")

KINDS = ("faq", "contact", "eligibility")

# --- What the simulated users say ------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    kind: str
    text: str
    expected: str  # a substring the joined reply texts must contain


FAQ = [
    ("Qui peut candidater ?", "conseil départemental"),
    ("une association peut elle porter le projet ?", "avec l'accord du conseil départemental"),
    ("quels sont les partenaires obligatoires ?", "Pôle emploi (France Travail"),
    ("qu'est ce que le projet doit montrer", "bénéficiaires au cœur du projet"),
    ("combien de territoires seront retenus", "35"),
    ("c'est quoi le SPIE", "parcours personnalisé"),
    ("comment deposer mon dossier ?", "DDETS"),
    ("pole emploi c'est devenu quoi ?", "France Travail"),
    ("c'est quand la date limite ?", "11 octobre 2021"),
]
CONTACT_ASK = ["qui contacter ?", "qui dois-je contacter ?"]
CONTACT_PLACES = [
    ("Allier", "Allier"),
    ("Clermont-Ferrand", "Puy-de-Dôme"),
    ("03", "Allier"),
    ("Drôme", "Drôme"),
    ("Mamoudzou", "Mayotte"),
]
CONTACT_DIRECT = [
    ("qui contacter dans l'Allier ?", "Allier"),
    ("code postal 63000", "Puy-de-Dôme"),
    ("qui contacter dans le 2A ?", "Corse-du-Sud"),
    ("contact DDETS de la Drôme", "Drôme"),
    ("qui contacter dans le Cantal ?", "Cantal"),
]
ELIGIBILITY = [
    Turn("eligibility", "suis-je éligible ?", "1. Quelle structure porte le projet"),
    Turn("eligibility", "Le conseil départemental", "2. Le groupement comprend-il Pôle emploi"),
    Turn("eligibility", "oui", "3. Quels autres partenaires"),
    Turn("eligibility", "annuler", "test d'éligibilité est arrêté"),
]


def faq_turn(rng: random.Random) -> Turn:
    text, expected = rng.choice(FAQ)
    return Turn("faq", text, expected)


def session_plan(rng: random.Random, turns: int) -> list[Turn]:
    """M turns of one user: whole episodes (FAQ 1 turn, contact 1-2, eligibility 4) in random order.

    The first contact episode asks "qui contacter ?" then gives a place; later ones name the place
    at once (the assistant remembers the département and would not ask again).
    """
    plan: list[Turn] = []
    knows_place = False
    while len(plan) < turns:
        left = turns - len(plan)
        episodes = ["faq", "faq", "contact"] + (["eligibility"] if left >= len(ELIGIBILITY) else [])
        episode = rng.choice(episodes)
        if episode == "faq":
            plan.append(faq_turn(rng))
        elif episode == "eligibility":
            plan.extend(ELIGIBILITY)
        elif not knows_place and left >= 2:
            place, expected = rng.choice(CONTACT_PLACES)
            plan.append(Turn("contact", rng.choice(CONTACT_ASK), "Pour quel département"))
            plan.append(Turn("contact", place, expected))
            knows_place = True
        else:
            text, expected = rng.choice(CONTACT_DIRECT)
            plan.append(Turn("contact", text, expected))
            knows_place = True
    return plan


# --- HTTP client -----------------------------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Result:
    kind: str
    status: int  # -1: no HTTP answer (connection error, time-out)
    latency: float  # seconds
    error: str | None = None
    detail: str = ""


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, Any, float]:
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=JSON_HEADERS) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        return -1, f"{type(error).__name__}: {error}", time.perf_counter() - started
    elapsed = time.perf_counter() - started
    try:
        return status, json.loads(raw or b"null"), elapsed
    except ValueError:
        return status, raw[:200].decode(errors="replace"), elapsed


def reply_text(payload: Any) -> str:
    if not isinstance(payload, list):
        return ""
    return "\n".join(str(m.get("text") or "") for m in payload if isinstance(m, dict))


async def say(session: aiohttp.ClientSession, url: str, sender: str, turn: Turn) -> Result:
    body = json.dumps({"sender": sender, "message": turn.text}).encode()
    status, payload, elapsed = await post(session, url, body)
    result = Result(turn.kind, status, elapsed)
    text = reply_text(payload)
    if status == -1:
        result.error, result.detail = "no_answer", str(payload)
    elif status != 200:
        result.error, result.detail = f"http_{status}", str(payload)[:200]
    elif not text.strip():
        result.error, result.detail = "empty_answer", str(payload)[:200]
    elif turn.expected not in text:
        result.error = "wrong_answer"
        result.detail = f"{turn.text!r} -> {text[:160]!r} (expected {turn.expected!r})"
    return result


def new_session(timeout: float = 60) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=False),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


# --- Statistics ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_stats(latencies: list[float]) -> dict[str, float]:
    ms = [value * 1000 for value in latencies]
    return {
        "n": len(ms),
        "mean": sum(ms) / len(ms) if ms else float("nan"),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def summarize(results: list[Result], wall: float, **extra: Any) -> dict[str, Any]:
    answered = [r for r in results if r.status != -1]
    errors = [r for r in results if r.error]
    kinds = sorted({r.kind for r in results}, key=lambda k: (KINDS + (k,)).index(k))
    return {
        "requests": len(results),
        "wall_s": wall,
        "throughput": len(results) / wall if wall else float("nan"),
        "errors": len(errors),
        "error_kinds": dict(Counter(r.error for r in errors)),
        "error_examples": [f"{r.kind} {r.error}: {r.detail}" for r in errors[:8]],
        "statuses": {str(k): v for k, v in sorted(Counter(r.status for r in results).items())},
        "latency": {
            "all": latency_stats([r.latency for r in answered]),
            **{k: latency_stats([r.latency for r in answered if r.kind == k]) for k in kinds},
        },
        **extra,
    }


# --- Scenarios -------------------------------------------------------------------------------------


async def warm_up(url: str, tag: str) -> None:
    """A few turns of each kind so that the first measured turn does not pay for graph tracing."""
    async with new_session(120) as session:
        for index in range(3):
            sender = f"bench-{tag}-warm-{index}"
            for turn in [
                Turn("faq", *FAQ[index]),
                *ELIGIBILITY,
                Turn("contact", *CONTACT_DIRECT[0]),
            ]:
                await say(session, url, sender, turn)


async def baseline(url: str, tag: str, count: int, seed: int) -> dict[str, Any]:
    """Sequential FAQ turns, one at a time (8 per conversation)."""
    rng = random.Random(seed)
    results = []
    async with new_session() as session:
        started = time.perf_counter()
        for index in range(count):
            results.append(await say(session, url, f"bench-{tag}-base-{index // 8}", faq_turn(rng)))
        wall = time.perf_counter() - started
    return summarize(results, wall)


async def users(
    url: str,
    tag: str,
    count: int,
    turns: int,
    think: tuple[float, float],
    seed: int,
) -> dict[str, Any]:
    """`count` users, each `turns` turns, waiting uniform(think) seconds before each turn."""
    results: list[Result] = []

    async def user(index: int) -> None:
        rng = random.Random(f"{seed}-{index}")
        sender = f"bench-{tag}-user-{index}"
        for turn in session_plan(rng, turns):
            await asyncio.sleep(rng.uniform(*think))
            results.append(await say(session, url, sender, turn))

    async with new_session() as session:
        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(count)))
        wall = time.perf_counter() - started
    return summarize(results, wall, users=count, turns=turns, think_s=list(think))


async def saturation(url: str, tag: str, clients: int, seconds: float, seed: int) -> dict[str, Any]:
    """`clients` users with no think time, new conversations of 8 turns, for `seconds`."""
    results: list[Result] = []
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        rng = random.Random(f"{seed}-sat-{index}")
        conversation = 0
        while time.perf_counter() < deadline:
            sender = f"bench-{tag}-sat-{index}-{conversation}"
            for turn in session_plan(rng, 8):
                if time.perf_counter() >= deadline:
                    return
                results.append(await say(session, url, sender, turn))
            conversation += 1

    async with new_session() as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        wall = time.perf_counter() - started
    return summarize(results, wall, clients=clients, seconds=seconds)


LONG_TEXT = (
    "Bonjour, je voudrais savoir qui peut candidater à l'AMI SPIE 2021, quels partenaires il faut "
    "réunir dans le groupement et jusqu'à quand on peut déposer un dossier auprès de la DDETS. "
)


def bad_input_bodies(count: int, seed: int) -> list[tuple[str, bytes, tuple[int, ...], str]]:
    """(category, body, accepted statuses, expected reply substring) for the bad-input mix."""
    rng = random.Random(f"{seed}-bad")
    long_messages = [
        (LONG_TEXT * 200)[:20_000],
        "Qui peut candidater ? " + "x" * 19_978,
        "é" * 20_000,
        ("mot " * 5000)[:20_000],
    ]
    bodies = []
    for index in range(count):
        sender = f"bench-bad-{seed}-{index}"
        category = rng.choice(
            ["non_object", "invalid_json", "long", "oversize", "empty", "control", "normal"]
        )
        if category == "oversize":  # over MAX_REQUEST_BYTES: refused by the server before reading
            raw = json.dumps({"sender": sender, "message": "x" * 100_000}).encode()
            bodies.append((category, raw, (413,), ""))
        elif category == "non_object":
            raw = rng.choice([b"[]", b'"s"', b"null", b"42", b"true", b'[{"sender": "a"}]'])
            bodies.append((category, raw, (400,), ""))
        elif category == "invalid_json":
            raw = rng.choice(
                [
                    b"",
                    b"{",
                    b"not json",
                    b"\xff\xfe\x00",
                    b'{"sender": "a", "message": "x"',
                    b"{'sender': 'a'}",
                ]
            )
            bodies.append((category, raw, (400,), ""))
        else:
            if category == "long":
                message, expected = rng.choice(long_messages), "premiers caractères"
            elif category == "empty":
                message, expected = rng.choice(["", " ", "\n\t  "]), "vide"
            elif category == "control":
                message = rng.choice(
                    [
                        "\x00\x01\x02",
                        "\x1b[31m\x07",
                        "\u202e\u200b\ufeff",
                        "Qui peut\x00 candidater\x1f ?",
                    ]
                )
                expected = ""
            else:
                message, expected = rng.choice(FAQ)
            # UTF-8 as a browser's JSON.stringify sends it (20,000 « é »: 40 kB, under the limit).
            raw = json.dumps({"sender": sender, "message": message}, ensure_ascii=False).encode()
            bodies.append((category, raw, (200,), expected))
    return bodies


async def bad_input(
    url: str,
    count: int,
    concurrency: int,
    seed: int,
    budget: float | None = None,
) -> dict[str, Any]:
    """The bad-input mix; with `budget` (seconds), no new request is sent after it."""
    bodies = bad_input_bodies(count, seed)
    results: list[Result] = []
    per_category: dict[str, Counter] = {}
    queue: asyncio.Queue = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty() and (deadline is None or time.perf_counter() < deadline):
            category, raw, accepted, expected = queue.get_nowait()
            status, payload, elapsed = await post(session, url, raw)
            result = Result(category, status, elapsed)
            if status == -1:
                result.error, result.detail = "no_answer", str(payload)
            elif status not in accepted:
                result.error, result.detail = (
                    f"http_{status}",
                    f"{raw[:60]!r} -> {str(payload)[:120]}",
                )
            elif status == 200 and (
                not reply_text(payload).strip() or expected not in reply_text(payload)
            ):
                result.error = "wrong_answer"
                result.detail = f"{raw[:60]!r} -> {reply_text(payload)[:120]!r}"
            per_category.setdefault(category, Counter())[str(status)] += 1
            results.append(result)

    async with new_session(120) as session:
        started = time.perf_counter()
        deadline = None if budget is None else started + budget
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    summary = summarize(results, wall, concurrency=concurrency, planned=count, budget_s=budget)
    summary["by_category"] = {k: dict(v) for k, v in sorted(per_category.items())}
    summary["http_500"] = sum(1 for r in results if r.status >= 500)
    return summary


# --- Servers and memory ----------------------------------------------------------------------------


class BenchAssistant(Assistant):
    """`scripts.supervisor.Assistant` serving a given model, with in-memory locks (one server).

    `root`: the project tree the servers and the database build run from (working directory and
    PYTHONPATH: its actions, rasa_ext and bot code, its endpoints.yml and credentials.yml)."""

    def __init__(
        self, workdir: Path, model: Path, credentials: Path | None = None, root: Path = ROOT
    ) -> None:
        self.credentials = credentials
        self.root = root
        super().__init__(workdir, model=model)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("REDIS_URL", "MAX_MESSAGE_CHARS", "TURN_TIMEOUT_SECONDS"):
            self.env.pop(name, None)  # the documented defaults, whatever the caller's shell has
        if self.root != ROOT:  # that tree's code only, not ours nor the caller's PYTHONPATH
            self.env["PYTHONPATH"] = str(self.root)  # the dict both processes share
        self.actions.cwd = self.rasa.cwd = self.root
        self.rasa.startup_timeout = 900  # a loaded machine can take minutes to load a model
        if self.credentials:
            args = self.rasa.args
            args[args.index("--credentials") + 1] = str(self.credentials)

    def build_database(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "build"],
            cwd=self.root,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """VmRSS of every process of each server's process group, every `period` seconds."""

    def __init__(self, groups: dict[str, Process], period: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pgids = {name: process.popen.pid for name, process in groups.items()}
        self.period = period
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.stopping = threading.Event()

    def sample(self) -> dict[str, int]:
        return {
            name: sum(status_kb(pid, "VmRSS") for pid in group_members(pgid))
            for name, pgid in self.pgids.items()
        }

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append((time.perf_counter(), self.sample()))
            self.stopping.wait(self.period)

    def peak_mb(self, name: str, start: float = 0.0, end: float = float("inf")) -> float:
        values = [s[name] for t, s in self.samples if start <= t <= end]
        return max(values, default=0) / 1024

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# --- Training and NLU evaluation -------------------------------------------------------------------


@dataclass
class Commands:
    """Every command the run executed, for the report."""

    lines: list[str] = field(default_factory=list)
    peak_mb: float = 0.0  # peak resident memory of the last command

    def run(
        self, args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> float:
        """Runs a command to completion in `cwd`; returns its wall time (and sets `peak_mb`)."""
        self.lines.append(command_line(args, cwd, env))
        started = time.perf_counter()
        with log.open("ab") as out:
            process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:
                process.kill()
                process.wait()
                raise
            process.returncode = code = os.waitstatus_to_exitcode(status)
        self.peak_mb = usage.ru_maxrss / 1024
        if code:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"`{shlex.join(args)}` failed ({code})\n--- {log} ---\n{tail}")
        return time.perf_counter() - started


def display(arg: str) -> str:
    """Paths relative to the project root where possible (commands are run from it)."""
    try:
        return str(Path(arg).relative_to(ROOT)) if arg.startswith(str(ROOT)) else arg
    except ValueError:
        return arg


def command_line(args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """The command as the report shows it; run elsewhere than the project root, with the cd (and
    `PYTHONPATH=.` when that tree is the PYTHONPATH)."""
    if cwd == ROOT:
        return shlex.join(display(a) for a in args)
    line = " ".join(from_root(a) for a in args)
    prefix = "PYTHONPATH=. " if env is not None and env.get("PYTHONPATH") == str(cwd) else ""
    return f"(cd {shlex.quote(display(str(cwd)))} && {prefix}{line})"


def from_root(arg: str) -> str:
    """A shell word, the project root's paths as `$ROOT/…` (for commands run from another tree)."""
    shown = display(arg)
    return f"$ROOT/{shlex.quote(shown)}" if shown != arg else shlex.quote(arg)


def train_env(cache: Path, root: Path = ROOT) -> dict[str, str]:
    """`root` importable; `cache`, a new directory per command: no component is reused from another
    training (ours and before may share most components)."""
    env = dict(
        os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(root)
    )
    env["RASA_CACHE_DIRECTORY"] = str(cache)  # no cached components: full training
    return env


def nlu_scores(
    commands: Commands, model: Path, out: Path, log: Path, root: Path = ROOT
) -> dict[str, Any]:
    """`rasa test nlu` on the current held-out set, run in `root` (the model's own components)."""
    seconds = commands.run(
        [RASA, "test", "nlu", "--model", str(model), "--nlu", str(HOLDOUT), "--out", str(out)],
        log,
        train_env(out.parent / f"rasa-cache-{out.name}", root),
        root,
    )
    scores, support = load_scores(out)
    gate = evaluate(scores, support)
    return {
        "macro_f1": gate.macro_f1,
        "worst": list(gate.worst),
        "gate_passed": gate.passed,
        "labels": len(scores),
        "examples": sum(support.values()),
        "seconds": seconds,
        "scores": scores,
    }


# --- One configuration -----------------------------------------------------------------------------


async def scenarios(
    assistant: BenchAssistant,
    tag: str,
    options: argparse.Namespace,
    sampler: MemorySampler,
    profile: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The scenarios, in order; `profile`, if given, runs right after the saturation scenario and
    its result is kept apart (`out["profile"]`), in no scenario's figures."""
    url = assistant.webhook
    out: dict[str, dict[str, Any]] = {}
    say_progress(f"[{tag}] warm-up")
    await warm_up(url, tag)
    plan = [
        ("baseline", lambda: baseline(url, tag, options.baseline_turns, options.seed)),
        (
            "users",
            lambda: users(
                url,
                tag,
                options.users,
                options.turns,
                (options.think_min, options.think_max),
                options.seed,
            ),
        ),
        (
            "saturation",
            lambda: saturation(url, tag, options.sat_clients, options.sat_seconds, options.seed),
        ),
        (
            "bad_input",
            lambda: bad_input(url, options.bad_requests, options.bad_concurrency, options.seed),
        ),
    ]
    for name, scenario in plan:
        say_progress(f"[{tag}] {name}")
        started = time.perf_counter()
        result = await scenario()
        ended = time.perf_counter()
        result["rasa_peak_rss_mb"] = sampler.peak_mb("rasa", started, ended)
        result["actions_peak_rss_mb"] = sampler.peak_mb("actions", started, ended)
        out[name] = result
        say_progress(f"[{tag}] {name}: {one_line(result)}")
        if name == "saturation" and profile is not None:
            out["profile"] = await profile()
    return out


def py_spy() -> str | None:
    found = VENV_BIN / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


async def profile_phase(
    url: str,
    tag: str,
    pid: int,
    options: argparse.Namespace,
    workdir: Path,
    commands: Commands,
) -> dict[str, Any]:
    """The saturation clients for `--profile-seconds` while py-spy samples the Rasa server (pid):
    the categories' shares and the functions with the most self time (bench/spy_profile.py)."""
    seconds = options.profile_seconds
    program = py_spy()
    if program is None:
        message = "py-spy is not installed (requirements-dev.txt): no profile"
        say_progress(f"[{tag}] {message}")
        return {"skipped": message}
    raw = workdir / f"profile-{tag}.raw"
    log = workdir / f"profile-{tag}.log"
    args = [program, "record", "--pid", str(pid), "--rate", "100", "--duration", str(seconds)]
    args += ["--format", "raw", "--output", str(raw)]
    commands.lines.append(
        command_line(args).replace(str(pid), "<rasa server pid>")
        + f"   # while {options.sat_clients} saturation clients run"
    )
    say_progress(f"[{tag}] profile: py-spy for {seconds:g} s under the saturation clients")
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(*args, stdout=out, stderr=out)
    try:
        # The load outlasts the sampling (py-spy takes a moment to attach).
        load = await saturation(
            url, f"{tag}-profile", options.sat_clients, seconds + 2, options.seed
        )
        code = await asyncio.wait_for(process.wait(), timeout=seconds + 60)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if code != 0 or not raw.exists():
        tail = log.read_text(errors="replace")[-500:].strip()
        message = f"py-spy exited with {code}: {tail}"
        say_progress(f"[{tag}] profile failed: {message}")
        return {"error": message, "load": one_line(load)}
    result = read_profile(raw)
    say_progress(
        f"[{tag}] profile: {result.samples} samples; "
        + ", ".join(f"{c.name} {c.share:.0%}" for c in result.categories if c.samples)
    )
    return {
        "seconds": seconds,
        "rate": 100,
        "load": one_line(load),
        "samples": result.samples,
        "categories": [dataclasses.asdict(c) for c in result.categories],
        "top_self": [dataclasses.asdict(c) for c in result.top_self],
    }


def serve_and_measure(
    model: Path,
    tag: str,
    options: argparse.Namespace,
    workdir: Path,
    commands: Commands,
    root: Path = ROOT,
    profile: bool = False,
) -> dict[str, Any]:
    """Serves `model` from the project tree `root` and runs the scenarios (and, with `profile`, the
    profile phase) against it."""
    serverdir = workdir / f"serve-{tag}"
    serverdir.mkdir()
    assistant = BenchAssistant(serverdir, model, root=root)
    if root != ROOT:
        commands.lines.append(
            command_line([sys.executable, "-m", "bot.cli", "db", "build"], root, assistant.env)
        )
    commands.lines.append(command_line(assistant.actions.args, root, assistant.env))
    commands.lines.append(command_line(assistant.rasa.args, root, assistant.env))
    say_progress(f"[{tag}] starting the action server and the Rasa server ({display(str(model))})")
    started = time.perf_counter()
    assistant.start()
    startup = time.perf_counter() - started
    try:
        sampler = MemorySampler({"rasa": assistant.rasa, "actions": assistant.actions})
        idle = sampler.sample()
        rasa_pid = assistant.rasa.popen.pid
        phase = None
        if profile and not options.no_profile:

            async def phase() -> dict[str, Any]:
                return await profile_phase(
                    assistant.webhook, tag, rasa_pid, options, workdir, commands
                )

        sampler.start()
        try:
            results = asyncio.run(scenarios(assistant, tag, options, sampler, phase))
        finally:
            sampler.stop()
        profiled = results.pop("profile", None)
        memory = {
            "rasa_idle_rss_mb": idle["rasa"] / 1024,
            "rasa_peak_rss_mb": sampler.peak_mb("rasa"),
            "rasa_vmhwm_mb": status_kb(rasa_pid, "VmHWM") / 1024,
            "rasa_processes": len(group_members(rasa_pid)),
            "actions_idle_rss_mb": idle["actions"] / 1024,
            "actions_peak_rss_mb": sampler.peak_mb("actions"),
        }
    finally:
        assistant.stop()
    return {
        "model": display(str(model)),
        "model_mb": model.stat().st_size / 2**20,
        "startup_s": startup,
        "memory": memory,
        "scenarios": results,
        "profile": profiled,
    }


def prepare_before(ref: str, workdir: Path, commands: Commands) -> dict[str, Any]:
    """The project tree of commit `ref`, extracted into the work directory (`git archive`: no
    worktree bookkeeping); its models/current.tar.gz is set later (`make run` reads it)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", f"{ref}^{{commit}}"],
        cwd=ROOT,
        text=True,
        capture_output=True,
    )
    if commit.returncode:
        raise RuntimeError(
            f"--before {ref}: not a commit of this repository ({commit.stderr.strip()})"
        )
    tree = workdir / "before"
    tree.mkdir()
    commands.lines.append(f"git archive {shlex.quote(ref)} | tar -x -C {tree}")
    archive = subprocess.Popen(["git", "archive", ref], cwd=ROOT, stdout=subprocess.PIPE)
    assert archive.stdout is not None
    try:
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
    finally:
        archive.stdout.close()
        if archive.wait():
            raise RuntimeError(f"git archive {ref} failed ({archive.returncode})")
    return {"ref": ref, "commit": commit.stdout.strip(), "tree": str(tree)}


def link_model(tree: Path, model: Path) -> None:
    """tree/models/current.tar.gz → `model`: what that tree's `make run` serves."""
    (tree / "models").mkdir(exist_ok=True)
    current = tree / "models" / "current.tar.gz"
    if current.is_symlink() or current.exists():
        current.unlink()
    current.symlink_to(model.resolve())


# The checks scripts/common.sh's ensure_venv and ensure_model make before doing anything, made the
# same way (its own functions where it has them): `make run` must not reinstall the shared venv nor
# train, delete or rewrite the model.
RUN_SH_IS_A_NO_OP = r"""
source scripts/common.sh
stamp="$VENV/.installed-requirements"
wanted="$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$PY" ]; }; then
  echo "ensure_venv would reinstall the venv ($stamp is not that of requirements.txt + pyproject.toml)"
elif ! { [ -f "$MODEL" ] && tar -tzf "$MODEL" >/dev/null 2>&1; }; then
  echo "ensure_model would train: $MODEL is missing or unreadable"
elif [ "$(cat "$ROOT/models/.fingerprint" 2>/dev/null)" != "$(training_fingerprint)" ]; then
  echo "ensure_model would train: models/.fingerprint is not that of this tree's training inputs"
fi
"""


def run_sh_obstacle(root: Path) -> str:
    """Why `bash scripts/run.sh` must not be run in `root` ("" when its preparation does nothing)."""
    check = subprocess.run(
        ["bash", "-c", RUN_SH_IS_A_NO_OP], cwd=root, text=True, capture_output=True
    )
    if check.returncode:
        return f"the check failed: {check.stderr.strip()[-300:]}"
    return check.stdout.strip()


def cold_start(
    tag: str, root: Path, workdir: Path, commands: Commands, use_run_sh: bool
) -> dict[str, Any]:
    """`make run` with the model present (root/models/current.tar.gz): seconds until the REST webhook
    answers and until a first question gets its answer; then SIGTERM to its process group (the
    supervisor stops its children) and a check that nothing is left.

    `use_run_sh`: `bash scripts/run.sh` itself, when its preparation is a no-op (`run_sh_obstacle`);
    otherwise, `python -m bot.cli db build` then `python -m scripts.supervisor run` (what run.sh ends
    with), timed together."""
    rundir = workdir / f"run-{tag}"
    rundir.mkdir()
    env = dict(os.environ)
    for name in Settings.__fields__:  # the documented defaults, whatever the caller's shell has
        env.pop(name.upper(), None)
    env.pop("PYTHONPATH", None)
    ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "WEB_PORT": free_port()}
    env.update(
        {name: str(port) for name, port in ports.items()},
        TRACKER_DB_URL=f"sqlite:///{rundir / 'tracker.db'}",
        DATABASE_URL=f"sqlite:///{rundir / 'spie.db'}",
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    if not use_run_sh:
        env["PYTHONPATH"] = str(root)
    log = rundir / "make-run.log"
    if use_run_sh:
        args = ["bash", "scripts/run.sh"]
        method = "`bash scripts/run.sh` (= `make run`)"
    else:
        args = [sys.executable, "-m", "scripts.supervisor", "run"]
        method = "`python -m bot.cli db build` then `python -m scripts.supervisor run`"
    health = f"http://127.0.0.1:{ports['RASA_PORT']}/webhooks/rest/"
    say_progress(f"[{tag}] cold start of make run: {method}")
    started = time.perf_counter()
    if not use_run_sh:
        build = [sys.executable, "-m", "bot.cli", "db", "build"]
        commands.lines.append(command_line(build, root, env))
        with log.open("ab") as out:
            subprocess.run(
                build, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, check=True
            )
    commands.lines.append(
        command_line(args, root, env)
        + "   # RASA_PORT, ACTIONS_PORT, WEB_PORT free; TRACKER_DB_URL, DATABASE_URL in $WORK/run-*"
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            args, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            wait_until_up(health, 600, process)
            ready = time.perf_counter() - started
            question, expected = COLD_START_QUESTION
            status, replies = post_json(
                f"{health}webhook", {"sender": f"bench-cold-{tag}", "message": question}, 300
            )
            answered = time.perf_counter() - started
        except Exception as error:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{error}\n--- {log} ---\n{tail}") from error
        text = reply_text(replies)
    finally:
        pids = process_tree([process.pid])  # the supervisor and every server it started
        stop_started = time.perf_counter()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        stopped = time.perf_counter() - stop_started
        time.sleep(0.5)
        left = [pid for pid in pids if pid_alive(pid)]
        if left:  # reported, then stopped here
            terminate(left, 5)
    result = {
        "method": method,
        "ready_s": ready,
        "first_answer_s": answered,
        "answer_ok": status == 200 and expected in text,
        "answer": text[:160] if status == 200 else f"HTTP {status}: {str(replies)[:160]}",
        "stop_s": stopped,
        "exit_code": code,
        "processes": len(pids),
        "left": len(left),
    }
    say_progress(
        f"[{tag}] cold start: REST up after {ready:.1f} s, first answer after {answered:.1f} s "
        f"({'right' if result['answer_ok'] else 'WRONG'} answer); stopped in {stopped:.1f} s, "
        f"{len(left)} of {len(pids)} processes left"
    )
    return result


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def stock_channel_bad_input(
    model: Path, options: argparse.Namespace, workdir: Path, commands: Commands
) -> dict[str, Any]:
    """The same bad-input mix against Rasa's stock `rest` channel (same model), within a budget."""
    serverdir = workdir / "serve-stock"
    serverdir.mkdir()
    credentials = serverdir / "credentials.yml"
    credentials.write_text("rest:\n")
    assistant = BenchAssistant(serverdir, model, credentials)
    commands.lines.append(
        shlex.join(display(a) for a in assistant.rasa.args) + "   # credentials.yml: `rest:` only"
    )
    say_progress("[stock rest channel] starting the Rasa server")
    assistant.start()
    try:
        asyncio.run(warm_up(assistant.webhook, "stock"))
        say_progress(f"[stock rest channel] bad_input (at most {options.stock_budget:g} s)")
        result = asyncio.run(
            bad_input(
                assistant.webhook,
                options.bad_requests,
                options.bad_concurrency,
                options.seed,
                options.stock_budget,
            )
        )
        say_progress(f"[stock rest channel] bad_input: {one_line(result)}")
    finally:
        assistant.stop()
    return result


def say_progress(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def one_line(result: dict[str, Any]) -> str:
    lat = result["latency"]["all"]
    return (
        f"{result['requests']} requests in {result['wall_s']:.1f} s "
        f"({result['throughput']:.1f}/s), p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
        f"p99 {lat['p99']:.0f} ms, errors {result['errors']} {result['error_kinds'] or ''}"
    )


# --- Machine ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = status_meminfo("MemTotal")
    import rasa  # local: slow import, and only its version is needed

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=ROOT, text=True, capture_output=True
            ).stdout.strip()
        )
    except OSError:
        commit, dirty = "?", False
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_kb / 2**20,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rasa": rasa.__version__,
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
    }


def status_meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- Report ----------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.{digits}f}".replace(",", " ")
    return str(value)


def ratio(a: Any, b: Any) -> str:
    if (
        not isinstance(a, (int, float))
        or not isinstance(b, (int, float))
        or not b
        or a != a
        or b != b
    ):
        return "—"
    return f"{a / b:.2f}"


def get(run: dict[str, Any] | None, *path: str) -> Any:
    value: Any = run
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


COLUMNS = ("ours", "before", "default")


def rows(results: dict[str, Any]) -> list[tuple[str, Any, Any, Any, int]]:
    """(label, ours, before, default, digits) for the side-by-side table."""
    runs = [results.get(tag) for tag in COLUMNS]
    nlus = [results.get(f"nlu_{tag}") for tag in COLUMNS]
    colds = [results.get(f"cold_start_{tag}") for tag in COLUMNS]
    train = results.get("training", {})
    table: list[tuple[str, Any, Any, Any, int]] = []

    def add(label: str, path: tuple[str, ...], digits: int = 0) -> None:
        table.append((label, *(get(run, *path) for run in runs), digits))

    def add_values(label: str, values: list[Any], digits: int = 0) -> None:
        table.append((label, values[0], values[1], values[2], digits))

    users_label = f"{results['options']['users']} users"
    add("baseline FAQ p50 (ms)", ("scenarios", "baseline", "latency", "faq", "p50"))
    add("baseline FAQ p95 (ms)", ("scenarios", "baseline", "latency", "faq", "p95"))
    add("baseline FAQ p99 (ms)", ("scenarios", "baseline", "latency", "faq", "p99"))
    for kind in KINDS:
        for q in ("p50", "p95", "p99"):
            add(f"{users_label}: {kind} {q} (ms)", ("scenarios", "users", "latency", kind, q))
    add(f"{users_label}: all p95 (ms)", ("scenarios", "users", "latency", "all", "p95"))
    add(f"{users_label}: messages", ("scenarios", "users", "requests"))
    add(f"{users_label}: errors", ("scenarios", "users", "errors"))
    add(f"{users_label}: throughput (msg/s)", ("scenarios", "users", "throughput"), 1)
    add("saturation: throughput (msg/s)", ("scenarios", "saturation", "throughput"), 1)
    add("saturation: p50 (ms)", ("scenarios", "saturation", "latency", "all", "p50"))
    add("saturation: p95 (ms)", ("scenarios", "saturation", "latency", "all", "p95"))
    add("saturation: p99 (ms)", ("scenarios", "saturation", "latency", "all", "p99"))
    add("saturation: errors", ("scenarios", "saturation", "errors"))
    add("bad input: total time (s)", ("scenarios", "bad_input", "wall_s"), 1)
    add("bad input: p95 (ms)", ("scenarios", "bad_input", "latency", "all", "p95"))
    add("bad input: HTTP 500", ("scenarios", "bad_input", "http_500"))
    add("bad input: unexpected answers", ("scenarios", "bad_input", "errors"))
    add("Rasa server: peak RSS, VmHWM (MB)", ("memory", "rasa_vmhwm_mb"))
    add("Rasa server: RSS idle (MB)", ("memory", "rasa_idle_rss_mb"))
    add("action server: peak RSS (MB)", ("memory", "actions_peak_rss_mb"))
    add("server start-up (s)", ("startup_s",), 1)
    add_values("make run: REST up (s)", [get(c, "ready_s") for c in colds], 1)
    add_values("make run: first answer (s)", [get(c, "first_answer_s") for c in colds], 1)
    add("model size (MB)", ("model_mb",), 1)
    add_values("training time (s)", [train.get(f"{tag}_s") for tag in COLUMNS])
    add_values("training peak RSS (MB)", [train.get(f"{tag}_peak_mb") for tag in COLUMNS])
    add_values("NLU intent macro-F1 (held-out)", [get(n, "macro_f1") for n in nlus], 3)
    worst = [get(n, "worst") for n in nlus]
    add_values("NLU worst intent F1", [w and w[1] for w in worst], 3)
    return table


def stock_rows(results: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """(label, project channel, stock channel, digits): the bad-input mix, our model, both channels."""
    ours, stock = get(results, "ours", "scenarios", "bad_input"), results.get("stock_bad_input")
    if not ours or not stock:
        return []
    table = []
    for label, path, digits in [
        ("requests answered", ("requests",), 0),
        ("time (s)", ("wall_s",), 1),
        ("requests per second", ("throughput",), 1),
        ("p50 (ms)", ("latency", "all", "p50"), 0),
        ("p95 (ms)", ("latency", "all", "p95"), 0),
        ("max (ms)", ("latency", "all", "max"), 0),
        ("HTTP 500", ("http_500",), 0),
        ("unexpected answers (500s included)", ("errors",), 0),
    ]:
        table.append((label, get(ours, *path), get(stock, *path), digits))
    return table


def quotient(a: Any, b: Any) -> float | None:
    """a / b for two measured numbers; None when either is missing (or b is 0)."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    if a != a or b != b:  # NaN
        return None
    return a / b


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed): None when this run did not measure it."""
    ours = results.get("ours") or {}
    before = results.get("before")
    options = results["options"]
    u = get(ours, "scenarios", "users") or {}
    b = get(ours, "scenarios", "bad_input") or {}
    comparable = options["users"] >= TARGET_USERS and options["think_min"] >= 2
    users_label = f"{options['users']} users"
    faq_p95 = get(u, "latency", "faq", "p95")
    faq_p95_before = get(before, "scenarios", "users", "latency", "faq", "p95")
    faq_ratio = quotient(faq_p95, faq_p95_before)
    sat = get(ours, "scenarios", "saturation", "throughput")
    sat_before = get(before, "scenarios", "saturation", "throughput")
    sat_ratio = quotient(sat, sat_before)
    vmhwm = get(ours, "memory", "rasa_vmhwm_mb")
    cold = results.get("cold_start_ours")
    first_answer = get(cold, "first_answer_s")
    training = get(results, "training", "ours_s")
    nlu_o, nlu_b = results.get("nlu_ours"), results.get("nlu_before")

    def within(value: float | None, limit: float, at_most: bool = True) -> bool | None:
        if value is None:
            return None
        return value <= limit if at_most else value >= limit

    def both(a: Any, b: Any, digits: int = 0, unit: str = "") -> str:
        return f"ours {fmt(a, digits)}{unit}, before {fmt(b, digits)}{unit}"

    nlu_passed = None
    if nlu_o and nlu_b:
        nlu_passed = nlu_o["macro_f1"] >= nlu_b["macro_f1"] and bool(nlu_o["gate_passed"])
    return [
        (
            f"{users_label}, think {options['think_min']:g}–{options['think_max']:g} s: 0 errors",
            f"{u.get('errors')} errors / {u.get('requests')} messages",
            u.get("errors") == 0,
        ),
        (
            f"{users_label}: FAQ p95 < {TARGET_FAQ_P95_MS:.0f} ms",
            f"{fmt(faq_p95)} ms",
            faq_p95 is not None and faq_p95 < TARGET_FAQ_P95_MS,
        ),
        (
            f"{users_label}: FAQ p95 ours / before ≤ {TARGET_FAQ_P95_RATIO:g}",
            f"{both(faq_p95, faq_p95_before, unit=' ms')}: {ratio(faq_p95, faq_p95_before)}",
            within(faq_ratio, TARGET_FAQ_P95_RATIO),
        ),
        (
            f"saturation ({options['sat_clients']} clients, one server): ours / before ≥ "
            f"{TARGET_SATURATION_RATIO:g}",
            f"{both(sat, sat_before, 1, ' msg/s')}: {ratio(sat, sat_before)}",
            within(sat_ratio, TARGET_SATURATION_RATIO, at_most=False),
        ),
        (
            f"Rasa server: peak RSS (VmHWM) ≤ {TARGET_RASA_VMHWM_MB:.0f} MB",
            f"{fmt(vmhwm)} MB",
            within(vmhwm, TARGET_RASA_VMHWM_MB),
        ),
        (
            f"cold start of make run (model present): first answer ≤ {TARGET_COLD_START_S:g} s",
            f"REST up {fmt(get(cold, 'ready_s'), 1)} s, first answer {fmt(first_answer, 1)} s"
            if cold
            else "not measured",
            within(first_answer, TARGET_COLD_START_S)
            if cold is None or cold.get("answer_ok")
            else False,
        ),
        (
            f"training time (ours) ≤ {TARGET_TRAINING_S:.0f} s",
            f"{fmt(training)} s" if training is not None else "not trained in this run",
            within(training, TARGET_TRAINING_S),
        ),
        (
            "bad input: every request answered, 0 HTTP 500",
            f"{b.get('requests')} requests in {fmt(b.get('wall_s'), 1)} s, {b.get('http_500')} × 500, "
            f"{b.get('errors')} unexpected",
            b.get("http_500") == 0
            and b.get("errors") == 0
            and b.get("requests") == options["bad_requests"],
        ),
        (
            "NLU held-out macro-F1: ours ≥ before, project gate passed",
            (
                f"{both(get(nlu_o, 'macro_f1'), get(nlu_b, 'macro_f1'), 3)}; gate "
                + ("passed" if get(nlu_o, "gate_passed") else "failed")
            )
            if nlu_o
            else "not measured",
            nlu_passed,
        ),
    ] + (
        []
        if comparable
        else [("(the run is smaller than the target scenario: not conclusive)", "", None)]
    )


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'':44} {'ours':>10} {'before':>10} {'default':>10} {'ours/before':>12} "
        f"{'ours/default':>13}"
    )
    for label, a, b, c, digits in rows(results):
        print(
            f"{label:44} {fmt(a, digits):>10} {fmt(b, digits):>10} {fmt(c, digits):>10} "
            f"{ratio(a, b):>12} {ratio(a, c):>13}"
        )
    stock = stock_rows(results)
    if stock:
        print(f"\n{'bad input, our model':44} {'project':>12} {'stock rest':>12} {'ratio':>13}")
        for label, a, b, digits in stock:
            print(f"{label:44} {fmt(a, digits):>12} {fmt(b, digits):>12} {ratio(a, b):>13}")
    profiles = profile_rows(results)
    if profiles:
        print(f"\n{'profile, share of samples':44} {'ours':>10} {'before':>10}")
        for label, a, b in profiles:
            print(f"{label:44} {percent(a):>10} {percent(b):>10}")
    print()
    for label, value, passed in targets(results):
        mark = "" if passed is None else ("PASS" if passed else "FAIL")
        print(f"{mark:5} {label}: {value}")


def profile_of(results: dict[str, Any], tag: str) -> dict[str, Any] | None:
    """The profile of `tag`'s Rasa server, when one was taken."""
    profile = get(results, tag, "profile")
    return profile if isinstance(profile, dict) and "categories" in profile else None


def profile_rows(results: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(category, share ours, share before) in bench/spy_profile.py's order; [] without a profile."""
    ours, before = profile_of(results, "ours"), profile_of(results, "before")
    if not ours and not before:
        return []
    names = [c["name"] for c in (ours or before or {})["categories"]]

    def share(profile: dict[str, Any] | None, name: str) -> float | None:
        if profile is None:
            return None
        return next((c["share"] for c in profile["categories"] if c["name"] == name), None)

    return [(name, share(ours, name), share(before, name)) for name in names]


def top_rows(results: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(rank, ours, before): the functions with the most self time, `name share`, side by side."""
    tops = [get(profile_of(results, tag), "top_self") or [] for tag in ("ours", "before")]
    if not any(tops):
        return []

    def cell(top: list[dict[str, Any]], index: int) -> str:
        if index >= len(top):
            return "—"
        return f"`{top[index]['name'].replace('`', '')}` {percent(top[index]['share'])}"

    return [
        (index + 1, cell(tops[0], index), cell(tops[1], index))
        for index in range(max(len(top) for top in tops))
    ]


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def lowest_scores(nlu: dict[str, Any], count: int = 3) -> str:
    """`deny 0.80, ask_contact 0.88, …`: the intents with the lowest held-out F1."""
    low = sorted(nlu["scores"].items(), key=lambda kv: kv[1])[:count]
    return ", ".join(f"{intent} {score:.2f}" for intent, score in low)


def markdown(results: dict[str, Any]) -> str:
    """docs/benchmarks.md, from the template bot/templates/benchmarks.md."""
    return render(
        "benchmarks.md",
        results=results,
        m=results["machine"],
        o=results["options"],
        options_json=json.dumps(results["options"], ensure_ascii=False),
        targets=targets(results),
        rows=rows(results),
        stock=results.get("stock_bad_input"),
        stock_rows=stock_rows(results),
        profile_rows=profile_rows(results),
        top_rows=top_rows(results),
        profiles={tag: get(results, tag, "profile") for tag in ("ours", "before")},
        cold_starts={tag: results.get(f"cold_start_{tag}") for tag in ("ours", "before")},
        before=results.get("before_source"),
        fmt=fmt,
        ratio=ratio,
        percent=percent,
        get=get,
        one_line=one_line,
        lowest_scores=lowest_scores,
    )


# --- Main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help="simulated users (default 50; --quick: 10)")
    parser.add_argument("--turns", type=int, help="turns per user (default 8; --quick: 4)")
    parser.add_argument("--think-min", type=float, default=2.0)
    parser.add_argument("--think-max", type=float, default=6.0)
    parser.add_argument("--baseline-turns", type=int, help="sequential FAQ turns (default 100)")
    parser.add_argument("--sat-clients", type=int, default=8, help="saturation clients (default 8)")
    parser.add_argument("--sat-seconds", type=float, help="saturation duration (default 30)")
    parser.add_argument("--bad-requests", type=int, help="bad-input requests (default 2000)")
    parser.add_argument("--bad-concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument(
        "--skip-default",
        action="store_true",
        help="leave Rasa's default configuration out (not trained, not served)",
    )
    parser.add_argument(
        "--before",
        default=BEFORE_REF,
        metavar="REF",
        help=f"the commit of the 'before' configuration (default {BEFORE_REF}: the last commit "
        "before the performance work)",
    )
    parser.add_argument(
        "--skip-before",
        action="store_true",
        help="leave the 'before' configuration out (not extracted, trained nor served)",
    )
    parser.add_argument(
        "--no-train",
        action="store_true",
        help=f"reuse {display(str(DEFAULT_MODEL))} and {display(str(BEFORE_MODEL))} instead of "
        "training them (no training times)",
    )
    parser.add_argument(
        "--profile-seconds",
        type=int,
        help="py-spy sampling of the Rasa server under the saturation clients (default 20; --quick: 8)",
    )
    parser.add_argument("--no-profile", action="store_true", help="no py-spy profile phase")
    parser.add_argument(
        "--no-cold-start", action="store_true", help="do not measure the cold start of make run"
    )
    parser.add_argument(
        "--skip-stock",
        action="store_true",
        help="skip the bad-input mix against Rasa's stock REST channel",
    )
    parser.add_argument(
        "--stock-budget",
        type=float,
        help="seconds given to the stock channel for the bad-input mix (default 120)",
    )
    parser.add_argument("--skip-nlu", action="store_true", help="no `rasa test nlu` (development)")
    parser.add_argument("--model", type=Path, default=OUR_MODEL, help="our model")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"report file (default {display(str(REPORT))}; not written with --quick)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    options = parser.parse_args(argv)
    quick = options.quick
    defaults = {
        "users": (50, 10),
        "turns": (8, 4),
        "baseline_turns": (100, 20),
        "sat_seconds": (30.0, 8.0),
        "bad_requests": (2000, 200),
        "stock_budget": (120.0, 20.0),
        "profile_seconds": (20, 8),
    }
    for name, (full, small) in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, small if quick else full)
    if quick and "--think-min" not in argv and "--think-max" not in argv:
        options.think_min, options.think_max = 0.5, 1.5
    if options.output is None and not quick:
        options.output = REPORT
    options.model = options.model.resolve()
    return options


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def stop_on_signal(signum: int, _frame: Any) -> None:
    """SIGTERM/SIGHUP: unwind, so that the `finally` blocks stop the servers this run started."""
    say_progress(f"received signal {signum}: stopping")
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    options = parse_args(argv)
    if not options.model.exists():
        print(f"{options.model} is missing: run `make model` first", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="spie-bench-"))
    say_progress(f"work directory {workdir}")
    started = time.perf_counter()
    commands = Commands()
    results: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "load_start": loadavg(),
        "argv": shlex.join(argv),
        "options": {
            k: v
            for k, v in vars(options).items()
            if k
            in {
                "users",
                "turns",
                "think_min",
                "think_max",
                "baseline_turns",
                "sat_clients",
                "sat_seconds",
                "bad_requests",
                "bad_concurrency",
                "seed",
                "stock_budget",
                "profile_seconds",
            }
        },
        "workdir": str(workdir),
        "commands": commands.lines,
        "training": {},
        "failures": [],
    }
    ok = False
    try:
        before_tree: Path | None = None
        if not options.skip_before:
            results["before_source"] = prepare_before(options.before, workdir, commands)
            before_tree = Path(results["before_source"]["tree"])
        before_model = BEFORE_MODEL
        if not options.no_train:
            trainings = []  # (tag, config, out, cwd): default and before kept, ours thrown away
            if not options.skip_default:
                trainings.append(("default", DEFAULT_CONFIG, ROOT / "models", ROOT))
            if before_tree is not None:
                trainings.append(
                    ("before", before_tree / "config.yml", workdir / "models", before_tree)
                )
            if trainings:  # ours timed in the same run as what it is compared with
                trainings.append(("ours", ROOT / "config.yml", workdir / "models", ROOT))
            for tag, config, out, cwd in trainings:
                say_progress(f"training {display(str(config))} ({tag})")
                seconds = commands.run(
                    [
                        RASA,
                        "train",
                        "--config",
                        str(config),
                        "--fixed-model-name",
                        f"bench-{tag}",
                        "--out",
                        str(out),
                        "--force",
                    ],
                    workdir / f"train-{tag}.log",
                    train_env(workdir / f"rasa-cache-{tag}", cwd),
                    cwd,
                )
                results["training"][f"{tag}_s"] = seconds
                results["training"][f"{tag}_peak_mb"] = commands.peak_mb
                say_progress(f"{tag} trained in {seconds:.0f} s (peak {commands.peak_mb:.0f} MB)")
            if before_tree is not None:  # kept for the runs with --no-train
                before_model = workdir / "models" / "bench-before.tar.gz"
                BEFORE_MODEL.parent.mkdir(exist_ok=True)
                partial = BEFORE_MODEL.with_suffix(".partial")
                shutil.copyfile(before_model, partial)
                os.replace(partial, BEFORE_MODEL)
                commands.lines.append(
                    f"cp {display(str(before_model))} {display(str(BEFORE_MODEL))}"
                )
        if not options.skip_default and not DEFAULT_MODEL.exists():
            raise RuntimeError(f"{DEFAULT_MODEL} is missing (drop --no-train)")
        if before_tree is not None:
            if not before_model.exists():
                raise RuntimeError(f"{before_model} is missing (drop --no-train, or --skip-before)")
            results["before_source"]["model"] = display(str(before_model))
            link_model(before_tree, before_model)  # what that tree's `make run` serves
        if not options.skip_nlu:
            say_progress("rasa test nlu on the held-out set")
            results["nlu_ours"] = nlu_scores(
                commands, options.model, workdir / "nlu-ours", workdir / "nlu-ours.log"
            )
            if before_tree is not None:
                results["nlu_before"] = nlu_scores(
                    commands,
                    before_model,
                    workdir / "nlu-before",
                    workdir / "nlu-before.log",
                    before_tree,
                )
            if not options.skip_default:
                results["nlu_default"] = nlu_scores(
                    commands, DEFAULT_MODEL, workdir / "nlu-default", workdir / "nlu-default.log"
                )
        results["ours"] = serve_and_measure(
            options.model, "ours", options, workdir, commands, profile=True
        )
        # The comparisons below must not cost the figures already measured: a failure is reported.
        if not options.no_cold_start:
            obstacle = run_sh_obstacle(ROOT)
            try:
                results["cold_start_ours"] = cold_start(
                    "ours", ROOT, workdir, commands, use_run_sh=not obstacle
                )
                results["cold_start_ours"]["note"] = (
                    f"not `bash scripts/run.sh`: {obstacle}" if obstacle else ""
                )
            except Exception as error:  # noqa: BLE001
                results["failures"].append(f"cold start of make run (ours): {first_line(error)}")
                say_progress(f"cold start (ours) failed: {error}")
        if before_tree is not None:
            try:
                results["before"] = serve_and_measure(
                    before_model,
                    "before",
                    options,
                    workdir,
                    commands,
                    root=before_tree,
                    profile=True,
                )
            except Exception as error:  # noqa: BLE001
                results["failures"].append(f"before configuration: {first_line(error)}")
                say_progress(f"before configuration failed: {error}")
            if not options.no_cold_start:
                try:
                    results["cold_start_before"] = cold_start(
                        "before", before_tree, workdir, commands, use_run_sh=False
                    )
                    results["cold_start_before"]["note"] = (
                        "not `bash scripts/run.sh`: its ensure_venv would install that tree into "
                        "the shared venv"
                    )
                except Exception as error:  # noqa: BLE001
                    results["failures"].append(
                        f"cold start of make run (before): {first_line(error)}"
                    )
                    say_progress(f"cold start (before) failed: {error}")
        if not options.skip_default:
            try:
                results["default"] = serve_and_measure(
                    DEFAULT_MODEL, "default", options, workdir, commands
                )
            except Exception as error:  # noqa: BLE001
                results["failures"].append(f"default configuration: {first_line(error)}")
                say_progress(f"default configuration failed: {error}")
        if not options.skip_stock:
            try:
                results["stock_bad_input"] = stock_channel_bad_input(
                    options.model, options, workdir, commands
                )
            except Exception as error:  # noqa: BLE001
                results["failures"].append(f"stock REST channel: {first_line(error)}")
                say_progress(f"stock REST channel failed: {error}")
        ok = True
    finally:
        results["duration_s"] = time.perf_counter() - started
        results["load_end"] = loadavg()
        if options.json:
            options.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        if ok:
            print_table(results)
            if options.output:
                options.output.write_text(markdown(results))
                say_progress(f"report written to {display(str(options.output))}")
        if options.keep or not ok:
            say_progress(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [label for label, _, passed in targets(results) if passed is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
