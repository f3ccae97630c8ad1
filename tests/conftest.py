"""Shared fixtures: one real assistant (Rasa + action server) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import Assistant

# The only page origin the test server's socket.io channel accepts (ALLOWED_ORIGINS).
ALLOWED_TEST_ORIGIN = "https://site.example"


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The trained model served over REST on free ports; started once, shared by all tests."""
    running = Assistant(
        tmp_path_factory.mktemp("assistant"), env_overrides={"ALLOWED_ORIGINS": ALLOWED_TEST_ORIGIN}
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def rasa_server(assistant: Assistant) -> Assistant:
    """Alias used by the browser tests: `.url` is the Rasa base URL."""
    return assistant


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The blind evaluation's table per category, when it ran."""
    from tests.live.test_live_eval import REPORT

    for table in REPORT:
        terminalreporter.write_sep("=", "blind evaluation (tests/eval/)")
        terminalreporter.write_line(table)


# The folder says what a test needs (see tests/*/__init__.py): its marker follows, so that
# `-m "not server and not browser and not cluster"` and `make check` select by need.
FOLDER_MARKERS = {"live": "server", "browser": "browser", "cluster": "cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(item.config.rootpath).parts
        marker = FOLDER_MARKERS.get(parts[1]) if len(parts) > 2 and parts[0] == "tests" else None
        if marker:
            item.add_marker(marker)
