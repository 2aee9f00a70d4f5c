"""The property tests' world over moto: the same interface as the in-memory one, with the real boto3
clients (botocore request building and response parsing, moto's answers) under the controller.

Faults and the write-time safety checks hook in at botocore's ``before-parameter-build`` event, which
sees the API parameters before the request is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import boto3
from moto.cloudwatch.models import cloudwatch_backends

from tests.warmkeeper.fake_aws import FaultyCalls
from tests.warmkeeper.helpers import ACCOUNT, REGION
from tests.warmkeeper.moto_account import MotoAccount, _client
from warmkeeper.adapters.aws import RETRY_CONFIG, AwsClients
from warmkeeper_shared.state import ControllerState, Route, parse_state

AlarmValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


@dataclass(kw_only=True)
class MotoWorld(FaultyCalls):
    account: MotoAccount
    now: datetime = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    _force: bool = False

    def reset(self) -> None:
        """Back to a freshly deployed, awake stack (the moto account is shared by all examples)."""
        self.account.set_desired_count(1)
        self.account.set_weights(1, 0)
        self.set_healthy(1)
        self.account.simulate_deployment("COMPLETED")
        for name in ("warmkeeper-idle", "warmkeeper-wake"):
            self.account.set_alarm(name, "OK")
            self._stamp(name, self.now - timedelta(days=1))
        self.persistent_faults.clear()
        self.account.put_state({})

    # ------------------------------------------------------------ reading

    @property
    def desired(self) -> int:
        return self.account.desired_count()

    @property
    def healthy(self) -> int:
        elbv2 = _client("elbv2")
        found = elbv2.describe_target_health(TargetGroupArn=self.account.ecs_tg_arn)["TargetHealthDescriptions"]
        return sum(1 for t in found if t.get("TargetHealth", {}).get("State") == "healthy")

    @property
    def deploying(self) -> bool:
        ecs = _client("ecs")
        service = ecs.describe_services(cluster="warmkeeper", services=["warmkeeper"])["services"][0]
        return any(d.get("rolloutState") == "IN_PROGRESS" for d in service["deployments"])

    @property
    def route(self) -> Route | None:
        ecs, waker = self.account.weights()
        if ecs > 0 and waker == 0:
            return Route.ECS
        if waker > 0 and ecs == 0:
            return Route.WAKER
        return None

    @property
    def parameter(self) -> str:
        return self.account.state_raw()

    @property
    def state(self) -> ControllerState:
        return parse_state(self.parameter)

    def alarm(self, name: str) -> str:
        cloudwatch = _client("cloudwatch")
        return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])

    def settings_environment(self) -> dict[str, str]:
        return self.account.environment

    # ------------------------------------------------------------ the world's moves

    def minutes_later(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def set_alarm(self, name: str, value: str) -> None:
        changed = self.alarm(name) != value
        self.account.set_alarm(name, cast(AlarmValue, value))
        if changed:
            self._stamp(name, self.now)

    def _stamp(self, name: str, at: datetime) -> None:
        # moto stamps a state change with the wall clock; the world runs on its own clock.
        alarm = cloudwatch_backends[ACCOUNT][REGION].alarms[name]
        alarm.state_updated_timestamp = at.astimezone(UTC).replace(tzinfo=None)

    def set_desired(self, count: int) -> None:
        self.account.set_desired_count(count)

    def set_healthy(self, count: int) -> None:
        """Tasks whose targets passed their health checks (moto: a registered target is healthy)."""
        self.account.simulate_tasks_gone()
        for i in range(count):
            self.account.simulate_task_healthy(f"10.0.1.{10 + i}")

    def set_deploying(self, deploying: bool) -> None:
        self.account.simulate_deployment("IN_PROGRESS" if deploying else "COMPLETED")

    # ------------------------------------------------------------ the controller's clients

    def before_call(self, operation: str, params: dict[str, Any]) -> None:
        super().before_call(operation, params)
        self._force = operation == "ecs:UpdateService" and bool(params.get("forceNewDeployment"))

    def after_update(self) -> None:
        # moto keeps rolloutState as it was; a forced deployment is in progress until the world ends it.
        if self._force:
            self.set_deploying(True)
            self._force = False

    def clients(self) -> AwsClients:
        _CURRENT[:] = [self]
        if not _SHARED:
            # Made once (creating clients is slow); their hooks call whichever world is current.
            session = boto3.session.Session(region_name=REGION)
            made = {n: session.client(n, config=RETRY_CONFIG) for n in ("ecs", "elbv2", "cloudwatch", "ssm")}
            for client in made.values():
                client.meta.events.register("before-parameter-build", _before)
            made["ecs"].meta.events.register("after-call.ecs.UpdateService", _after_update)
            _SHARED.update(made)
        return AwsClients(
            ecs=cast(Any, _SHARED["ecs"]),
            elbv2=cast(Any, _SHARED["elbv2"]),
            cloudwatch=cast(Any, _SHARED["cloudwatch"]),
            ssm=cast(Any, _SHARED["ssm"]),
        )


_SHARED: dict[str, Any] = {}
_CURRENT: list[MotoWorld] = []


def _before(params: dict[str, Any], model: Any, **_: Any) -> None:
    _CURRENT[0].before_call(f"{model.service_model.service_name}:{model.name}", params)


def _after_update(**_: Any) -> None:
    _CURRENT[0].after_update()
