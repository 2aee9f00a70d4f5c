"""Fixtures of the local stack tests: a local AWS endpoint per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_aws.endpoint import LocalEndpoint


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    """One local endpoint per test module; each test uses its own names (moto's state is per process).

    Per module, not per session: the bridges stay installed only while an endpoint runs, so other tests
    in the same worker see moto as it is. (Fake credentials come from tests/conftest.py.)"""
    with LocalEndpoint() as running:
        yield running
