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


def _update_outcome(endpoint: LocalEndpoint, bridge: str | None, update: Any) -> str:
    """``update()``'s outcome with every bridge, or without ``bridge``: its result, or the error's name."""

    def attempt() -> str:
        try:
            return str(update())
        except Exception as error:  # the gaps: moto refuses the update, or answers 500
            return f"error: {type(error).__name__}"

    if bridge is None:
        return attempt()
    samdeploy.release()
    patched = samdeploy.BRIDGES.copy()
    try:
        samdeploy.BRIDGES.pop(bridge)
        samdeploy.install()
        try:
            return attempt()
        finally:
            samdeploy.release()
    finally:
        samdeploy.BRIDGES.clear()
        samdeploy.BRIDGES.update(patched)
        samdeploy.install()


def _parameters(values: dict[str, str], previous: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()] + [
        {"ParameterKey": k, "UsePreviousValue": True} for k in previous
    ]


TOPIC_AND_TAG = {
    "Parameters": {"Size": {"Type": "String", "Default": "small"}, "Tag": {"Type": "String"}},
    "Resources": {
        # No TopicName: moto names it with a random suffix, so a replaced topic has a new ARN.
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "Size"}}},
        "TagParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": {"Fn::Sub": "/${AWS::StackName}/tag"}, "Type": "String", "Value": {"Ref": "Tag"}},
        },
    },
}


def test_an_update_changes_only_what_uses_a_changed_parameter(endpoint: LocalEndpoint) -> None:
    """What `sam deploy` sends for an update: the overridden parameters, UsePreviousValue for the others."""
    cloudformation = endpoint.client("cloudformation")

    def deploy_new_tag() -> str:
        name = "p" + uuid.uuid4().hex[:6]
        template = json.dumps(TOPIC_AND_TAG)
        cloudformation.create_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Tag": "v1"}))
        topic = _physical_id(endpoint, name, "Topic")
        change_set = cloudformation.create_change_set(
            StackName=name,
            ChangeSetName="update",
            ChangeSetType="UPDATE",
            TemplateBody=template,
            Parameters=_parameters({"Tag": "v2"}, previous=("Size",)),
        )
        cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
        tag = endpoint.client("ssm").get_parameter(Name=f"/{name}/tag")["Parameter"]["Value"]
        replaced = _physical_id(endpoint, name, "Topic") != topic
        return f"{tag} topic replaced: {replaced}"

    # moto: Size (left at its default, then sent as UsePreviousValue) counts as changed.
    assert _update_outcome(endpoint, "previous_parameter_values", deploy_new_tag) == "v2 topic replaced: True"
    assert _update_outcome(endpoint, None, deploy_new_tag) == "v2 topic replaced: False"


def _physical_id(endpoint: LocalEndpoint, stack: str, logical_id: str) -> str:
    resources = endpoint.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    return next(str(r["PhysicalResourceId"]) for r in resources if r["LogicalResourceId"] == logical_id)


LOG_GROUP_AND_USER = {
    "Parameters": {"Days": {"Type": "Number"}},
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Ref": "Days"}}},
        "Reader": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": {"Fn::Sub": "/${AWS::StackName}/reader"},
                "Type": "String",
                "Value": {"Fn::Join": ["|", [{"Fn::GetAtt": ["Logs", "Arn"]}, {"Ref": "Days"}]]},
            },
        },
    },
}


def test_updating_a_resource_moto_cannot_update(endpoint: LocalEndpoint) -> None:
    cloudformation = endpoint.client("cloudformation")

    def update_retention() -> str:
        name = "g" + uuid.uuid4().hex[:6]
        template = json.dumps(LOG_GROUP_AND_USER)
        cloudformation.create_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Days": "7"}))
        cloudformation.update_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Days": "14"}))
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        resources = sorted(
            r["LogicalResourceId"]
            for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
            if r.get("PhysicalResourceId")
        )
        return f"{stack['StackStatus']} {resources}"

    # moto: the log group's entry becomes None, and the parameter's Fn::GetAtt of it "undefined".
    assert _update_outcome(endpoint, "update_without_model_update", update_retention) == "error: ClientError"
    assert _update_outcome(endpoint, None, update_retention) == "UPDATE_COMPLETE ['Logs', 'Reader']"


