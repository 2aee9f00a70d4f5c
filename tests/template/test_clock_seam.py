"""A deploy can never move the functions' clock: template.yaml declares none of the clock seam's variables."""

from __future__ import annotations

from pathlib import Path

from tests.template.conftest import TEMPLATE, Template
from warmkeeper_shared import clock


def test_the_template_declares_no_clock_variable(raw: Template) -> None:
    text = Path(TEMPLATE).read_text()
    for name in (clock.NOW_VARIABLE, clock.LOCAL_MARKER):
        assert name not in text, f"{name} must stay out of template.yaml (local runs only)"
    declared = dict(raw["Globals"]["Function"]["Environment"]["Variables"])
    for resource in raw["Resources"].values():
        declared |= resource.get("Properties", {}).get("Environment", {}).get("Variables", {}) or {}
    assert clock.NOW_VARIABLE not in declared and clock.LOCAL_MARKER not in declared
