"""Each bridge of local_aws.samdeploy closes a gap that plain moto shows on a stack update."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

from local_aws import samdeploy
from local_aws.endpoint import LocalEndpoint


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _layered_function(bucket: str, description: str) -> dict[str, Any]:
    code = {"S3Bucket": bucket, "S3Key": "code.zip"}
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": code}},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": code,
                    "Layers": [{"Ref": "Layer"}],
                    "Description": description,
                },
            },
        }
    }


def _update_status(endpoint: LocalEndpoint) -> str:
    name = "l" + uuid.uuid4().hex[:6]
    s3 = endpoint.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="code.zip", Body=_zip())
    cloudformation = endpoint.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(_layered_function(name, "first")))
    try:
        cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(_layered_function(name, "second")))
    except Exception as error:  # the gap: moto answers 500, which botocore reports as a parse error
        return f"error: {type(error).__name__}"
    status: str = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    return status


def test_updating_a_function_that_uses_a_layer(endpoint: LocalEndpoint) -> None:
    assert samdeploy.installed() == list(samdeploy.BRIDGES)
    assert _update_status(endpoint) == "UPDATE_COMPLETE"
    samdeploy.release()
    try:
        assert _update_status(endpoint).startswith("error: ")
    finally:
        samdeploy.install()
    assert _update_status(endpoint) == "UPDATE_COMPLETE"


def _change_set_stack(endpoint: LocalEndpoint, template: dict[str, Any]) -> dict[str, Any]:
    """Creates a stack the way `sam deploy` does (a CREATE change set, then its execution); returns the stack."""
    name = "c" + uuid.uuid4().hex[:6]
    cloudformation = endpoint.client("cloudformation")
    change_set = cloudformation.create_change_set(
        StackName=name, ChangeSetName="one", ChangeSetType="CREATE", TemplateBody=json.dumps(template)
    )
    cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
    stack: dict[str, Any] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    stack["resourceTypes"] = sorted(
        r.get("ResourceType", "") for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    )
    return stack


def _without(bridge: str, endpoint: LocalEndpoint, template: dict[str, Any]) -> dict[str, Any]:
    samdeploy.release()
    try:
        patched = samdeploy.BRIDGES.copy()
        samdeploy.BRIDGES.pop(bridge)
        samdeploy.install()
        try:
            return _change_set_stack(endpoint, template)
        finally:
            samdeploy.release()
            samdeploy.BRIDGES.clear()
            samdeploy.BRIDGES.update(patched)
    finally:
        samdeploy.install()


QUEUE_WITH_OUTPUT = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
}
SAM_TABLE = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {"Table": {"Type": "AWS::Serverless::SimpleTable"}},
}


def test_outputs_after_a_change_set(endpoint: LocalEndpoint) -> None:
    assert "Outputs" not in _without("outputs_after_change_set", endpoint, QUEUE_WITH_OUTPUT)
    outputs = _change_set_stack(endpoint, QUEUE_WITH_OUTPUT)["Outputs"]
    assert [o["OutputKey"] for o in outputs] == ["QueueUrl"]
    assert outputs[0]["OutputValue"].startswith("http")


def test_the_serverless_transform_in_a_change_set(endpoint: LocalEndpoint) -> None:
    assert "AWS::DynamoDB::Table" not in _without("serverless_transform", endpoint, SAM_TABLE)["resourceTypes"]
    assert _change_set_stack(endpoint, SAM_TABLE)["resourceTypes"] == ["AWS::DynamoDB::Table"]
