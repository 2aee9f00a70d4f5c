"""A local AWS endpoint: moto's threaded server on a loopback (or Docker bridge) address.

The server runs in this process, so the bridges of :mod:`local_aws.bridges` (registered on moto's models)
apply to the stacks it creates, and the scenario can read moto's state through the same API the
functions use. ``stop`` leaves no thread and no socket behind: moto's own ``stop`` leaves the listening
socket open and the keep-alive connections of boto3 clients parked in daemon threads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local_aws import bridges, samdeploy

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
# Fake credentials: the endpoint accepts anything and tests must never hold real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LOOPBACK = "127.0.0.1"
DOCKER_BRIDGE_GATEWAY = "172.17.0.1"

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60)


class EndpointError(RuntimeError):
    """The local endpoint could not start or stop."""


class _TrackingMotoServer(ThreadedMotoServer):
    """moto's threaded server that remembers its connections so that ``stop`` can close them."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as error:
            # start() reports it; without this it would wait forever for the ready event.
            self.startup_error = error
            self._server_ready_event.set()

    startup_error: BaseException | None = None

    def start(self) -> None:
        # werkzeug reports an address in use with sys.exit in the server thread: check it here first.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((self._ip_address, self._port))
            except OSError as error:
                raise EndpointError(
                    f"the local AWS endpoint could not listen on {self._ip_address}:{self._port}: {error}"
                ) from error
        super().start()
        server = self._server
        if server is None:
            self._thread.join()  # type: ignore[union-attr]
            raise EndpointError(f"the local AWS endpoint could not listen on {self._ip_address}:{self._port}")
        original = server.process_request_thread  # type: ignore[attr-defined]

        def tracked(request: socket.socket, client_address: Any) -> None:
            # Small answers on kept-alive connections otherwise wait for the peer's delayed ACK (~40 ms).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(request)
                self._handlers.add(threading.current_thread())
            try:
                original(request, client_address)
            finally:
                with self._lock:
                    self._connections.discard(request)
                    self._handlers.discard(threading.current_thread())

        server.process_request_thread = tracked  # type: ignore[attr-defined]

    def stop(self) -> None:
        super().stop()
        with self._lock:
            connections = list(self._connections)
            handlers = list(self._handlers)
        for connection in connections:
            # Wakes handler threads blocked on a keep-alive connection; a socket already closed is fine.
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("connection already closed")
        for handler in handlers:
            handler.join(timeout=10)
        if self._server is not None:
            self._server.server_close()


@dataclass
class LocalEndpoint:
    """A running local AWS endpoint. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    host: str = LOOPBACK
    port: int = 0
    region: str = REGION
    _server: _TrackingMotoServer | None = field(default=None, init=False, repr=False)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def url(self) -> str:
        if self._server is None:
            raise EndpointError("the local AWS endpoint is not running")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> Self:
        if self._server is not None:
            raise EndpointError("the local AWS endpoint is already running")
        # Bridges must be in moto's model registry before the first stack is created.
        bridges.install()
        samdeploy.install()
        # One access-log line per AWS call would drown the demo's timeline.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = _TrackingMotoServer(self.host, self.port)
        try:
            server.start()
        except BaseException:
            samdeploy.release()
            bridges.release()
            raise
        self._server = server
        logger.info("local AWS endpoint started at %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        if server is not None:
            try:
                server.stop()
            finally:
                samdeploy.release()
                bridges.release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` on this endpoint, with fake credentials (one per service: creating
        one costs more than most calls)."""
        url = self.url
        with self._clients_lock:
            client = self._clients.get((service, url))
            if client is None:
                client = self._clients[(service, url)] = boto3.client(  # type: ignore[call-overload]
                    service,
                    endpoint_url=url,
                    region_name=self.region,
                    config=_CLIENT_CONFIG,
                    **FAKE_CREDENTIALS,
                )
        return client

    def reset(self) -> None:
        """Forgets every resource in the endpoint (moto's reset), e.g. between two stacks of one name."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - our own http URL
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            if answer.status != 200:
                raise EndpointError(f"moto's reset answered {answer.status}")

    def function_environment(self) -> dict[str, str]:
        """Variables a function (or the SAM translator) needs to talk to this endpoint only."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            # Data-plane calls (Cloud Map's DiscoverInstances) would go to a "data-" prefixed host, which an
            # endpoint on an IP address cannot resolve.
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        }


@contextmanager
def scoped_environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block and restore what was there before."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
