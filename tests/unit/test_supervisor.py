"""scripts/supervisor.py with tiny Python children (an HTTP server, a sleeper): health wait, death
detection with the log's tail, stop order, SIGKILL after the grace, and the foreground mode's
signals (what `make run` and `make shell` rely on). No model, no server: a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from scripts.supervisor import (
    MODEL,
    ROOT,
    Assistant,
    Process,
    Supervisor,
    free_port,
    process_tree,
    wait_until_up,
)

# Serves the current directory; on SIGTERM writes its name to the journal, then leaves.
HTTP_CHILD = """
import http.server, signal, sys
name, port, journal = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def on_term(*_):
    with open(journal, "a") as out:
        out.write(name + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print(f"{name} prêt", flush=True)
http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
STUBBORN_CHILD = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("je reste", flush=True)
time.sleep(600)
"""


def http_child(tmp_path: Path, name: str, port: int | None = None) -> Process:
    port = port or free_port()
    args = [sys.executable, "-c", HTTP_CHILD, name, str(port), str(tmp_path / "journal")]
    return Process(
        name, args, dict(os.environ), tmp_path / f"{name}.log", f"http://127.0.0.1:{port}/", 20
    )


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def test_start_waits_for_the_health_url_then_stop_frees_the_port(tmp_path: Path):
    port = free_port()
    process = http_child(tmp_path, "web", port).start()
    assert process.running
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        assert answer.status == 200
    assert "web prêt" in (tmp_path / "web.log").read_text()
    process.stop()
    assert process.popen is None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_process_dying_before_its_health_url_fails_at_once_with_its_log(tmp_path: Path):
    dying = Process(
        "dying server",
        [sys.executable, "-c", "print('port déjà utilisé'); raise SystemExit(3)"],
        dict(os.environ),
        tmp_path / "dying.log",
        f"http://127.0.0.1:{free_port()}/",
        60,
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError) as failure:
        dying.start()
    assert time.monotonic() - started < 10, "a dead process must not be waited on for 60 s"
    message = str(failure.value)
    assert "dying server did not start" in message and "exited with 3" in message
    assert "--- log ---" in message and "port déjà utilisé" in message


def test_a_health_url_that_never_answers_times_out(tmp_path: Path):
    with pytest.raises(TimeoutError, match="did not answer within 1 s"):
        wait_until_up(f"http://127.0.0.1:{free_port()}/", 1)


def test_stop_all_stops_the_last_started_first(tmp_path: Path):
    supervisor = Supervisor()
    for name in ("actions", "rasa", "nginx"):
        supervisor.start(http_child(tmp_path, name))
    supervisor.stop_all()
    assert (tmp_path / "journal").read_text().split() == ["nginx", "rasa", "actions"]
    assert all(process.popen is None for process in supervisor.processes)


def test_a_process_ignoring_sigterm_gets_sigkill_after_the_grace(tmp_path: Path):
    stubborn = Process(
        "stubborn",
        [sys.executable, "-c", STUBBORN_CHILD],
        dict(os.environ),
        tmp_path / "stubborn.log",
        None,
        0,
        grace=1,
    ).spawn()
    popen = stubborn.popen
    assert popen is not None
    deadline = time.monotonic() + 10
    while "je reste" not in (tmp_path / "stubborn.log").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    started = time.monotonic()
    stubborn.stop()
    assert 0.9 <= time.monotonic() - started < 5
    assert popen.returncode == -signal.SIGKILL


def test_stop_reaches_the_grandchildren(tmp_path: Path):
    parent = Process(
        "parent",
        [sys.executable, "-c", "import subprocess, sys, time; "
         "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"],
        dict(os.environ),
        tmp_path / "parent.log",
        None,
        0,
        grace=2,
    ).spawn()  # fmt: skip
    assert parent.popen is not None
    deadline = time.monotonic() + 10
    while len(process_tree([parent.popen.pid])) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    tree = process_tree([parent.popen.pid])
    parent.stop()
    time.sleep(0.3)
    assert all(gone(pid) for pid in tree)


# A foreground run like `make run`'s: two HTTP children, then wait for either to end.
FOREGROUND = """
import sys
from pathlib import Path
from scripts.supervisor import Process, run_in_foreground, wait_any
import os

work = Path(sys.argv[1])
child = sys.argv[2]

def start(supervisor):
    for name in ("actions", "rasa"):
        port = int((work / f"{name}.port").read_text())
        supervisor.start(Process(name, [sys.executable, "-c", child, name, str(port),
                                        str(work / "journal")],
                                 dict(os.environ), work / f"{name}.log",
                                 f"http://127.0.0.1:{port}/", 20))
    print("prêt", flush=True)
    return wait_any(supervisor)

sys.exit(run_in_foreground(start))
"""


def start_foreground(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    ports = []
    for name in ("actions", "rasa"):
        ports.append(free_port())
        (tmp_path / f"{name}.port").write_text(str(ports[-1]))
    run = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(FOREGROUND), str(tmp_path), HTTP_CHILD],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # no terminal: no watcher, the signals come from the test
    )
    assert run.stdout is not None
    assert run.stdout.readline().strip() == "prêt"
    for port in ports:
        wait_until_up(f"http://127.0.0.1:{port}/", 5)
    return run, ports


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGHUP, 129), (signal.SIGINT, 130),
                                           (signal.SIGTERM, 130)])  # fmt: skip
def test_the_foreground_run_stops_every_child_on_a_signal(tmp_path: Path, sig: int, code: int):
    run, ports = start_foreground(tmp_path)
    children = process_tree([run.pid])[1:]
    assert len(children) == 2
    started = time.monotonic()
    run.send_signal(sig)
    assert run.wait(timeout=15) == code
    assert time.monotonic() - started < 5
    assert all(gone(pid) for pid in children)
    assert (tmp_path / "journal").read_text().split() == ["rasa", "actions"]  # reverse order


def test_the_foreground_run_ends_when_a_child_ends(tmp_path: Path):
    run, _ = start_foreground(tmp_path)
    children = process_tree([run.pid])[1:]
    named = {Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[3].decode(): pid
             for pid in children}  # fmt: skip
    os.kill(named["actions"], signal.SIGKILL)  # a crash
    assert run.wait(timeout=15) == 128 + signal.SIGKILL  # the child's status, as `wait -n` gives
    time.sleep(0.3)
    assert gone(named["rasa"])


def test_the_assistant_serves_the_model_it_is_given(tmp_path: Path):
    """`tests.eval.evaluate --model` and the benchmark serve a candidate model, not models/."""
    candidate = tmp_path / "candidate.tar.gz"
    served = Assistant(tmp_path, model=candidate).rasa.args
    assert served[served.index("--model") + 1] == str(candidate)
    default = Assistant(tmp_path).rasa.args
    assert default[default.index("--model") + 1] == str(MODEL)
