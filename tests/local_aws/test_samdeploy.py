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
    assert samdeploy.installed() == ["layer_function_update"]
    assert _update_status(endpoint) == "UPDATE_COMPLETE"
    samdeploy.release()
    try:
        assert _update_status(endpoint).startswith("error: ")
    finally:
        samdeploy.install()
    assert _update_status(endpoint) == "UPDATE_COMPLETE"
