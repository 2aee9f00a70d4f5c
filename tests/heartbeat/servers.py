"""Loopback HTTP servers for the Caddy and browser tests.

``AlbAdapter`` plays the load balancer in front of the real heartbeat handler: it turns each HTTP request
into the multi-value ALB event the template's target group sends and the handler's answer back into HTTP.
Like the listener, it sends /_warmkeeper/* to the function always and everything else to the function
while the service sleeps, or to a stand-in application once ``route_to_app`` is set (weights flipped).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

WAKER_TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/warmkeeper-waker/73e2d6bc24d8a067"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes
    status: int
    response_headers: dict[str, list[str]]
    response_body: bytes


@dataclass
class Recorder:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Seen) -> None:
        with self.lock:
            self.seen.append(item)

    def snapshot(self) -> list[Seen]:
        with self.lock:
            return list(self.seen)


Answer = tuple[int, dict[str, list[str]], bytes]


def alb_event(method: str, target: str, headers: dict[str, list[str]], body: bytes) -> dict[str, Any]:
    split = urlsplit(target)
    query: dict[str, list[str]] = {}
    # ALB passes query keys and values still URL-encoded.
    for pair in split.query.split("&") if split.query else []:
        key, _, value = pair.partition("=")
        query.setdefault(key, []).append(value)
    text_like = not body or headers.get("content-type", [""])[-1].split(";")[0] in (
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
    )
    return {
        "requestContext": {"elb": {"targetGroupArn": WAKER_TARGET_GROUP}},
        "httpMethod": method,
        "path": split.path,
        "multiValueQueryStringParameters": query,
        "multiValueHeaders": headers,
        "isBase64Encoded": not text_like,
        "body": body.decode("utf-8", errors="replace") if text_like else base64.b64encode(body).decode(),
    }


def http_answer(response: dict[str, Any]) -> Answer:
    headers: dict[str, list[str]] = {}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = [str(value) for value in values]
    for key, value in (response.get("headers") or {}).items():
        headers.setdefault(key, []).append(str(value))
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
    return int(response["statusCode"]), headers, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            headers.setdefault(key.lower(), []).append(value)
        status, response_headers, response_body = self.server.respond(self.command, self.path, headers, body)
        self.server.recorder.add(Seen(self.command, self.path, headers, body, status, response_headers, response_body))
        self.send_response(status)
        for key, values in response_headers.items():
            if key.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            for value in values:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response_body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, respond: Callable[[str, str, dict[str, list[str]], bytes], Answer]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.recorder = Recorder()


@dataclass
class Running:
    server: _Server

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def seen(self) -> list[Seen]:
        return self.server.recorder.snapshot()


@contextmanager
def serve(respond: Callable[[str, str, dict[str, list[str]], bytes], Answer]) -> Iterator[Running]:
    server = _Server(respond)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def stand_in_app(name: str, head: str = "") -> Callable[[str, str, dict[str, list[str]], bytes], Answer]:
    """An application container: a small HTML page (``head`` added to it) or JSON naming the container."""

    def respond(method: str, target: str, headers: dict[str, list[str]], body: bytes) -> Answer:
        path = urlsplit(target).path
        if name == "api":
            payload = {"container": "api", "method": method, "path": path, "ok": True}
            return 200, {"Content-Type": ["application/json"]}, json.dumps(payload).encode()
        page = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stand-in app</title>{head}</head>'
            f"<body><h1>City Guided</h1><p id=app-path>{path}</p></body></html>"
        )
        return 200, {"Content-Type": ["text/html; charset=utf-8"]}, page.encode()

    return respond


@dataclass
class AlbAdapter:
    """The listener: the real handler for /_warmkeeper/* and, while asleep, for everything else."""

    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    context: Any
    route_to_app: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, method: str, target: str, headers: dict[str, list[str]], body: bytes) -> Answer:
        path = urlsplit(target).path
        if self.route_to_app and not path.startswith("/_warmkeeper/"):
            return stand_in_app("web")(method, target, headers, body)
        # One invocation at a time, as in one Lambda execution environment.
        with self.lock:
            response = self.handler(alb_event(method, target, headers, body), self.context)
        return http_answer(response)
