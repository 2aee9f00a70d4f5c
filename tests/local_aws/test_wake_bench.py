"""The wake benchmark (bench/wake.py), its latency model (local_aws/latency.py) and the timed task start it
plays (local_aws/simulate.py): the format and that figures are computed, not that the targets are met."""

from __future__ import annotations

import contextlib
import io
import math
import random
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import wake
from local_aws.endpoint import LocalEndpoint
from local_aws.latency import MODEL, Figure
from local_aws.simulate import STEADY_STATE_TIMINGS, SteadyStateTiming, TaskStart, TaskTiming
from tests.local_aws.conftest import local_aws

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
LAST_LINE = re.compile(r"^wake overhead beyond task start: p50 (\d+\.\d) s, p99 (\d+\.\d) s$")


def test_every_figure_has_a_source_and_draws_around_its_p50_and_p99() -> None:
    for figure in MODEL.figures():
        assert len(figure.source) > 40, figure.name
        assert "assumption" in figure.source or "http" in figure.source or ".com" in figure.source, figure.name
    rng = random.Random(1)  # noqa: S311 - repeatable draws
    draws = sorted(MODEL.fargate_task_start.draw(rng) for _ in range(4000))
    assert statistics.median(draws) == pytest.approx(35.0, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(60.0, rel=0.1)
    with pytest.raises(ValueError, match="source"):
        Figure("x", 1, 2, " ")
    with pytest.raises(ValueError, match="p50 <= p99"):
        Figure("x", 3, 2, "assumption")
    assert Figure("constant", 2, 2, "assumption").draw(rng) == 2


def test_percentiles_interpolate_and_a_timeout_stays_a_timeout() -> None:
    assert wake.percentile([1, 2, 3, 4], 50) == 2.5
    assert wake.percentile([5], 99) == 5
    assert wake.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
    assert math.isinf(wake.percentile([1, math.inf], 99))
    assert wake.percentile([1, 2, math.inf], 50) == 2


def _wake(variant: SteadyStateTiming, seconds: tuple[float, float, float, float]) -> wake.Wake:
    """A wake whose wake issue, health, traffic and application come ``seconds`` after its first request."""
    issued, healthy, traffic, app = (T0 + timedelta(seconds=s) for s in seconds)
    played = wake.Wake(variant, T0, wake_issued_at=issued, traffic_at=traffic, app_at=app)
    played.task = TaskStart(requested_at=issued, healthy_at=healthy)
    return played


def test_the_report_marks_a_variant_over_target_and_ends_with_the_worst_overhead() -> None:
    results = {
        "on-time": [_wake("on-time", (1, 41, 42, 43)), _wake("on-time", (1, 31, 32, 34))],
        "never": [_wake("never", (1, 41, 90, 92))],
    }
    lines = wake.report(results, (5, 2), seed=9)
    overhead = {line.split()[0]: line for line in lines if "overhead beyond task start" in line}
    # on-time: 43 - 40 = 3 and 34 - 30 = 4 s; never: 92 - 40 = 52 s.
    assert overhead["on-time"].endswith("p50<=4 p99<=10")
    assert overhead["never"].endswith("p50<=4 p99<=10 !")
    assert "targets missed (!): never" in lines
    assert lines[-1] == "wake overhead beyond task start: p50 52.0 s, p99 52.0 s"
    assert "health checks every 5 s (healthy threshold 2" in lines[0]


def test_a_wake_that_never_reaches_the_application_is_a_timeout() -> None:
    stuck = wake.Wake("never", T0, wake_issued_at=T0 + timedelta(seconds=1))
    assert math.isinf(stuck.overhead)
    lines = wake.report({"never": [stuck]}, (5, 2), seed=1)
    assert "timeouts (no application after 15 min): 1" in lines
    assert lines[-1] == "wake overhead beyond task start: p50 timeout s, p99 timeout s"


@pytest.mark.slow
def test_the_simulated_task_starts_on_the_clock_with_drawn_times() -> None:
    # An hour of idle window: the service stays up while the clock moves on by minutes.
    with LocalEndpoint() as endpoint, local_aws(endpoint, IdleMinutes="60") as local:
        local.ecs.timing = TaskTiming(MODEL, random.Random(3))  # noqa: S311 - repeatable
        lines = local.ecs.task_comes_up()
        local.bus.settle()
        # Fargate's start is tens of seconds, and the clock moved on by it.
        assert local.clock.elapsed() > timedelta(seconds=10)
        assert any("RUNNING" in line for line in lines)
        assert any("registered and healthy" in line for line in lines)
        assert any("SERVICE_STEADY_STATE" in line for line in lines)
        assert all(re.match(r"\[\+\d\d:\d\d\.\d\]", line) for line in lines)
        # A visitor: the idle alarm (missing data breaches) stays OK for the window.
        assert local.alb.request("GET", "/visitor").served_by == "ecs"
        # A second task whose steady state never comes: healthy, and no event.
        start = local.ecs.start_task("never")
        local.clock.advance_until(lambda: start.done, timedelta(minutes=5))
        # Well past an on-time event (seconds), short of the idle window that would put it to sleep.
        local.clock.advance(timedelta(minutes=1))
        assert start.running_at is not None
        assert start.healthy_at is not None
        assert start.healthy_at > start.running_at
        assert start.steady_state_at is None
        early = local.ecs.start_task("early")
        local.clock.advance_until(lambda: early.done, timedelta(minutes=5))
        assert early.steady_state_at == early.running_at
        with pytest.raises(ValueError, match="steady_state must be one of"):
            local.ecs.start_task("sometimes")  # type: ignore[arg-type]  # the point of the check


@pytest.mark.slow
def test_one_wake_per_variant_prints_the_table_and_its_last_line() -> None:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        wake.main(["--wakes", "1", "--seed", "4"])
    lines = output.getvalue().splitlines()
    assert lines[0].startswith("Latency model")
    assert sum(1 for line in lines if "  source" in line or "assumption" in line) >= len(MODEL.figures())
    for variant in STEADY_STATE_TIMINGS:
        rows = [line for line in lines if line.startswith(variant)]
        assert len(rows) == len(wake.MEASURES), variant
        for row in rows:
            p50, p90, p99 = (float(v) for v in re.findall(r"\s(\d+\.\d)(?=\s)", row + " ")[:3])
            assert 0 <= p50 <= p90 <= p99, row
        issued = next(row for row in rows if "wake issued" in row)
        # Computed: a cold start and an EventBridge delivery at least, well under a minute.
        assert 0.1 < float(issued.split()[-3]) < 60, issued
    match = LAST_LINE.match(lines[-1])
    assert match is not None, lines[-1]
    assert float(match[1]) <= float(match[2])


def test_docs_writes_the_table_into_wake_md_and_the_worst_overhead_into_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, readme = tmp_path / "wake.md", tmp_path / "README.md"
    doc.write_text("before\n" + "".join(wake.DOC_MARKERS) + "\nafter\n")
    readme.write_text("intro\n" + "".join(wake.README_MARKERS) + "\nrest\n")
    monkeypatch.setattr(wake, "DOC", doc)
    monkeypatch.setattr(wake, "README", readme)
    monkeypatch.setattr(wake, "ROOT", tmp_path)
    results = {"on-time": [_wake("on-time", (1, 41, 42, 43)), _wake("on-time", (1, 31, 32, 35))]}
    lines = wake.report(results, (5, 2), seed=9)
    with contextlib.redirect_stdout(io.StringIO()):
        wake.write_docs(lines, results)
    text = doc.read_text()
    assert text.startswith("before\n" + wake.DOC_MARKERS[0] + "Measured on ")
    assert "```text\n" + "\n".join(lines) + "\n```\n" + wake.DOC_MARKERS[1] in text
    sentence = readme.read_text()
    # Overheads 3 and 5 s: p50 4.0, p99 5.0; first request to the application 43 and 35 s: p50 39.0.
    assert "reaches the application 39.0 s after the first request" in sentence
    assert "Warmkeeper adds p50 4.0 s, p99 5.0 s" in sentence
    assert sentence.endswith(wake.README_MARKERS[1] + "\nrest\n")
    with pytest.raises(ValueError, match="last line"):
        wake.readme_line(["something else"], results)


def test_readme_and_wake_md_show_the_same_measured_run() -> None:
    """The two places the measured figures appear cannot drift apart (both are written by one --docs run)."""
    doc = wake.DOC.read_text()
    block = doc[doc.index(wake.DOC_MARKERS[0]) : doc.index(wake.DOC_MARKERS[1])]
    last = [line for line in block.splitlines() if LAST_LINE.match(line)]
    assert len(last) == 1, "docs/wake.md has no measured run: python -m bench.wake --docs"
    p50, p99 = LAST_LINE.match(last[0]).groups()  # type: ignore[union-attr]
    readme = wake.README.read_text()
    sentence = readme[readme.index(wake.README_MARKERS[0]) : readme.index(wake.README_MARKERS[1])]
    assert f"Warmkeeper adds p50 {p50} s, p99 {p99} s" in sentence
