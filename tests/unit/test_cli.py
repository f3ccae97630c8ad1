import pytest

from bot.cli import COMMAND_MODULES, build_parser, main


def test_every_command_group_is_registered():
    commands = build_parser()._subparsers._group_actions[0].choices  # argparse keeps them private
    assert {"db", "contacts", "privacy", "faq-sheet", "report", "nlu-gate", "web", "review"} <= set(
        commands
    )
    assert len(COMMAND_MODULES) == 8


def test_unknown_command_fails_clearly(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["nonexistent"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
