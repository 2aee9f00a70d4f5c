"""The users' real deploy path against the local endpoint, as the demo takes it (local_aws.samstack): `sam build`,
then `warmkeeper deploy`, which runs the real `sam deploy` (samconfig's default environment, --parameter-overrides
for the local network) and creates the stack; then a second `warmkeeper deploy` with a new image tag, which updates
it. What the local CloudFormation lacks on the way is bridged by local_aws.samdeploy (tests/local_aws)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.samstack import deploy_stack_with_sam, redeploy_with_sam
from local_aws.scenario import LOCAL_OVERRIDES
from local_aws.stack import STACK_NAME, LocalStack

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning:moto.cloudformation.parsing")]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with LocalEndpoint() as running:
        running.reset()
        yield running


def _images(stack: LocalStack) -> tuple[int, list[str]]:
    ecs = stack.endpoint.client("ecs")
    service = ecs.describe_services(cluster=stack.cluster_name, services=[stack.service_name])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return int(definition["revision"]), [c["image"] for c in definition["containerDefinitions"]]


def test_sam_deploy_creates_then_updates_the_stack(endpoint: LocalEndpoint) -> None:
    stack = deploy_stack_with_sam(endpoint, stack_name=STACK_NAME, overrides=LOCAL_OVERRIDES)
    deployment = stack.sam
    assert deployment is not None
    try:
        cloudformation = endpoint.client("cloudformation")
        created = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        assert created["StackStatus"] == "CREATE_COMPLETE"
        assert {"Key": "warmkeeper:image-tag", "Value": "v1"} in created["Tags"]
        assert stack.outputs["StateParameterName"] == "/warmkeeper/warmkeeper/state"
        # samconfig's default environment (the local stack overrides none of its time rules).
        assert stack.parameters["LogRetentionDays"] == "14"
        assert stack.parameters["MinAwakeMinutes"] == "10"
        revision, images = _images(stack)
        assert revision == 1
        assert images
        assert all(image.endswith(":v1") for image in images)

        status, lines = redeploy_with_sam(stack, {"ImageTag": "v2"})
        assert status == 0, "\n".join(lines)
        assert lines[-1] == "deployed: warmkeeper ImageTag=v2"
        updated = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        assert updated["StackStatus"] == "UPDATE_COMPLETE"
        assert {"Key": "warmkeeper:image-tag", "Value": "v2"} in updated["Tags"]
        assert {"Key": "warmkeeper:previous-image-tag", "Value": "v1"} in updated["Tags"]
        assert stack.parameters["ImageTag"] == "v2"
        assert stack.parameters["MinAwakeMinutes"] == "10"
        revision, images = _images(stack)
        assert revision == 2
        assert all(image.endswith(":v2") for image in images)
        # Every resource of the stack is still there after the update.
        resources = cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
        assert {r["LogicalResourceId"] for r in resources if r.get("PhysicalResourceId")} >= set(stack.physical_ids)
        build = "reused" if deployment.build_reused else f"{deployment.build_seconds:.1f} s"
        print(  # noqa: T201 - the timings, for the report (pytest -s)
            f"sam build {build}; warmkeeper deploy (sam deploy): create {deployment.deploy_seconds[0]:.1f} s, "
            f"update {deployment.deploy_seconds[1]:.1f} s"
        )
    finally:
        deployment.close()
