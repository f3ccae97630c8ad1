"""What staff see in a real terminal: a tmux session's screen, the processes it runs, and the
answers of domain.yml as the assistant says them (placeholders filled)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot import PROJECT_DIR
from bot.knowledge.facts import fill_facts
from scripts.supervisor import port_is_free


def domain_answer(response: str) -> tuple[str, list[str]]:
    """The text of `response` (e.g. "utter_faq/who_can_apply") as the action says it (its {facts}
    filled, see actions/answers.utter_faq), and its buttons' titles."""
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    variation = domain["responses"][response][0]
    return fill_facts(variation["text"]), [button["title"] for button in variation["buttons"]]


def words(text: str) -> str:
    """`text` with its whitespace normalised: a wrapped answer compares with the original."""
    return " ".join(text.split())


@dataclass
class Tmux:
    """A detached tmux session running one command, on its own tmux server (socket), so that
    killing it closes the terminal of that command only (SIGHUP, as when a window is closed)."""

    socket: Path
    session: str = "staff"
    started: set[int] = field(default_factory=set)  # what it ran: killed at teardown

    def tmux(self, *args: str) -> str:
        command = ["tmux", "-S", str(self.socket), *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def start(self, command: list[str], env: dict[str, str], cwd: Path, size: tuple[int, int]):
        columns, lines = size
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        # `exec env …`: the command itself runs in the pane, as when typed in a terminal's window.
        line = f"cd {shlex.quote(str(cwd))} && exec env {exports} {shlex.join(command)}"
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(columns), "-y", str(lines), line
        )
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")

    def resize(self, columns: int, lines: int) -> None:
        self.tmux("resize-window", "-t", self.session, "-x", str(columns), "-y", str(lines))

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type_line(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)
        self.send("Enter")

    def screen(self) -> str:
        """The visible screen, line by line, as staff read it."""
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def screen_and_history(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", self.session)

    def wait_for(self, pattern: str, timeout: float) -> str:
        """The screen once `pattern` (a regular expression) shows on it."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(0.3)

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def kill_server(self) -> None:
        """Closes the terminal: the pane's pty goes away, its session leader gets SIGHUP."""
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants now running."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (zombies, already dead, excluded)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            running.add(pid)
    return running


def wait_all_gone(pids: set[int], ports: list[int], timeout: float) -> float:
    """Seconds until none of `pids` runs and every port is free; fails after `timeout`."""
    start = time.monotonic()
    while alive(pids) or not all(port_is_free(port) for port in ports):
        if time.monotonic() - start > timeout:
            left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in alive(pids)}
            busy = [port for port in ports if not port_is_free(port)]
            raise AssertionError(f"still running after {timeout} s: {left}, ports taken: {busy}")
        time.sleep(0.2)
    return time.monotonic() - start


def kill_all(pids: set[int]) -> None:
    """Test teardown: nothing a failed test started stays behind."""
    for pid in alive(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def command_lines(pids: set[int]) -> list[str]:
    lines = []
    for pid in alive(pids):
        with contextlib.suppress(FileNotFoundError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines


@contextlib.contextmanager
def terminal_window(tmp_path: Path) -> Iterator[Tmux]:
    """A terminal window (tmux) for one test; whatever it ran is killed when the test ends."""
    window = Tmux(tmp_path / "tmux.sock")
    try:
        yield window
    finally:
        window.kill_server()
        kill_all(window.started)