OPTIONAL_TOPIC = {
    "Parameters": {"Email": {"Type": "String", "Default": ""}, "Suffix": {"Type": "String"}},
    "Conditions": {"HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}},
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Condition": "HasEmail",
            "Properties": {"DisplayName": {"Fn::Sub": "alerts-${Suffix}"}},
        },
        "Label": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": {"Fn::Sub": "/${AWS::StackName}/label"},
                "Type": "String",
                "Value": {"Ref": "Suffix"},
            },
        },
    },
}


def test_updating_a_conditional_resource(endpoint: LocalEndpoint) -> None:
    cloudformation = endpoint.client("cloudformation")

    def resources(name: str) -> list[str]:
        listed = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        return sorted(r["LogicalResourceId"] for r in listed if r.get("PhysicalResourceId"))

    def update_then_subscribe() -> str:
        name = "t" + uuid.uuid4().hex[:6]
        template = json.dumps(OPTIONAL_TOPIC)
        cloudformation.create_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Suffix": "a"}))
        cloudformation.update_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Suffix": "b"}))
        without_email = resources(name)
        with_email = {"Suffix": "c", "Email": "ops@example.com"}
        cloudformation.update_stack(StackName=name, TemplateBody=template, Parameters=_parameters(with_email))
        with_topic = resources(name)
        cloudformation.update_stack(StackName=name, TemplateBody=template, Parameters=_parameters({"Suffix": "c"}))
        email_gone = resources(name)
        # Only the condition's parameter changes: the topic's own properties are the same.
        cloudformation.update_stack(StackName=name, TemplateBody=template, Parameters=_parameters(with_email))
        return f"{without_email} {with_topic} {email_gone} {resources(name)}"

    # moto: the topic whose condition is false is "updated" (None handed to the SNS model).
    assert _update_outcome(endpoint, "conditional_resource_update", update_then_subscribe).startswith("error: ")
    assert _update_outcome(endpoint, None, update_then_subscribe) == (
        "['Label'] ['Label', 'Topic'] ['Label'] ['Label', 'Topic']"
    )


def test_tags_after_an_update_change_set(endpoint: LocalEndpoint) -> None:
    cloudformation = endpoint.client("cloudformation")

    def retag() -> str:
        name = "r" + uuid.uuid4().hex[:6]
        template = json.dumps(QUEUE_WITH_OUTPUT)
        cloudformation.create_stack(StackName=name, TemplateBody=template, Tags=[{"Key": "tag", "Value": "v1"}])
        change_set = cloudformation.create_change_set(
            StackName=name,
            ChangeSetName="retag",
            ChangeSetType="UPDATE",
            TemplateBody=template,
            Tags=[{"Key": "tag", "Value": "v2"}, {"Key": "previous", "Value": "v1"}],
        )
        cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
        tags = cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Tags", [])
        return " ".join(sorted(f"{t['Key']}={t['Value']}" for t in tags))

    assert _update_outcome(endpoint, "tags_after_change_set", retag) == "tag=v1"
    assert _update_outcome(endpoint, None, retag) == "previous=v1 tag=v2"


def test_a_template_url_on_an_address(endpoint: LocalEndpoint) -> None:
    """What `sam deploy` sends when the S3 endpoint is an address: a path-style URL on that address."""
    s3 = endpoint.client("s3")
    bucket = "u" + uuid.uuid4().hex[:6]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="stack/template.json", Body=json.dumps(QUEUE_WITH_OUTPUT).encode())
    url = f"{endpoint.url}/{bucket}/stack/template.json"
    assert url.startswith("http://127.0.0.1:")
    cloudformation = endpoint.client("cloudformation")

    def create() -> str:
        name = "a" + uuid.uuid4().hex[:6]
        cloudformation.create_stack(StackName=name, TemplateURL=url)
        return str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])

    # moto: the bucket read from the URL is "127".
    assert _update_outcome(endpoint, "template_url_of_an_address", create).startswith("error: ")
    assert _update_outcome(endpoint, None, create) == "CREATE_COMPLETE"
