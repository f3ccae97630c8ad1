"""Start and stop real Rasa and action servers for tests and benchmarks."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "current.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload or b"null")
        except ValueError:
            return error.code, payload.decode(errors="replace")


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str
    startup_timeout: float
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(self.health_url, self.startup_timeout, self.popen)
        except Exception as error:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            self.stop()
            raise RuntimeError(
                f"{self.name} did not start: {error}\n--- log ---\n{tail}"
            ) from error

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.popen = None


@dataclass
class Assistant:
    """An action server and a Rasa server (REST + socket.io) on free loopback ports."""

    workdir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    cors: str = "*"
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    model: Path = MODEL  # `bot review` evaluates a candidate model from a temporary directory

    def __post_init__(self) -> None:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            ACTIONS_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
            TRACKER_DB_URL=f"sqlite:///{self.workdir / 'tracker.db'}",
            DATABASE_URL=f"sqlite:///{self.workdir / 'spie.db'}",
        )
        env.update(self.env_overrides)
        self.env = env
        rasa = str(VENV_BIN / "rasa")
        self.actions = Process(
            "action server",
            [rasa, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)],
            env,
            self.workdir / "actions.log",
            f"http://127.0.0.1:{self.actions_port}/health",
            120,
        )
        self.rasa = Process(
            "rasa server",
            [
                rasa,
                "run",
                "--model",
                str(self.model),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
                "--cors",
                self.cors,
            ],
            env,
            self.workdir / "rasa.log",
            f"{self.url}/webhooks/rest/",
            600,  # ≈35 s on an idle machine; much more while other trainings run
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def build_database(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "build"],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> Assistant:
        if not self.model.exists():
            raise RuntimeError(f"{self.model} is missing: run `make model` first")
        self.build_database()
        self.actions.start()
        try:
            self.rasa.start()
        except Exception:
            self.actions.stop()
            raise
        return self

    def stop(self) -> None:
        self.rasa.stop()
        self.actions.stop()

    def user_turns(self, sender: str) -> int:
        """How many user messages the conversation's tracker holds (turns really played)."""
        with sqlite3.connect(self.workdir / "tracker.db") as tracker:
            (count,) = tracker.execute(
                "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
            ).fetchone()
        return count

    def say(self, sender: str, text: str, timeout: float = 30) -> list[dict[str, Any]]:
        status, replies = post_json(self.webhook, {"sender": sender, "message": text}, timeout)
        if status != 200:
            raise AssertionError(f"HTTP {status}: {replies}")
        return replies


def texts(replies: list[dict[str, Any]]) -> str:
    """All reply texts of a turn, joined (for assertions)."""
    return "\n".join(reply.get("text", "") for reply in replies)


def button_titles(replies: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for reply in replies for b in reply.get("buttons", [])]
