"""`make run` as a user starts it: answers over REST, serves the demo pages, allows only the
configured origins (CORS), keeps Rasa's HTTP API off, and Ctrl-C or closing its terminal
(SIGHUP) stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from scripts.supervisor import ROOT, free_port, post_json, wait_until_up
from tests.servers import texts
from tests.terminal import command_lines, process_tree, terminal_window, wait_all_gone

pytestmark = pytest.mark.server

ALLOWED = "https://www.allier.fr"


def preflight(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(
        url,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(response.headers)
    except urllib.error.HTTPError as error:
        return dict(error.headers)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_make_run_serves_then_stops_cleanly(tmp_path):
    rasa_port, web_port = free_port(), free_port()
    env = dict(
        os.environ,
        RASA_PORT=str(rasa_port),
        ACTIONS_PORT=str(free_port()),
        WEB_PORT=str(web_port),
        ALLOWED_ORIGINS=ALLOWED,
        TRACKER_DB_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'spie.db'}",
        VENV=str(ROOT / ".venv"),
    )
    env.pop("RASA_API_TOKEN", None)
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{rasa_port}"
    try:
        wait_until_up(f"{base}/webhooks/rest/", 600, run)
        status, replies = post_json(
            f"{base}/webhooks/rest/webhook",
            {"sender": "make-run", "message": "Qui peut candidater ?"},
        )
        assert status == 200 and "conseil départemental" in texts(replies)

        webhook = f"{base}/webhooks/rest/webhook"
        assert preflight(webhook, ALLOWED).get("Access-Control-Allow-Origin") == ALLOWED
        assert "Access-Control-Allow-Origin" not in preflight(webhook, "https://evil.example")
        assert status_of(f"{base}/status") in (403, 404)  # HTTP API off without RASA_API_TOKEN

        wait_until_up(f"http://127.0.0.1:{web_port}/departement.html", 30, run)
        assert status_of(f"http://127.0.0.1:{web_port}/dreets.html") == 200
    finally:
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            run.wait(timeout=60)
        finally:
            log.close()
    time.sleep(1)
    leftovers = subprocess.run(["pgrep", "-g", str(run.pid)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes left running after Ctrl-C"


def test_make_run_stops_everything_when_its_terminal_is_closed(tmp_path):
    """The window where `make run` runs is closed (tmux kill-server: SIGHUP to the terminal's
    session leader, `make` here, and to it only): no server it started is left."""
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    env = {
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "WEB_PORT": str(web_port),
        "TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'spie.db'}",
        "VENV": str(ROOT / ".venv"),
    }
    with terminal_window(tmp_path) as window:
        window.start(["make", "run"], env, ROOT, (100, 30))
        window.wait_for("L'assistant est prêt", 600)
        status, replies = post_json(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            {"sender": "make-run-hup", "message": "Qui peut candidater ?"},
        )
        assert status == 200 and "conseil départemental" in texts(replies)

        started = process_tree(window.pane_pid())
        window.started.update(started)
        commands = command_lines(started)
        for server in ("rasa_ext.launch run --model", "rasa run actions", "bot.cli web serve"):
            assert any(server in line for line in commands), (server, commands)
        window.kill_server()
        seconds = wait_all_gone(started, [rasa_port, actions_port, web_port], timeout=15)
        print(f"everything stopped {seconds:.1f} s after the terminal was closed")
