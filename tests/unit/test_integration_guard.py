"""``--require-integration`` makes a run fail when the integration suite did not really run."""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE_CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text()


def _suite(pytester: pytest.Pytester, integration_body: str) -> None:
    pytester.makeconftest(SUITE_CONFTEST)
    pytester.mkdir("integration")
    (pytester.path / "integration" / "test_cluster.py").write_text(integration_body)
    (pytester.path / "test_unit.py").write_text("def test_pure():\n    assert True\n")


def test_skipped_integration_test_fails_the_run(pytester: pytest.Pytester) -> None:
    _suite(pytester, "import pytest\n\ndef test_real():\n    pytest.skip('no cluster')\n")
    result = pytester.runpytest("--require-integration")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*integration tests run: 0, skipped: 1*"])


def test_run_without_integration_tests_fails(pytester: pytest.Pytester) -> None:
    _suite(pytester, "")
    result = pytester.runpytest("--require-integration")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_run_with_every_integration_test_passing_succeeds(pytester: pytest.Pytester) -> None:
    _suite(pytester, "def test_real():\n    assert True\n")
    result = pytester.runpytest("--require-integration")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*integration tests run: 1, skipped: 0*"])


def test_without_the_flag_unit_only_runs_are_fine(pytester: pytest.Pytester) -> None:
    _suite(pytester, "import pytest\n\ndef test_real():\n    pytest.skip('no cluster')\n")
    assert pytester.runpytest().ret == pytest.ExitCode.OK
