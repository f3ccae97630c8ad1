"""`make shell` driven in a real terminal (pexpect): staff type questions, read the answers."""

from __future__ import annotations

import os

import pexpect
import pytest

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.server


def test_make_shell_answers_questions(tmp_path):
    env = dict(
        os.environ,
        ACTIONS_PORT=str(free_port()),
        TRACKER_DB_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'spie.db'}",
        VENV=str(ROOT / ".venv"),
        COLUMNS="200",
    )
    shell = pexpect.spawn("make", ["shell"], cwd=ROOT, env=env, encoding="utf-8", timeout=240,
                          dimensions=(50, 200))
    shell.logfile_read = open(tmp_path / "shell.log", "w")  # noqa: SIM115 - closed with the process
    try:
        shell.expect("Your input ->")
        shell.sendline("c'est quoi le SPIE ?")
        shell.expect("parcours personnalisé", timeout=60)
        shell.expect("Your input ->")
        shell.sendline("c'est quand la date limite ?")
        shell.expect("11 octobre 2021", timeout=60)
        shell.expect("Your input ->")
        shell.sendline("/stop")
        shell.expect(pexpect.EOF, timeout=60)
    finally:
        shell.close(force=True)
        shell.logfile_read.close()
