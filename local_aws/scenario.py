"""The scale-to-zero lifecycle, played against the local stack, step by step, with expectations.

Each step does what a visitor, an operator, CloudWatch or ECS would do, lets EventBridge deliver what
follows, prints what the functions decided and the AWS state observed afterwards, and checks what the
step expects. The first expectation that does not hold stops the scenario with an
:class:`ExpectationFailed` that says which step, what was expected and what the local endpoint showed.

Time: the scenario's clock drives CloudWatch (metric timestamps, alarm evaluation every minute), the
schedules and the functions' own "now" (their clock seam, ``warmkeeper_shared.clock``), so idle windows pass in
seconds and the stack runs with the template's defaults, ``MinAwakeMinutes`` and the wake deadline included. A
simulated task takes the time the latency model (local_aws/latency.py) draws for a Fargate task start, its
application's boot and its first health check, so the timeline shows how long a wake takes. What the functions
time with the wall clock (a few seconds of cache) still takes real seconds: see :meth:`Scenario.pause_real`.
"""

from __future__ import annotations

import io
import json
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TextIO

from local_aws.alb import HttpResponse
from local_aws.cloudwatch import Evaluation
from local_aws.endpoint import scoped_environment
from local_aws.eventbus import Delivery
from local_aws.latency import MODEL
from local_aws.runtime import LocalAws, Observed
from local_aws.simulate import TaskTiming
from warmkeeper_cli.main import Runtime, main

BROWSER = {"accept": "text/html,application/xhtml+xml", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
API_CLIENT = {"accept": "application/json", "user-agent": "curl/8.5.0"}
IMAGE_PULL_FAILURE = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
    "ghcr.io/elzinko/city-guided-api:v2: not found"
)
# No parameter is changed for the local stack: its functions read the scenario's clock (module docstring).
LOCAL_OVERRIDES: dict[str, str] = {}
# The simulated tasks' times are drawn with this seed, so a run's timeline repeats.
TASK_TIMING_SEED = 9


class ExpectationFailed(AssertionError):
    def __init__(self, step: str, expectation: str, observed: str) -> None:
        super().__init__(f"step {step!r}: expected {expectation}; observed {observed}")
        self.step = step
        self.expectation = expectation
        self.observed = observed


@dataclass
class Timeline:
    """The readable account of the run: steps, what happened, and the observed state after each step."""

    out: TextIO
    local: LocalAws | None = None
    verbose: bool = False
    lines: list[str] = field(default_factory=list)
    # Further stacks on the same endpoint (a shared ALB): their alarms are shown too, and each delivery
    # names its stack.
    others: list[LocalAws] = field(default_factory=list)

    def _write(self, text: str) -> None:
        self.lines.append(text)
        self.out.write(text + "\n")
        self.out.flush()

    def _stamp(self) -> str:
        if self.local is None:
            return "+00:00"
        seconds = int(self.local.clock.elapsed().total_seconds())
        return f"+{seconds // 60:02d}:{seconds % 60:02d}"

    def step(self, number: int, title: str) -> None:
        self._write("")
        self._write(f"[{self._stamp()}] {number:>2}. {title}")

    def note(self, text: str) -> None:
        self._write(f"           {text}")

    def simulated(self, lines: list[str]) -> None:
        for line in lines:
            self._write(f"           [simulated ECS] {line}")

    def http(self, label: str, response: HttpResponse) -> None:
        state = response.header("x-warmkeeper-state")
        extra = f", X-Warmkeeper-State: {state}" if state else ""
        self._write(f"           {label} -> {response.status} from {response.served_by}{extra}")

    def alarm(self, evaluation: Evaluation) -> None:
        if evaluation.alarm in self._watched_alarms():
            self._write(f"           [CloudWatch] {evaluation.alarm} -> {evaluation.state}: {evaluation.reason}")

    def _watched_alarms(self) -> set[str]:
        if self.local is None:
            return set()
        watched = set()
        for local in (self.local, *self.others):
            watched |= {local.stack.outputs["IdleAlarmName"], local.stack.outputs["WakeAlarmName"]}
        return watched

    def delivery(self, delivery: Delivery) -> None:
        event = delivery.event
        payload = delivery.result.payload if isinstance(delivery.result.payload, dict) else {}
        outcome = payload.get("outcome", "?")
        if not self.verbose and outcome in ("in-sync", "ignored") and delivery.result.error is None:
            return
        what = _describe_event(event)
        if delivery.result.error is not None:
            result = f"ERROR {delivery.result.error} after {len(delivery.attempts)} attempt(s)"
            if delivery.dead_lettered:
                result += ", sent to the dead-letter queue"
        else:
            actions = ", ".join(payload.get("actions", [])) or "no action"
            reason = f" ({payload['reason']})" if payload.get("reason") else ""
            result = f"{outcome}: {actions}{reason}"
        target = f"{delivery.stack}/{delivery.function}" if self.others else delivery.function
        self._write(f"           [EventBridge] {what} -> {target}: {result}")

    def state(self, observed: Observed) -> None:
        self._write(f"           state: {observed.line()}")


