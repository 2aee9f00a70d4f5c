"""Fixtures of the local stack tests: fake credentials and a local AWS endpoint per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_aws.endpoint import LocalEndpoint


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never real AWS: fake keys, no profile, and no endpoint inherited from the shell.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def endpoint() -> Iterator[LocalEndpoint]:
    """One local endpoint for the session; each test uses its own names (moto's state is per process)."""
    with LocalEndpoint() as running:
        yield running
