"""What ECS does in Cloud Map for a service with ``ServiceRegistries``, done by the simulated ECS.

ECS registers each task of such a service as an instance of the Cloud Map service (the instance id is the
task id; attributes carry the task's IPv4 address, port and ECS names), reports its health through the
custom health status, and deregisters it when the task stops. The http-api front door's private
integration sends traffic only to instances Cloud Map calls HEALTHY.

moto starts every registered instance HEALTHY; here a task registers UNHEALTHY when it starts and turns
HEALTHY only once its health check passed, so nothing reads a starting task as ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_aws.simulate import EcsSimulator


def registries(ecs: EcsSimulator) -> list[dict[str, Any]]:
    """The service's ``serviceRegistries`` as the local endpoint describes them."""
    found: list[dict[str, Any]] = ecs.describe().get("serviceRegistries") or []
    return found


def _service_id(registry: dict[str, Any]) -> str:
    return str(registry["registryArn"]).rsplit("/", 1)[1]


def register(ecs: EcsSimulator, task_arn: str, ip: str) -> list[str]:
    """Registers a starting task, UNHEALTHY, in every Cloud Map service of the ECS service."""
    discovery = ecs.stack.endpoint.client("servicediscovery")
    task_id = task_arn.rsplit("/", 1)[1]
    service = ecs.describe()
    lines = []
    for registry in registries(ecs):
        attributes = {
            "AWS_INSTANCE_IPV4": ip,
            "AVAILABILITY_ZONE": f"{ecs.stack.endpoint.region}a",
            "REGION": ecs.stack.endpoint.region,
            "ECS_CLUSTER_NAME": ecs.cluster,
            "ECS_SERVICE_NAME": service["serviceName"],
            "ECS_TASK_DEFINITION_FAMILY": service["taskDefinition"].rsplit("/", 1)[1].split(":")[0],
        }
        if "containerPort" in registry or "port" in registry:
            attributes["AWS_INSTANCE_PORT"] = str(registry.get("containerPort") or registry.get("port"))
        service_id = _service_id(registry)
        discovery.register_instance(ServiceId=service_id, InstanceId=task_id, Attributes=attributes)
        discovery.update_instance_custom_health_status(ServiceId=service_id, InstanceId=task_id, Status="UNHEALTHY")
        lines.append(f"instance {task_id[:8]} ({ip}) registered in Cloud Map service {service_id}, UNHEALTHY")
    return lines


def report_healthy(ecs: EcsSimulator, task_arn: str) -> list[str]:
    """The task's health check passed: its instances turn HEALTHY (UpdateInstanceCustomHealthStatus)."""
    discovery = ecs.stack.endpoint.client("servicediscovery")
    task_id = task_arn.rsplit("/", 1)[1]
    lines = []
    for registry in registries(ecs):
        service_id = _service_id(registry)
        discovery.update_instance_custom_health_status(ServiceId=service_id, InstanceId=task_id, Status="HEALTHY")
        lines.append(f"instance {task_id[:8]} HEALTHY in Cloud Map service {service_id}")
    return lines


def deregister(ecs: EcsSimulator, task_arn: str) -> list[str]:
    """Deregisters a stopping task from every Cloud Map service of the ECS service."""
    discovery = ecs.stack.endpoint.client("servicediscovery")
    task_id = task_arn.rsplit("/", 1)[1]
    lines = []
    for registry in registries(ecs):
        service_id = _service_id(registry)
        discovery.deregister_instance(ServiceId=service_id, InstanceId=task_id)
        lines.append(f"instance {task_id[:8]} deregistered from Cloud Map service {service_id}")
    return lines


def healthy_instances(ecs: EcsSimulator) -> int:
    """How many instances the service's Cloud Map services report HEALTHY (control-plane reads)."""
    discovery = ecs.stack.endpoint.client("servicediscovery")
    count = 0
    for registry in registries(ecs):
        statuses = discovery.get_instances_health_status(ServiceId=_service_id(registry))["Status"]
        count += sum(1 for status in statuses.values() if status == "HEALTHY")
    return count
