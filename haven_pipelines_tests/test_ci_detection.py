"""CI detection in the shared fixtures: any usual spelling of ``CI`` makes the PostgreSQL tests mandatory."""

from __future__ import annotations

import pytest

from haven_pipelines_tests import conftest


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "YES", " yes "])
def test_ci_spellings_are_recognised(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert conftest.running_under_ci()


@pytest.mark.parametrize("value", ["", "false", "0", "no"])
def test_other_values_are_not_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert not conftest.running_under_ci()


def test_unset_is_not_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert not conftest.running_under_ci()


def test_under_ci_a_missing_server_fails_instead_of_skipping(monkeypatch):
    monkeypatch.setenv("CI", "1")
    monkeypatch.setitem(conftest._pg_state, "reason", "PostgreSQL not reachable (test)")
    # A skip must not escape as a skipped test: catch both and demand the failure.
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as outcome:
        conftest.require_postgres()
    assert outcome.type is pytest.fail.Exception
    assert "CI must run the PostgreSQL tests" in str(outcome.value)


def test_outside_ci_a_missing_server_skips(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setitem(conftest._pg_state, "reason", "PostgreSQL not reachable (test)")
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as outcome:
        conftest.require_postgres()
    assert outcome.type is pytest.skip.Exception
    assert "not reachable" in str(outcome.value)
