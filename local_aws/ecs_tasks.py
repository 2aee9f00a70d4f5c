"""The simulated ECS's tasks as ECS lists them: DescribeTasks answers the tasks local_aws.simulate starts.

moto's ECS starts no task of a service; here each simulated task of a service registered in Cloud Map (the
http-api front door, whose controller reads each instance's task) is put in moto's ECS as a Fargate task of
the service's cluster and task definition, with the task id the simulator gave it (the id its Cloud Map
instance carries). Its ``lastStatus`` and ``healthStatus`` are what the simulator says: RUNNING with
UNKNOWN health while it starts, HEALTHY once its container health check passed (UNKNOWN stays when the
task definition has no container health check, as in ECS), STOPPED with the reason when it stops. The
``ecs_task_states`` bridge keeps moto from moving the task's status on by itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from local_aws import cloud_map
from local_aws.endpoint import ACCOUNT_ID

if TYPE_CHECKING:
    from local_aws.simulate import EcsSimulator

ecs_models: Any = importlib.import_module("moto.ecs.models")


def _backend(ecs: EcsSimulator) -> Any:
    return ecs_models.ecs_backends[ACCOUNT_ID][ecs.stack.endpoint.region]


def _task(ecs: EcsSimulator, task_arn: str) -> Any | None:
    return _backend(ecs).tasks.get(ecs.cluster, {}).get(task_arn)


def start(ecs: EcsSimulator, task_arn: str, started_by: str) -> None:
    """The task RUNNING, health UNKNOWN (its container health check has not passed yet)."""
    if not cloud_map.registries(ecs):
        # Only where the controller reads tasks (the http-api front door checks each Cloud Map instance's
        # task); moto's own Fargate task needs an interface its EC2 model cannot describe in every case.
        return
    backend = _backend(ecs)
    service = ecs.describe()
    definition = backend.describe_task_definition(service["taskDefinition"])
    # An awsvpc task has a network interface in the service's subnets (moto makes one and requires them).
    network = service.get("networkConfiguration") or {
        "awsvpcConfiguration": {"subnets": list(ecs.stack.network.get("SubnetIds", []))[:1], "securityGroups": []}
    }
    task = ecs_models.Task(
        backend.clusters[ecs.cluster],
        definition,
        None,
        None,
        backend,
        group=f"service:{service['serviceName']}",
        launch_type="FARGATE",
        started_by=started_by,
        networking_configuration=network if definition.network_mode == "awsvpc" else None,
    )
    task.id = task_arn.rsplit("/", 1)[1]
    task.health_status = "UNKNOWN"
    backend.tasks.setdefault(ecs.cluster, {})[task.task_arn] = task


def passed_health_check(ecs: EcsSimulator, task_arn: str) -> None:
    task = _task(ecs, task_arn)
    if task is None:
        return
    checked = any(
        c.get("healthCheck")
        for c in ecs.stack.endpoint.client("ecs").describe_task_definition(taskDefinition=task.task_definition_arn)[
            "taskDefinition"
        ]["containerDefinitions"]
    )
    task.health_status = "HEALTHY" if checked else "UNKNOWN"


def stop(ecs: EcsSimulator, task_arn: str, reason: str) -> None:
    task = _task(ecs, task_arn)
    if task is None:
        return
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.health_status = "UNKNOWN"