def _describe_event(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    kind = event.get("detail-type", "?")
    if kind == "CloudWatch Alarm State Change":
        before = detail.get("previousState", {}).get("value")
        return f"{kind} {detail.get('alarmName')} {before}->{detail['state']['value']}"
    if kind in ("ECS Service Action", "ECS Deployment State Change"):
        return f"{kind} {detail.get('eventName')}"
    if kind == "ECS Task State Change":
        return f"{kind} {detail.get('lastStatus')}"
    if event.get("source") == "warmkeeper":
        return f"{kind} by {detail.get('requestedBy', '?')}"
    return str(kind)


def awake_and_ready(status: dict[str, Any]) -> bool:
    return status.get("state") == "awake" and status.get("ready") is True


def _failed_to_pull(status: dict[str, Any]) -> bool:
    return status.get("state") == "failed" and "CannotPullContainerError" in str(status.get("failureReason"))


@dataclass
class Scenario:
    local: LocalAws
    timeline: Timeline
    idle_minutes: int
    # A last step where a wake passes its deadline (``--deadline`` in the demo).
    deadline_step: bool = False
    _step: str = field(default="", init=False)
    steps: list[tuple[str, Callable[[], None]]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.local.ecs.timing is None:
            rng = random.Random(TASK_TIMING_SEED)  # noqa: S311 - repeatable on purpose
            self.local.ecs.timing = TaskTiming(MODEL, rng)
        self.steps = [
            ("the stack is created from template.yaml and its first task starts", self.created),
            ("visitors use the application", self.traffic),
            (f"nobody comes for {self.idle_minutes} minutes: the idle alarm fires", self.idle),
            ("a browser arrives while the service sleeps", self.visitor_wakes_it),
            ("the task comes up and passes its health checks", self.task_comes_up),
            (f"heartbeats keep it awake past the {self.idle_minutes}-minute idle window", self.heartbeats),
            ("an operator pins the service; an idle window passes", self.pin),
            ("the pin is lifted: the service goes to sleep", self.unpin),
            ("a deploy while asleep (new image tag)", self.deploy_while_asleep),
            ("a visitor's wake fails: the image cannot be pulled", self.failed_wake),
            ("the visitor retries from the waiting page; this time the task starts", self.retry),
        ]
        if self.deadline_step:
            # Opt-in: five scenario minutes of readiness checks every few seconds cost about a minute in process
            # (and a container start each through sam local invoke).
            self.steps.append(("asleep again, a wake passes its deadline: no task can be placed", self.deadline_passes))

    # ------------------------------------------------------------------ helpers

    def run(self) -> None:
        for number, (title, step) in enumerate(self.steps, start=1):
            self._step = title
            self.timeline.step(number, title)
            step()

    def expect(self, expectation: str, holds: bool, observed: Any) -> None:
        if not holds:
            raise ExpectationFailed(self._step, expectation, str(observed))

    def observe(self) -> Observed:
        self.local.bus.settle()
        observed = self.local.observe()
        self.timeline.state(observed)
        return observed

    def pause_real(self, seconds: int, label: str) -> None:
        """Real seconds, for what the functions time with the real clock (their caches and graces)."""
        progress = self.local.clock.progress
        for second in range(seconds):
            if progress is not None:
                progress.write(f"\r    {label} [{'#' * second}{'.' * (seconds - second)}]")
                progress.flush()
            time.sleep(1)
        if progress is not None:
            progress.write("\r" + " " * 79 + "\r")

    def minutes(self, count: int, label: str) -> None:
        self.local.clock.advance(timedelta(minutes=count), label)

    def request(self, label: str, method: str, path: str, headers: dict[str, str], body: str = "") -> HttpResponse:
        response = self.local.front_door.request(method, path, headers, body)
        self.timeline.http(label, response)
        self.local.bus.settle()
        return response

    def status(self, wanted: Callable[[dict[str, Any]], bool], polls: int = 6) -> dict[str, Any]:
        """Polls the status endpoint once a second (real time) until ``wanted``, with the token: the
        operator's detailed view, so the timeline shows the counts the public view leaves out.

        The heartbeat function caches the state document and the service for a few seconds (real time),
        so a change made a moment ago may show on the next poll only.
        """
        operator = {**API_CLIENT, "authorization": f"Bearer {self.local.heartbeat_token()}"}
        for poll in range(1, polls + 1):
            response = self.local.front_door.request("GET", "/_warmkeeper/status", operator)
            self.expect("GET /_warmkeeper/status answers 200 with JSON", response.status == 200, response.status)
            body: dict[str, Any] = response.json()
            if wanted(body) or poll == polls:
                break
            time.sleep(1)
        shown = {k: body.get(k) for k in ("state", "ready", "desiredCount", "runningCount", "healthyTargets")}
        if body.get("failureReason"):
            shown["failureReason"] = body["failureReason"]
        self.timeline.note(f"GET /_warmkeeper/status (poll {poll}) -> {json.dumps(shown)}")
        return body

    def expect_awake(self, observed: Observed) -> None:
        self.expect("desiredCount >= 1", observed.desired_count >= 1, observed.desired_count)
        self.expect("traffic on ECS (ecs=1 waker=0)", observed.weights == {"ecs": 1, "waker": 0}, observed.weights)

    def expect_asleep(self, observed: Observed) -> None:
        self.expect("desiredCount 0", observed.desired_count == 0, observed.desired_count)
        self.expect(
            "traffic on the waker (ecs=0 waker=1)", observed.weights == {"ecs": 0, "waker": 1}, observed.weights
        )

    def put_request(self, detail_type: str, requested_by: str, **extra: Any) -> None:
        detail = {"stack": self.local.stack.name, "requestedBy": requested_by, **extra}
        self.local.bus.put([{"Source": "warmkeeper", "DetailType": detail_type, "Detail": json.dumps(detail)}])
        self.timeline.note(f"PutEvents: {detail_type} ({json.dumps(detail)})")
        self.local.bus.settle()

    def operator(self, arguments: str) -> None:
        """An operator's ``warmkeeper`` command against the local endpoint, as typed in a terminal."""
        out, err = io.StringIO(), io.StringIO()
        with scoped_environment(self.local.stack.endpoint.function_environment()):
            code = main(shlex.split(arguments), Runtime(out=out, err=err))
        self.timeline.note(f"$ warmkeeper {arguments}")
        for line in (out.getvalue() + err.getvalue()).splitlines():
            self.timeline.note(f"  {line}")
        self.expect(f"`warmkeeper {arguments.split(maxsplit=1)[0]}` succeeds", code == 0, f"exit status {code}")
        self.local.bus.settle()

    # ------------------------------------------------------------------ the steps

    def created(self) -> None:
        stack = self.local.stack
        self.timeline.note(
            f"stack {stack.name}: {len(stack.physical_ids)} resources from {stack.template_path.name} "
            f"(listener {stack.outputs['ListenerArn'].rsplit('/', 3)[-3]}, alarms {stack.outputs['IdleAlarmName']}"
            f" and {stack.outputs['WakeAlarmName']})"
        )
        if stack.created_after_stack:
            self.timeline.note("created after the stack from its properties: " + ", ".join(stack.created_after_stack))
        if stack.not_modelled:
            self.timeline.note(f"not reproduced locally: {stack.not_modelled}")
        self.timeline.note(f"functions run {self.local.functions.mode}; parameters {stack.parameters}")
        observed = self.local.observe()
        self.expect(
            "a new service starts at desiredCount 1 (no DesiredCount in the template)",
            observed.desired_count == 1,
            observed.desired_count,
        )
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        self.expect_awake(observed)
        self.expect("one healthy target", observed.healthy_targets == 1, observed.healthy_targets)

    def traffic(self) -> None:
        for minute in range(3):
            response = self.request(f"GET /page/{minute} (browser)", "GET", f"/page/{minute}", BROWSER)
            self.expect("the application answers 200", (response.status, response.served_by) == (200, "ecs"), response)
            self.minutes(1, "visitors browsing")
        observed = self.observe()
        idle = self.local.stack.outputs["IdleAlarmName"]
        self.expect(f"{idle} OK", observed.alarms[idle] == "OK", observed.alarms)
        self.expect_awake(observed)

    def idle(self) -> None:
        self.minutes(self.idle_minutes + 1, "no requests")
        observed = self.observe()
        idle = self.local.stack.outputs["IdleAlarmName"]
        self.expect(f"{idle} ALARM", observed.alarms[idle] == "ALARM", observed.alarms)
        self.expect_asleep(observed)
        self.timeline.simulated(self.local.ecs.tasks_stop_for_scale_in())
        observed = self.observe()
        self.expect("no healthy target", observed.healthy_targets == 0, observed.healthy_targets)
        self.expect_asleep(observed)

    def visitor_wakes_it(self) -> None:
        page = self.request("GET / (browser)", "GET", "/", BROWSER)
        display = self.local.ecs.app.display_name
        self.expect(
            "the waiting page (HTML naming the service) from the waker",
            page.served_by == "waker" and "<html" in page.body and display in page.body,
            f"{page.status} from {page.served_by}: {page.body[:120]!r}",
        )
        observed = self.observe()
        self.expect("desiredCount back to 1", observed.desired_count == 1, observed.desired_count)
        self.expect("a wake under way in the state document", "wakeStartedAt" in observed.state, observed.state)
        self.expect("traffic still on the waker", observed.weights == {"ecs": 0, "waker": 1}, observed.weights)
        api = self.request("GET /api/places (API client)", "GET", "/api/places", API_CLIENT)
        self.expect(
            "503 with Retry-After and a JSON body for an API client",
            api.status == 503 and api.header("retry-after") is not None and api.json().get("state") == "waking",
            f"{api.status} {api.headers} {api.body[:120]!r}",
        )
        status = self.status(lambda s: s.get("state") == "waking")
        self.expect("status says waking", status.get("state") == "waking", status)

    def task_comes_up(self) -> None:
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        self.expect_awake(observed)
        self.expect("no wake under way any more", "wakeStartedAt" not in observed.state, observed.state)
        status = self.status(awake_and_ready)
        self.expect("status says awake and ready", awake_and_ready(status), status)
        response = self.request("GET / (the waiting page reloads)", "GET", "/", BROWSER)
        self.expect("the application answers", response.served_by == "ecs" and response.status == 200, response)
        self.minutes(1, "the visitor reads")
        observed = self.observe()
        self.expect_awake(observed)

    def heartbeats(self) -> None:
        token = self.local.heartbeat_token()
        wrong = self.request(
            "POST /_warmkeeper/heartbeat (wrong token)",
            "POST",
            "/_warmkeeper/heartbeat",
            {"authorization": "Bearer not-the-token", "content-type": "application/json"},
            '{"source": "upload-job"}',
        )
        self.expect("401 for a wrong token", wrong.status == 401, wrong.status)
        accepted = 0
        for _ in range(self.idle_minutes + 2):
            ping = self.local.front_door.request(
                "POST",
                "/_warmkeeper/heartbeat",
                {"authorization": f"Bearer {token}", "content-type": "application/json"},
                '{"source": "upload-job"}',
            )
            self.expect("202 for a ping with the stack's token", ping.status == 202, ping.status)
            accepted += 1
            self.local.bus.settle()
            self.minutes(1, "a long upload, heartbeats only")
        self.timeline.note(
            f"{accepted} heartbeats accepted (one a minute, no user request); "
            f"Heartbeats in CloudWatch from the function's EMF logs: {self._metric_total('Heartbeats'):g}"
        )
        observed = self.observe()
        idle = self.local.stack.outputs["IdleAlarmName"]
        self.expect(f"{idle} still OK thanks to the heartbeats", observed.alarms[idle] == "OK", observed.alarms)
        self.expect_awake(observed)

    def pin(self) -> None:
        until = self.local.clock.now() + timedelta(hours=2)
        self.operator(f"pin --stack {self.local.stack.name} --until {until:%Y-%m-%dT%H:%M:%SZ} --requested-by operator")
        observed = self.observe()
        self.expect("the pin recorded", "pinnedUntil" in observed.state, observed.state)
        skipped_before = self._metric_total("SleepsSkipped")
        self.minutes(self.idle_minutes + 1, "no requests, but pinned")
        observed = self.observe()
        idle = self.local.stack.outputs["IdleAlarmName"]
        self.expect(f"{idle} ALARM", observed.alarms[idle] == "ALARM", observed.alarms)
        skipped = self._metric_total("SleepsSkipped")
        self.timeline.note(f"SleepsSkipped in CloudWatch: {skipped_before:g} before, {skipped:g} after")
        self.expect("a skipped sleep counted (SleepsSkipped metric)", skipped > skipped_before, skipped)
        self.expect_awake(observed)

    def _metric_total(self, name: str) -> float:
        """The sum of a Warmkeeper metric (from the functions' EMF logs) in the local CloudWatch so far."""
        namespace = self.local.stack.function("WarmkeeperFunction").environment["POWERTOOLS_METRICS_NAMESPACE"]
        answer = self.local.stack.endpoint.client("cloudwatch").get_metric_statistics(
            Namespace=namespace,
            MetricName=name,
            Dimensions=[{"Name": "service", "Value": self.local.stack.name}],
            StartTime=self.local.clock.start - timedelta(minutes=1),
            EndTime=self.local.clock.now() + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(point["Sum"] for point in answer["Datapoints"]))

    def unpin(self) -> None:
        self.operator(f"unpin --stack {self.local.stack.name} --requested-by operator")
        reconcile = int(self.local.stack.parameters.get("ReconcileMinutes", "1"))
        minimum = int(self.local.stack.parameters.get("MinAwakeMinutes", "10"))
        # The next reconcile sleeps it, once the minimum awake time since the wake has passed too (a short
        # --idle-minutes makes the pinned window shorter than MinAwakeMinutes).
        self.minutes(reconcile, "until the next reconcile")
        self.local.clock.advance_until(
            lambda: self.local.observe().desired_count == 0, timedelta(minutes=minimum + reconcile), "min awake time"
        )
        observed = self.observe()
        self.expect("the pin gone", "pinnedUntil" not in observed.state, observed.state)
        self.expect_asleep(observed)
        self.timeline.simulated(self.local.ecs.tasks_stop_for_scale_in())
        self.observe()

    def deploy_while_asleep(self) -> None:
        before = self.local.observe().task_definition
        status, lines = self.local.deploy({"ImageTag": "v2"})
        for line in lines:
            self.timeline.note(line)
        self.expect("the deploy succeeds", status == 0, f"exit status {status}")
        self.timeline.simulated(self.local.ecs.deployment_rolls_out())
        observed = self.observe()
        self.expect("a new task definition revision", observed.task_definition != before, observed.task_definition)
        definition = self.local.stack.endpoint.client("ecs").describe_task_definition(
            taskDefinition=self.local.describe_service()["taskDefinition"]
        )["taskDefinition"]
        images = sorted(c.get("image", "?") for c in definition["containerDefinitions"])
        self.timeline.note(f"the service now runs {observed.task_definition}: {', '.join(images)}")
        self.expect("every image at the new tag", all(i.endswith(":v2") for i in images), images)
        self.expect_asleep(observed)
        self.minutes(1, "after the deploy")
        observed = self.observe()
        self.expect_asleep(observed)

    def failed_wake(self) -> None:
        page = self.request("GET / (browser)", "GET", "/", BROWSER)
        self.expect("the waiting page", page.served_by == "waker" and "<html" in page.body, page.status)
        observed = self.observe()
        if observed.desired_count == 0:
            # The function sent a wake request less than its grace ago, so it counted WakeRequests without
            # sending: the wake backstop alarm is the path that remains.
            self.timeline.note("no wake event this time (the function's grace): the wake backstop alarm takes over")
            self.minutes(1, "waiting for the wake backstop alarm")
            observed = self.observe()
        self.expect("desiredCount 1 (fast path or backstop alarm)", observed.desired_count == 1, observed.desired_count)
        self.timeline.simulated(self.local.ecs.task_fails_to_start(IMAGE_PULL_FAILURE))
        observed = self.observe()
        self.expect("a failure in the state document", "failure" in observed.state, observed.state)
        self.expect("traffic stays on the waker", observed.weights == {"ecs": 0, "waker": 1}, observed.weights)
        status = self.status(_failed_to_pull)
        self.expect("status says failed, with the stopped task's reason", _failed_to_pull(status), status)
        again = self.request("GET / (browser, again)", "GET", "/", BROWSER)
        self.expect("the page reports the failure", again.header("x-warmkeeper-state") == "failed", again.headers)

    def retry(self) -> None:
        response = self.request(
            "POST /_warmkeeper/wake (Try again)",
            "POST",
            "/_warmkeeper/wake",
            {**BROWSER, "content-type": "application/x-www-form-urlencoded"},
            "return=%2F",
        )
        self.expect("a redirect back to the page", response.status == 303, response.status)
        observed = self.observe()
        clicks = 1
        while "failure" in observed.state and clicks < 5:
            # The function sends at most one wake request per execution environment within its grace (scenario
            # time); an earlier request of this run is that recent. The visitor clicks again later.
            if clicks == 1:
                self.timeline.note("no retry sent: the function's grace since its last wake request")
            self.local.clock.advance(timedelta(seconds=10), "the visitor waits 10 s before clicking again")
            clicks += 1
            response = self.request(
                f"POST /_warmkeeper/wake (Try again, click {clicks})",
                "POST",
                "/_warmkeeper/wake",
                {**BROWSER, "content-type": "application/x-www-form-urlencoded"},
                "return=%2F",
            )
            observed = self.observe()
        self.expect("the failure cleared for the retry", "failure" not in observed.state, observed.state)
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        self.expect_awake(observed)
        status = self.status(awake_and_ready)
        self.expect("status says awake and ready", awake_and_ready(status), status)

    def deadline_passes(self) -> None:
        minimum = int(self.local.stack.parameters.get("MinAwakeMinutes", "10"))
        deadline = int(self.local.stack.parameters.get("WakeDeadlineMinutes", "5"))
        reconcile = int(self.local.stack.parameters.get("ReconcileMinutes", "1"))

        def asleep() -> bool:
            observed = self.local.observe()
            return observed.desired_count == 0 and observed.weights.get("ecs") == 0

        # Past the minimum awake time, the idle alarm or (at most ReconcileMinutes later) the reconcile.
        self.local.clock.advance_until(
            asleep, timedelta(minutes=max(self.idle_minutes, minimum) + reconcile + 1), "no requests"
        )
        observed = self.observe()
        self.expect_asleep(observed)
        self.timeline.simulated(self.local.ecs.tasks_stop_for_scale_in())
        self.observe()
        page = self.request("GET / (browser)", "GET", "/", BROWSER)
        self.expect("the waiting page", page.served_by == "waker" and "<html" in page.body, page.status)
        observed = self.observe()
        self.expect("desiredCount 1", observed.desired_count == 1, observed.desired_count)
        self.timeline.simulated(["no task starts: Fargate cannot place it, and ECS keeps trying"])
        self.minutes(deadline, f"the {deadline}-minute wake deadline passes")
        # The reconcile schedule notices a passed deadline: at most ReconcileMinutes later.
        self.local.clock.advance_until(
            lambda: "failure" in self.local.observe().state, timedelta(minutes=reconcile + 1), "the next reconcile"
        )
        observed = self.observe()
        failure = observed.state.get("failure", {})
        self.expect("a deadline failure in the state document", failure.get("kind") == "deadline-passed", failure)
        self.expect("traffic stays on the waker", observed.weights == {"ecs": 0, "waker": 1}, observed.weights)
        status = self.status(lambda s: s.get("state") == "failed")
        self.expect(
            "status says failed: not ready in time",
            status.get("state") == "failed" and "in time" in str(status.get("failureReason")),
            status,
        )
