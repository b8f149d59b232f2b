"""Suite-wide settings: integration tests are marked by folder and may be made mandatory.

``make test`` passes ``--require-integration``: the run then fails if no integration test ran
or if any was skipped, so the suite can never go green by silently skipping the clusters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INTEGRATION_DIR = Path(__file__).parent / "integration"
_tally = {"ran": 0, "skipped": 0}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-integration",
        action="store_true",
        help="fail the run unless integration tests ran and none was skipped",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "integration" not in report.keywords:
        return
    if report.skipped:
        _tally["skipped"] += 1
    elif report.when == "call":
        _tally["ran"] += 1


def _integration_incomplete(config: pytest.Config) -> bool:
    required = bool(config.getoption("--require-integration"))
    return required and (_tally["ran"] == 0 or _tally["skipped"] > 0)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _integration_incomplete(session.config) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(
        f"integration tests run: {_tally['ran']}, skipped: {_tally['skipped']}"
    )
    if _integration_incomplete(terminalreporter.config):
        terminalreporter.write_line(
            "FAILED: --require-integration demands that every integration test runs against "
            "real clusters",
            red=True,
        )
