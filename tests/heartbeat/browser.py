"""A headless Chromium (Debian's) driven over the DevTools protocol through ``--remote-debugging-pipe``:
no browser download, no extra Python package, and no debugging port anyone else could reach."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
    # Loopback only: any host name but the loopback address fails to resolve, whatever the browser tries.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One browser, one page. Commands are sent on fd 3 and answers read from fd 4, NUL-separated JSON."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.log = profile.parent / "chromium.log"
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # bash (dash takes one-digit fds only) puts our pipe ends on the fds 3 and 4 Chromium expects,
        # then becomes Chromium.
        self._process = subprocess.Popen(  # noqa: S603
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}',
                executable,
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser_read, from_browser_write),
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._condition = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = self._attach()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._condition:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._condition.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        with self._condition:
            self._next_id += 1
            command_id = self._next_id
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        with self._condition:
            while command_id not in self._answers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrowserError(f"no answer to {method}")
                self._condition.wait(remaining)
            answer = self._answers.pop(command_id)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _attach(self) -> str:
        deadline = time.monotonic() + 30
        while True:
            targets = self.send("Target.getTargets")["targetInfos"]
            pages = [target for target in targets if target["type"] == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise BrowserError("chromium opened no page")
            time.sleep(0.1)
        session: str = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True})[
            "sessionId"
        ]
        self.send("Page.enable", session=session)
        self.send("Runtime.enable", session=session)
        return session

    def page(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.send(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        """The expression's value; a promise is awaited."""
        result = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll a JavaScript expression until it is truthy (a navigation in between is tolerated)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except BrowserError as error:
                last_error = error
            time.sleep(0.1)
        raise BrowserError(f"timed out waiting for {expression} (last error: {last_error})")

    def screenshot(self, path: Path) -> None:
        data = self.page("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        os.close(self._to_browser)
        self._reader.join(timeout=5)
        os.close(self._from_browser)
