"""``python -m bench._docs [--check]``: rewrite the figures in README.md and docs/ from the benchmarks.

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``; NAME is one of
:data:`GENERATORS`. ``make docs`` rewrites every block; ``--check`` (the test) exits 1 naming the stale files.
The benchmarks are deterministic where they feed the docs (prices and template counts, call sequences); timings
stay out of the docs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z -]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)


def _cost() -> str:
    from bench import cost  # noqa: PLC0415 - imported only when its block is generated

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        cost.main()
    return "```text\n" + output.getvalue().strip("\n") + "\n```\n"


def _cost_line() -> str:
    from bench import cost  # noqa: PLC0415

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        cost.main()
    lines = output.getvalue().splitlines()
    full = next(line.split("$")[-1].removesuffix("/month") for line in lines if line.startswith("full stack, asleep"))
    extra = next(
        line.split("$")[-1].removesuffix("/month")
        for line in lines
        if line.startswith("extra service on a shared ALB, asleep")
    )
    return (
        f"Asleep, a full stack costs about **${full} a month** (us-east-1), nearly all of it its own load balancer "
        f"and its public IPv4 addresses; each extra service attached to a shared load balancer about **${extra} a "
        "month** ([own-service.md](docs/own-service.md)).\n"
    )


def _front_doors() -> str:
    from bench import cost  # noqa: PLC0415

    totals = {
        name: sum(line.monthly for line in lines) for name, lines in cost.asleep_per_mode(cost.load_template()).items()
    }
    return (
        "| | `alb` (default) | `alb` on a shared load balancer | `http-api` |\n"
        "| --- | --- | --- | --- |\n"
        f"| idle cost (asleep, us-east-1) | ${totals['full stack']:.2f}/month | "
        f"${totals['extra service on a shared ALB']:.2f}/month per extra service | "
        f"${totals['http-api stack']:.2f}/month |\n"
    )


def _controller_calls() -> str:
    """Played in a fresh interpreter: the benchmark imports the controller with its fake account's environment
    and log level, which would otherwise stay with the process (the docs test runs inside pytest)."""
    import subprocess  # noqa: PLC0415

    return subprocess.run(
        [sys.executable, "-m", "bench._docs", "--print", "bench controller-calls"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout


def _controller_calls_here() -> str:
    from bench import controller  # noqa: PLC0415

    os.environ.update(controller._ENV)
    for path in reversed(controller.PATHS):
        if path not in sys.path:
            sys.path.insert(0, path)
    rows = controller._decisions()
    lines = ["| decision | outcome | calls | in order |", "| --- | --- | ---: | --- |"]
    lines += [
        f"| {label} | {outcome} | {count} | {sequence} |" for label, outcome, _t, count, _c, _ms, sequence in rows
    ]
    return "\n".join(lines) + "\n"


def _cold_path() -> str:
    """What the cold-start benchmarks measure and their targets (from the code), and the packages a cold
    waiting page loads beyond boto3's (a fresh interpreter, deterministic); the measured ratios are timings
    and stay in ``make bench``."""
    import subprocess  # noqa: PLC0415

    from bench import controller, heartbeat  # noqa: PLC0415
    from bench._coldstart import PAIRS  # noqa: PLC0415

    code = "from bench._cold_page import packages_beyond_boto3 as p; print(' '.join(p()))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(heartbeat.PATHS)}
    packages = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    lines = [
        f"| path (fresh interpreter, whole process, median of {PAIRS} pairs alternating with `import boto3`) "
        "| target, times `import boto3` |",
        "| --- | ---: |",
        f"| HTTP face: interpreter start to a rendered waiting page (tracing on, AWS mocked at the network) "
        f"| {heartbeat.TARGET_COLD_PAGE_RATIO} |",
        f"| controller: `import warmkeeper.handler` (tracing on) | {controller.TARGET_IMPORT_RATIO} |",
        "| floor, for reference: `import boto3`, Powertools' Tracer (patching botocore), Logger and Metrics, and "
        "the page's two clients and calls, none of the face's code | - |",
        "",
        "Packages a cold waiting page loads beyond those of `import boto3`: "
        + ", ".join(f"`{name}`" for name in packages)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _wake_model() -> str:
    from bench import wake  # noqa: PLC0415

    return wake.model_table()


GENERATORS: dict[str, Callable[[], str]] = {
    "bench cost": _cost,
    "bench cost-line": _cost_line,
    "bench controller-calls": _controller_calls,
    "bench front-doors": _front_doors,
    "bench cold-path": _cold_path,
    "bench wake-model": _wake_model,
}


def replace_between(path: Path, markers: tuple[str, str], body: str) -> None:
    """Rewrite what sits between two marker lines of ``path``: the measured blocks that a long benchmark writes
    itself (``make docs`` reruns only the quick generated blocks above)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    path.write_text(text[:start] + body + text[end:], encoding="utf-8")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def regenerate(text: str, cache: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"].strip()
        if name not in GENERATORS:
            raise SystemExit(f"unknown generated block {name!r}; known: {sorted(GENERATORS)}")
        if name not in cache:
            cache[name] = GENERATORS[name]()
        return match.group(1) + cache[name] + match.group(4)

    return _BLOCK.sub(replace, text)


# Blocks whose generator runs in a fresh interpreter, and what that interpreter runs (``--print NAME``).
_IN_PROCESS: dict[str, Callable[[], str]] = {"bench controller-calls": _controller_calls_here}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--print"] and len(argv) == 2 and argv[1] in _IN_PROCESS:
        sys.stdout.write(_IN_PROCESS[argv[1]]())
        return 0
    check = "--check" in argv
    cache: dict[str, str] = {}
    stale = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        new = regenerate(text, cache)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print(f"stale generated figures in {', '.join(map(str, stale))}: run `make docs`")
        return 1
    print(f"{'stale' if check else 'rewrote'}: {', '.join(map(str, stale)) or 'nothing'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
