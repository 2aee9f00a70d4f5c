"""The local stack's HTTP APIs at a URL: what ``execute-api`` is to an HTTP API's ``ApiEndpoint``.

In AWS an HTTP API answers at ``https://<api id>.execute-api.<region>.amazonaws.com``; code of the stack may
call that URL (the controller's request through the VPC link when it wakes the service, a task's heartbeat
relay). Locally that name must never be reached: while this server runs, the HTTP APIs the local
CloudFormation creates get ``http://<endpoint host>:<port>/<api id>`` as their ``ApiEndpoint`` (the
``http_api_models`` bridge), and this server hands each request to that API's emulator, with the path
after the API id.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from local_aws import bridges
from local_aws.httpapi import HttpApiEmulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        api_id, _, rest = self.path.lstrip("/").partition("/")
        emulator = self.server.apis.get(api_id)
        if emulator is None:
            self._write(404, {"content-type": ["application/json"]}, '{"message":"Not Found"}')
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        response = emulator.request(self.command, "/" + rest, headers, body)
        self._write(response.status, response.headers, response.body)

    def _write(self, status: int, headers: dict[str, list[str]], body: str) -> None:
        payload = body.encode()
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                for value in values:
                    self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo prints its own timeline, and stderr shows its progress."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    apis: dict[str, HttpApiEmulator]


class ExecuteApiServer:
    """A loopback (or Docker bridge) HTTP server for the local HTTP APIs; a context manager."""

    def __init__(self, host: str) -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.apis = {}
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-execute-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self, api_id: str, emulator: HttpApiEmulator) -> None:
        self._server.apis[api_id] = emulator

    def __enter__(self) -> Self:
        self._thread.start()
        bridges.set_api_endpoint_base(self.url)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        bridges.set_api_endpoint_base(None)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
