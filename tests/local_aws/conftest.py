"""Fixtures of the local stack tests: a local AWS endpoint per module, and the local stack on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from local_aws.scenario import LOCAL_OVERRIDES
from local_aws.stack import TEMPLATE

ROOT = TEMPLATE.parent


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    """One local endpoint per test module; each test uses its own names (moto's state is per process).

    Per module, not per session: the bridges stay installed only while an endpoint runs, so other tests
    in the same worker see moto as it is. (Fake credentials come from tests/conftest.py.)"""
    with LocalEndpoint() as running:
        yield running


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # moto warns about each resource type it skips (the stack reports those that matter itself), and
    # Powertools about invocations that recorded no metric; in module fixtures too, hence marks, not a fixture.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::UserWarning:moto.cloudformation.parsing"))
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


def local_aws(endpoint: LocalEndpoint, template: Path = TEMPLATE, **overrides: str) -> LocalAws:
    """The local stack of ``template`` on a freshly reset ``endpoint``, with a clock that never sleeps."""
    endpoint.reset()
    return LocalAws(
        template_path=template,
        overrides={**LOCAL_OVERRIDES, **overrides},
        clock=Clock(speed=0),
        endpoint=endpoint,
    )


def template_copy(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """template.yaml copied into ``tmp_path`` (code folders linked), each ``(old, new)`` edit applied once."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} must appear once in template.yaml to be edited"
        text = text.replace(old, new)
    (tmp_path / "src").symlink_to(ROOT / "src", target_is_directory=True)
    copy = tmp_path / "template.yaml"
    copy.write_text(text, encoding="utf-8")
    return copy
