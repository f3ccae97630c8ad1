"""The one process supervisor: `make run`, `make shell`, the tests, the cluster and the benchmark.

- `Process`: one named command with its environment, working directory and log file, started in
  its own process group; `start()` waits for its health URL and fails at once, with the log's
  tail, when the process dies first; `stop()` sends SIGTERM to its whole tree, SIGKILL after a
  grace period.
- `Supervisor`: the processes started together, stopped in reverse order.
- `Assistant`: an action server and a Rasa server on free loopback ports (tests, benchmark,
  sample report).
- `python -m scripts.supervisor run|shell`: `make run` / `make shell` in the foreground (after
  scripts/run.sh prepared the venv, the model and the database). Ctrl-C and SIGTERM stop every
  child (SIGKILL after 10 s); SIGHUP, or the terminal disappearing, after 2 s.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.config import actions_url, allowed_origins, rasa_public_url, settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "current.tar.gz"
# rasa shell, at its prompt, takes 10 s to stop on SIGTERM (measured); a child may also be busy
# loading the model. After a hang-up nobody is left to see a graceful stop: free memory and ports.
GRACE_SECONDS = 10.0
HANGUP_GRACE_SECONDS = 2.0
LOG_TAIL_CHARS = 3000


# --- ports and health ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on, on loopback (the system's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` on loopback now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ProcessDied(RuntimeError):
    """The process ended before its health URL answered."""


def wait_until_up(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Returns once `url` answers with a success; fails when `process` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ProcessDied(f"process exited with {process.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # HTTP errors included
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s")


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    """POSTs `body` (JSON, or bytes as is); returns the status and the decoded answer."""
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


# --- process trees -------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """pid → parent pid, for every process (from /proc)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            table[int(entry)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return table


def process_tree(roots: list[int]) -> list[int]:
    """The given pids and all their descendants (a child's own children must stop too)."""
    parents = _parents()
    found = [pid for pid in roots if pid in parents]
    for pid in found:  # grows while it is read: breadth first
        found.extend(child for child, parent in parents.items() if parent == pid)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"  # a zombie is gone, only its exit status is left


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def terminate(roots: list[int], grace: float) -> None:
    """SIGTERM to the processes and their descendants, SIGKILL to those left after `grace` s."""
    pids = process_tree(roots)
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    _signal_all(process_tree(pids), signal.SIGKILL)


# --- one process ---------------------------------------------------------------------------------


@dataclass
class Process:
    """A named command; `log_path` None: its output goes to the supervisor's own (the terminal)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path | None
    health_url: str | None
    startup_timeout: float
    cwd: Path = ROOT
    grace: float = 20.0
    # Its own process group, out of reach of the terminal's Ctrl-C: the supervisor stops it.
    # rasa shell stays in the terminal's foreground group: it reads the keyboard.
    own_group: bool = True
    popen: subprocess.Popen | None = None

    def spawn(self) -> Process:
        """Starts the command without waiting for its health URL."""
        log: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT if log else None,
                start_new_session=self.own_group,
            )
        finally:
            if log is not None:
                log.close()  # the child has its own copy
        return self

    def wait_healthy(self) -> None:
        """Waits for the health URL; on failure stops the process and says why, log tail included."""
        assert self.popen is not None
        if self.health_url is None:
            return
        try:
            wait_until_up(self.health_url, self.startup_timeout, self.popen)
        except (ProcessDied, TimeoutError) as error:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {error}{self.log_tail()}") from error

    def start(self) -> Process:
        self.spawn()
        try:
            self.wait_healthy()
        except BaseException:  # Ctrl-C while waiting: leave nothing behind
            self.stop()
            raise
        return self

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        return f"\n--- log ---\n{tail}"

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends `sig` to the process group at once (a crash, for the tests) and reaps it."""
        assert self.popen is not None
        os.killpg(self.popen.pid, sig)
        self.popen.wait(timeout=60)

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM to the process and its descendants, SIGKILL to those left after the grace."""
        if self.popen is None:
            return
        roots = [self.popen.pid]
        if self.own_group:  # grandchildren whose parent already left are still in the group
            roots += group_members(self.popen.pid)
        terminate(roots, self.grace if grace is None else grace)
        self.popen.wait()
        self.popen = None


def group_members(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    members = []
    for pid in _parents():
        try:
            if os.getpgid(pid) == pgid:
                members.append(pid)
        except ProcessLookupError:
            pass
    return members


# --- several processes ---------------------------------------------------------------------------


@dataclass
class Supervisor:
    """Processes started one after the other and stopped in reverse order."""

    processes: list[Process] = field(default_factory=list)

    def start(self, process: Process) -> Process:
        self.processes.append(process)
        return process.start()

    def spawn(self, process: Process) -> Process:
        self.processes.append(process)
        return process.spawn()

    def stop_all(self, grace: float = GRACE_SECONDS) -> None:
        """Stops the last started first (Rasa before the action server it calls), all within one
        grace period: what is still there when it ends gets SIGKILL."""
        deadline = time.monotonic() + grace
        for process in reversed(self.processes):
            process.stop(max(0.0, deadline - time.monotonic()))

    def exited(self) -> Iterator[Process]:
        return (p for p in self.processes if p.popen is not None and p.popen.poll() is not None)


def base_env(**overrides: str) -> dict[str, str]:
    """The caller's environment, with the project importable and Rasa's telemetry and TF noise off."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    env.update(overrides)
    return env


# --- the assistant's commands --------------------------------------------------------------------


def action_server_command(port: int) -> list[str]:
    return [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_server_command(
    model: Path,
    port: int,
    cors: list[str],
    interface: str = "127.0.0.1",
    endpoints: str = "endpoints.yml",
    credentials: str = "credentials.yml",
    launcher: bool = True,
) -> list[str]:
    """`rasa run` serving the channels of credentials.yml. Through rasa_ext.launch (`launcher`),
    the HTTP API is on when RASA_API_TOKEN is set, the token read from the environment: never on
    this command line, visible in ps."""
    program = (
        [str(VENV_BIN / "python"), "-m", "rasa_ext.launch"]
        if launcher
        else [str(VENV_BIN / "rasa")]
    )
    return [
        *program,
        "run",
        "--model",
        str(model),
        "--interface",
        interface,
        "--port",
        str(port),
        "--credentials",
        credentials,
        "--endpoints",
        endpoints,
        "--cors",
        *cors,
    ]


def action_server(port: int, env: dict[str, str], log_path: Path | None) -> Process:
    return Process(
        "action server",
        action_server_command(port),
        env,
        log_path,
        f"http://127.0.0.1:{port}/health",
        120,
    )


@dataclass
class Assistant:
    """An action server and a Rasa server (REST + socket.io) on free loopback ports."""

    workdir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    cors: str = "*"
    model: Path = MODEL  # another trained model: the evaluation of a candidate, the benchmark
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.env = base_env(
            ACTIONS_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
            TRACKER_DB_URL=f"sqlite:///{self.workdir / 'tracker.db'}",
            DATABASE_URL=f"sqlite:///{self.workdir / 'spie.db'}",
            **self.env_overrides,
        )
        self.actions = action_server(self.actions_port, self.env, self.workdir / "actions.log")
        self.rasa = Process(
            "rasa server",
            rasa_server_command(self.model, self.rasa_port, [self.cors], launcher=False),
            self.env,
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
        model = Path(self.rasa.args[self.rasa.args.index("--model") + 1])
        if not model.exists():
            raise RuntimeError(f"{model} is missing: run `make model` first")
        self.build_database()
        try:  # both load at once; the Rasa server does not call the actions before a message
            self.actions.spawn()
            self.rasa.spawn()
            self.actions.wait_healthy()
            self.rasa.wait_healthy()
        except BaseException:  # a failed start or a signal: leave no server behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.rasa.stop()
        self.actions.stop()

    def say(self, sender: str, text: str, timeout: float = 30) -> list[dict[str, Any]]:
        status, replies = post_json(self.webhook, {"sender": sender, "message": text}, timeout)
        if status != 200:
            raise AssertionError(f"HTTP {status}: {replies}")
        return replies


# --- make run / make shell in the foreground -----------------------------------------------------


class Stop(Exception):
    """A signal asked the foreground run to stop everything and leave with `code`."""

    def __init__(self, code: int, grace: float) -> None:
        super().__init__(code)
        self.code, self.grace = code, grace


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", file=sys.stderr, flush=True)


def error(message: str) -> None:
    print(f"\033[31mErreur : {message}\033[0m", file=sys.stderr, flush=True)


def terminal_present() -> bool:
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


def watch_terminal(period: float = 1.0) -> None:
    """Closing the terminal sends SIGHUP to its session leader only; when that is make itself or
    `sh -c` (a tmux pane, an IDE's task), this process gets no signal at all. So watch the
    terminal: once /dev/tty can no longer be opened, act as on SIGHUP."""

    def watch() -> None:
        while terminal_present():
            time.sleep(period)
        os.kill(os.getpid(), signal.SIGHUP)

    if terminal_present():
        threading.Thread(target=watch, name="terminal-watcher", daemon=True).start()


def install_stop_signals() -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        if signum == signal.SIGHUP:
            raise Stop(129, HANGUP_GRACE_SECONDS)
        raise Stop(130, GRACE_SECONDS)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)


def ignore_stop_signals() -> None:
    """While stopping: a second signal (Ctrl-C again, the terminal's SIGHUP) must not cut it short."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def wait_healthy(process: Process, label: str) -> None:
    assert process.popen is not None and process.health_url is not None
    try:
        wait_until_up(process.health_url, process.startup_timeout, process.popen)
    except ProcessDied:
        raise Failure(
            f"{label} s'est arrêté (code {process.popen.returncode}) avant de répondre sur "
            f"{process.health_url} : voir ses messages ci-dessus."
        ) from None
    except TimeoutError:
        raise Failure(
            f"{label} ne répond pas sur {process.health_url} après {process.startup_timeout:g} s"
        ) from None


class Failure(Exception):
    """A server did not start (message in French, shown as is)."""


def foreground(mode: str, supervisor: Supervisor) -> int:
    """Starts what `make run` (mode "run") or `make shell` (mode "shell") runs, in the terminal;
    returns the code to exit with once a child ends."""
    config = settings()
    env = base_env(ACTIONS_URL=actions_url(config))
    say(f"Serveur d'actions sur le port {config.actions_port}")
    actions = supervisor.spawn(action_server(config.actions_port, env, None))
    if mode == "shell":
        wait_healthy(actions, "Le serveur d'actions")  # before the first question can be typed
        return run_shell(supervisor, config.rasa_port, env)
    return run_servers(supervisor, env, actions)


def python_module(module: str, *args: str) -> list[str]:
    return [str(VENV_BIN / "python"), "-m", module, *args]


def run_shell(supervisor: Supervisor, rasa_port: int, env: dict[str, str]) -> int:
    say("rasa shell (tapez /stop pour quitter)")
    # rasa shell, every answer shown whole (rasa_ext/shell.py). In the terminal's process group:
    # it reads the keyboard; the supervisor's signal handlers still run at once.
    command = python_module(
        "rasa_ext.shell", "--model", str(MODEL), "--endpoints", "endpoints.yml",
        "--port", str(rasa_port),
    )  # fmt: skip
    shell = supervisor.spawn(Process("rasa shell", command, env, None, None, 0, own_group=False))
    assert shell.popen is not None
    shell.popen.wait()
    return 0


def run_servers(supervisor: Supervisor, env: dict[str, str], actions: Process) -> int:
    """The demo pages and the Rasa server, started while the action server starts (Rasa does not
    call it before a first message): the cold start is the slower of the two, not their sum."""
    config = settings()
    public_url = rasa_public_url(config)
    web = python_module(
        "bot.cli", "web", "serve", "--host", config.web_host, "--port", str(config.web_port),
        "--rasa-url", public_url,
    )  # fmt: skip
    supervisor.spawn(Process("demo pages", web, env, None, None, 0))
    say(f"Serveur Rasa sur {public_url} (démarrage ≈ 20 s)")
    rasa = rasa_server_command(
        MODEL, config.rasa_port, allowed_origins(config), interface=config.rasa_host
    )
    health = f"http://127.0.0.1:{config.rasa_port}/webhooks/rest/"
    server = supervisor.spawn(Process("rasa server", rasa, env, None, health, 300))
    wait_healthy(actions, "Le serveur d'actions")
    wait_healthy(server, "Le serveur Rasa")
    print(ready_message(public_url, config.web_port), flush=True)
    return wait_any(supervisor)


def wait_any(supervisor: Supervisor) -> int:
    """Waits until one of the processes ends; returns its exit status as a shell gives it
    (128 + the signal's number when a signal ended it)."""
    while True:
        for process in supervisor.exited():
            assert process.popen is not None
            code = process.popen.returncode
            return 128 - code if code < 0 else code
        time.sleep(0.5)


def ready_message(public_url: str, web_port: int) -> str:
    return f"""
  L'assistant est prêt.
  - API REST :  POST {public_url}/webhooks/rest/webhook  {{"sender": "moi", "message": "Qui peut candidater ?"}}
  - socket.io : {public_url}/socket.io/
  - Pages de démonstration (widget) :
      http://127.0.0.1:{web_port}/departement.html
      http://127.0.0.1:{web_port}/dreets.html
  Ctrl-C arrête tout.
"""  # noqa: E501


def run_in_foreground(start: Callable[[Supervisor], int]) -> int:
    """Runs `start` (which starts processes and waits), then stops every process it started:
    Ctrl-C and SIGTERM give them GRACE_SECONDS, SIGHUP or the terminal gone HANGUP_GRACE_SECONDS.
    Returns the exit code: start's, 130 after Ctrl-C or SIGTERM, 129 after a hang-up, 1 when a
    server did not start."""
    supervisor = Supervisor()
    grace, code = GRACE_SECONDS, 0
    install_stop_signals()
    try:
        watch_terminal()
        code = start(supervisor)
    except Stop as stop:  # even while a server is starting: stop everything, do not wait on
        grace, code = stop.grace, stop.code
    except Failure as failure:
        error(str(failure))
        code = 1
    finally:
        ignore_stop_signals()
        supervisor.stop_all(grace)
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    mode = args[0] if args else "run"
    if mode not in ("run", "shell"):
        error(f"mode inconnu « {mode} » (run ou shell)")
        return 2
    return run_in_foreground(lambda supervisor: foreground(mode, supervisor))


if __name__ == "__main__":
    sys.exit(main())
