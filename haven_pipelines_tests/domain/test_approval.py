"""Approval routing: autopilot (module override, else global mode) or skip-approval approves at once."""

from __future__ import annotations

import pytest

from haven_pipelines.domain.approval import OPERATOR_MODES, auto_approve, effective_mode


@pytest.mark.parametrize(
    ("global_mode", "overrides", "module", "mode"),
    [
        ("supervised", {}, "mockups", "supervised"),
        ("autopilot", {}, "mockups", "autopilot"),
        ("autopilot", {"mockups": "supervised"}, "mockups", "supervised"),
        ("supervised", {"mockups": "autopilot"}, "mockups", "autopilot"),
        ("assisted", {"products": "autopilot"}, "mockups", "assisted"),
        (None, None, "mockups", "supervised"),
        (None, {"mockups": "assisted"}, "mockups", "assisted"),
    ],
)
def test_effective_mode(global_mode, overrides, module, mode):
    assert effective_mode(global_mode, overrides, module) == mode


@pytest.mark.parametrize(
    ("global_mode", "overrides", "skip", "approved"),
    [
        ("supervised", {}, False, False),  # queued for a person
        ("assisted", {}, False, False),
        ("autopilot", {}, False, True),
        ("autopilot", {"mockups": "supervised"}, False, False),  # the module override wins
        ("supervised", {"mockups": "autopilot"}, False, True),
        ("supervised", {"products": "autopilot"}, False, False),  # another module's override is irrelevant
        ("supervised", {}, True, True),  # the request asked to skip approval
        ("autopilot", {"mockups": "supervised"}, True, True),
    ],
)
def test_mockup_routing(global_mode, overrides, skip, approved):
    assert auto_approve(global_mode, overrides, skip_approval=skip) is approved


def test_routing_for_another_module():
    assert auto_approve("supervised", {"products": "autopilot"}, module="products") is True
    assert auto_approve("autopilot", {"products": "assisted"}, module="products") is False


def test_modes():
    assert OPERATOR_MODES == ("supervised", "assisted", "autopilot")
