"""Fixtures of the controller's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.samlocal import docker_guard, moto_bridge_endpoint, moto_bridge_server, sam_local  # noqa: F401
from tests.warmkeeper.helpers import ENVIRONMENT
from warmkeeper.adapters.aws import default_clients
from warmkeeper.models.settings import get_settings


@pytest.fixture
def controller_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment the template gives the controller, with the lazily loaded caches reset."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "warmkeeper")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Warmkeeper")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    get_settings.cache_clear()
    default_clients.cache_clear()
    yield dict(ENVIRONMENT)
    get_settings.cache_clear()
    default_clients.cache_clear()
