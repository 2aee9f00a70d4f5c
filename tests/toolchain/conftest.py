"""Fixtures of the toolchain tests: Docker, the built SAM project and a moto server the containers reach."""

from tests.samlocal import (  # noqa: F401 - fixtures, registered by being imported here
    docker_guard,
    moto_bridge_endpoint,
    moto_bridge_server,
    sam_local,
)
