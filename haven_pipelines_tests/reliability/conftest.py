"""Reliability suite plumbing: the ``reliability_record`` fixture and the secrets-in-logs check.

``reliability_record(section, scenario, injected, behaviour, invariants, figures)`` adds one scenario
to the session's report (see :mod:`haven_pipelines_tests.reliability.report`). The RELIABILITY.md
check itself (written or compared after a whole, green run of this folder, also under pytest-xdist)
is :mod:`haven_pipelines_tests.reliability.plugin`, which the top-level conftest registers.
"""

from __future__ import annotations

import inspect
import logging

import pytest

from haven_pipelines_tests.reliability.plugin import collector
from haven_pipelines_tests.reliability.report import make_record


@pytest.fixture
def reliability_record(request):
    """Record one scenario in the reliability report (call once per scenario, after its assertions)."""
    records = collector(request.config)

    def record(section, scenario, injected, behaviour, invariants, figures):
        records.add(make_record(section, scenario, injected, behaviour, list(invariants), dict(figures)))

    return record


def _known_fake_secrets() -> dict[str, str]:
    """The keys and tokens the fakes accept by default: every scenario of this folder runs with them."""
    from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
    from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV
    from haven_pipelines_tests.fakes.shopify.server import DEFAULT_TOKEN

    dm_key = inspect.signature(FakeDynamicMockups.__init__).parameters["api_key"].default
    return {"Dynamic Mockups API key": dm_key, "Shopify token": DEFAULT_TOKEN,
            "AWS secret key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"], "AWS session token": FAKE_AWS_ENV["AWS_SESSION_TOKEN"]}


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog):
    """Every scenario here: the fakes' known keys and tokens never reach a log record (INFO and up)."""
    caplog.set_level(logging.INFO)
    yield
    secrets = _known_fake_secrets()
    records = caplog.get_records("setup") + caplog.get_records("call")
    leaks = sorted({f"{name} in a {record.name} record" for record in records
                    for name, value in secrets.items() if value in record.getMessage() or value in str(record.exc_text or "")})
    assert not leaks, f"secrets in logs: {leaks}"
