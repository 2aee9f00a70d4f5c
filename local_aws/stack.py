"""The stack of template.yaml, created in the local endpoint's CloudFormation.

template.yaml is the single source: the SAM translator turns it into plain CloudFormation (code locations
rewritten to zips in the local S3), moto's CloudFormation creates it with the bridges of
:mod:`local_aws.bridges`, and what moto still cannot create is created afterwards from the same translated
template's properties. Nothing here lists the stack's resources by hand.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from local_aws.endpoint import ACCOUNT_ID, LocalEndpoint, scoped_environment

if TYPE_CHECKING:
    from local_aws.samstack import SamDeployment

# moto's CloudFormation engine, in this process: it resolves intrinsics against the created stack.
cfn_models: Any = importlib.import_module("moto.cloudformation.models")
cfn_parsing: Any = importlib.import_module("moto.cloudformation.parsing")

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
STACK_NAME = "warmkeeper"
ARTIFACT_BUCKET = "warmkeeper-local-artifacts"
_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}
# Files a function zip never needs.
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


class StackError(RuntimeError):
    """template.yaml could not be turned into a local stack; the message says which step and why."""


@dataclass(frozen=True)
class LocalFunction:
    """A Lambda function of the stack as the local endpoint holds it."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout: int


@dataclass
class LocalStack:
    """The created stack: physical ids by logical id, outputs, functions, and the translated template."""

    endpoint: LocalEndpoint
    name: str
    template_path: Path
    parameters: dict[str, str]
    translated: dict[str, Any]
    physical_ids: dict[str, str]
    outputs: dict[str, str]
    functions: dict[str, LocalFunction]
    network: dict[str, Any]
    layer_dirs: list[Path] = field(default_factory=list)
    created_after_stack: list[str] = field(default_factory=list)
    not_modelled: dict[str, str] = field(default_factory=dict)
    # How sam build + sam deploy made it (local_aws.samstack); None: created in process by deploy() below.
    sam: SamDeployment | None = None

    def function(self, logical_id: str) -> LocalFunction:
        try:
            return self.functions[logical_id]
        except KeyError:
            raise StackError(f"the stack has no function {logical_id!r}; it has {sorted(self.functions)}") from None

    def function_by_arn(self, arn: str) -> LocalFunction:
        for function in self.functions.values():
            if arn in (function.arn, function.name) or arn.startswith(function.arn + ":"):
                return function
        raise StackError(f"no function of the stack has the ARN {arn}")

    # Where the stack's service, its target group and the listener are: the template's outputs, or, in attach
    # mode (the service and listener are the user's, made outside the template), the parameters naming them.

    def _output_or_parameter(self, output: str, parameter: str) -> str:
        value = self.outputs.get(output) or self.parameters.get(parameter)
        if not value:
            raise StackError(f"the stack has neither an output {output!r} nor a parameter {parameter!r}")
        return value

    @property
    def cluster_name(self) -> str:
        return self._output_or_parameter("ClusterName", "ExistingClusterName")

    @property
    def service_name(self) -> str:
        return self._output_or_parameter("ServiceName", "ExistingServiceName")

    @property
    def service_target_group_arn(self) -> str:
        return self._output_or_parameter("EcsTargetGroupArn", "ExistingTargetGroupArn")

    @property
    def listener_arn(self) -> str:
        return self._output_or_parameter("ListenerArn", "ExistingListenerArn")

    @property
    def waker_target_group_arn(self) -> str:
        if "WakerTargetGroupArn" in self.outputs:
            return self.outputs["WakerTargetGroupArn"]
        groups = self.resources_of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        lambdas = [i for i, r in groups.items() if r.get("Properties", {}).get("TargetType") == "lambda"]
        if len(lambdas) != 1:
            raise StackError(f"the stack has no WakerTargetGroupArn output and {len(lambdas)} Lambda target groups")
        return self.physical_ids[lambdas[0]]

    def traffic_rule_arn(self) -> str | None:
        """The stack's own listener rule that forwards by weight to the service and the waker (None: the
        traffic is switched in the listener's default action, as the full stack did before rules)."""
        if "RouteRuleArn" in self.outputs:
            return self.outputs["RouteRuleArn"]
        rule_ids = [self.physical_ids[i] for i in self.resources_of_type("AWS::ElasticLoadBalancingV2::ListenerRule")]
        if not rule_ids:
            return None
        rules = self.endpoint.client("elbv2").describe_rules(RuleArns=rule_ids)["Rules"]
        waker = self.waker_target_group_arn
        for rule in rules:
            for action in rule.get("Actions", []):
                groups = {g["TargetGroupArn"] for g in action.get("ForwardConfig", {}).get("TargetGroups", [])}
                if waker in groups and len(groups) > 1:
                    return str(rule["RuleArn"])
        return None

    def condition_holds(self, logical_id: str) -> bool:
        """Whether the translated resource's Condition (if any) held when the stack was created."""
        return _condition_holds(self.endpoint, self.name, self.translated["Resources"][logical_id])

    def alarm_names(self) -> list[str]:
        return [self.physical_ids[i] for i in self.resources_of_type("AWS::CloudWatch::Alarm")]

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Translated resources of ``resource_type`` whose condition holds, by logical id."""
        return {
            logical_id: resource
            for logical_id, resource in self.translated["Resources"].items()
            if resource["Type"] == resource_type and logical_id in self.physical_ids
        }


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StackError(f"cannot read the template {path}: {error}") from error
    document = yaml_parse(text)
    if not isinstance(document, dict) or "Resources" not in document:
        raise StackError(f"{path} is not a CloudFormation template (no Resources)")
    result: dict[str, Any] = json.loads(json.dumps(document))
    return result


def _zip_directory(directory: Path) -> bytes:
    if not directory.is_dir():
        raise StackError(f"code directory {directory} does not exist")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not _SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc":
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def upload_code(
    endpoint: LocalEndpoint, template: dict[str, Any], base: Path, stack_name: str = STACK_NAME
) -> dict[str, Path]:
    """Zips every CodeUri/ContentUri into the local S3 and points the template at it; returns the dirs."""
    s3 = endpoint.client("s3")
    if ARTIFACT_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    code_dirs: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        key = _CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties", {})
        if key is None or key not in properties:
            continue
        location = properties[key]
        if not isinstance(location, str):
            raise StackError(f"{logical_id}.{key} must be a local path, not {location!r}")
        directory = (base / location).resolve()
        # One key per stack and function: two stacks of one template share the bucket.
        object_key = f"{stack_name}/{logical_id}.zip"
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=object_key, Body=_zip_directory(directory))
        properties[key] = f"s3://{ARTIFACT_BUCKET}/{object_key}"
        code_dirs[logical_id] = directory
    return code_dirs


def translate(endpoint: LocalEndpoint, template: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """SAM to plain CloudFormation; the managed-policy loader asks the local endpoint's IAM."""
    with scoped_environment(endpoint.function_environment()):
        try:
            translated: dict[str, Any] = transform(
                template, dict(parameters), ManagedPolicyLoader(endpoint.client("iam"))
            )
        except Exception as error:
            # samtranslator raises its own InvalidDocumentException with the causes in .causes.
            causes = getattr(error, "causes", None)
            detail = "; ".join(str(cause) for cause in causes) if causes else str(error)
            raise StackError(f"the SAM translator rejected the template: {detail}") from error
    return translated


def create_network(endpoint: LocalEndpoint) -> dict[str, Any]:
    """A VPC and two subnets in two zones, standing in for the network parameters of a real account."""
    ec2 = endpoint.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{index}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for index, zone in enumerate(("us-east-1a", "us-east-1b"), start=1)
    ]
    return {"VpcId": vpc_id, "SubnetIds": subnets}


def local_parameters(network: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    subnets = ",".join(network["SubnetIds"])
    parameters = {"VpcId": network["VpcId"], "AlbSubnetIds": subnets, "TaskSubnetIds": subnets}
    parameters.update(overrides or {})
    return parameters


def _stack_failure(endpoint: LocalEndpoint, name: str) -> str:
    events = endpoint.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    failed = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', e['ResourceStatus'])}"
        for e in events
        if e["ResourceStatus"].endswith("FAILED")
    ]
    return "; ".join(failed) or "no failure reason recorded"


def _functions(
    endpoint: LocalEndpoint, translated: dict[str, Any], physical_ids: dict[str, str], code_dirs: dict[str, Path]
) -> dict[str, LocalFunction]:
    lambda_client = endpoint.client("lambda")
    functions: dict[str, LocalFunction] = {}
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function" or logical_id not in physical_ids:
            continue
        configuration = lambda_client.get_function_configuration(FunctionName=physical_ids[logical_id])
        if logical_id not in code_dirs:
            raise StackError(f"function {logical_id} has no local code directory")
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=configuration["FunctionName"],
            arn=configuration["FunctionArn"],
            handler=configuration["Handler"],
            code_dir=code_dirs[logical_id],
            # Lambda's variables are strings; moto hands back Number parameters as numbers.
            environment={k: str(v) for k, v in configuration.get("Environment", {}).get("Variables", {}).items()},
            timeout=int(configuration.get("Timeout", 3)),
        )
    return functions


# --- what moto's CloudFormation does not create, created from the translated template's properties -----


def _resolver(endpoint: LocalEndpoint, stack_name: str) -> Callable[[Any], Any]:
    """Resolves intrinsics (Ref, GetAtt, Sub...) with moto's own engine, against the created stack."""
    backend = cfn_models.cloudformation_backends[ACCOUNT_ID][endpoint.region]
    resource_map = backend.get_stack(stack_name).resource_map

    def resolve(value: Any) -> Any:
        return cfn_parsing.clean_json(copy.deepcopy(value), resource_map)

    return resolve


def _complete_target_group(endpoint: LocalEndpoint, physical_id: str, properties: dict[str, Any]) -> list[str]:
    elbv2 = endpoint.client("elbv2")
    done = []
    if properties.get("Targets"):
        targets = [{"Id": t["Id"], **({"Port": int(t["Port"])} if "Port" in t else {})} for t in properties["Targets"]]
        elbv2.register_targets(TargetGroupArn=physical_id, Targets=targets)
        done.append("Targets")
    if properties.get("TargetGroupAttributes"):
        attributes = [{"Key": a["Key"], "Value": str(a["Value"])} for a in properties["TargetGroupAttributes"]]
        elbv2.modify_target_group_attributes(TargetGroupArn=physical_id, Attributes=attributes)
        done.append("TargetGroupAttributes")
    return done


def _complete_load_balancer(endpoint: LocalEndpoint, physical_id: str, properties: dict[str, Any]) -> list[str]:
    if not properties.get("LoadBalancerAttributes"):
        return []
    attributes = [{"Key": a["Key"], "Value": str(a["Value"])} for a in properties["LoadBalancerAttributes"]]
    endpoint.client("elbv2").modify_load_balancer_attributes(LoadBalancerArn=physical_id, Attributes=attributes)
    return ["LoadBalancerAttributes"]


def _complete_event_invoke_config(endpoint: LocalEndpoint, _physical_id: str, properties: dict[str, Any]) -> list[str]:
    arguments: dict[str, Any] = {"FunctionName": properties["FunctionName"]}
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in properties:
            arguments[key] = int(properties[key])
    if "DestinationConfig" in properties:
        arguments["DestinationConfig"] = properties["DestinationConfig"]
    endpoint.client("lambda").put_function_event_invoke_config(**arguments)
    return ["whole resource"]


def _complete_queue_policy(endpoint: LocalEndpoint, _physical_id: str, properties: dict[str, Any]) -> list[str]:
    sqs = endpoint.client("sqs")
    for queue_url in properties["Queues"]:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])})
    return ["whole resource"]


def _complete_bucket_policy(endpoint: LocalEndpoint, _physical_id: str, properties: dict[str, Any]) -> list[str]:
    endpoint.client("s3").put_bucket_policy(
        Bucket=properties["Bucket"], Policy=json.dumps(properties["PolicyDocument"])
    )
    return ["whole resource"]


Completion = Callable[[LocalEndpoint, str, dict[str, Any]], list[str]]
# Resource types (or properties of them) moto's CloudFormation accepts but does not apply.
COMPLETIONS: dict[str, Completion] = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": _complete_target_group,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _complete_load_balancer,
    "AWS::Lambda::EventInvokeConfig": _complete_event_invoke_config,
    "AWS::SQS::QueuePolicy": _complete_queue_policy,
    "AWS::S3::BucketPolicy": _complete_bucket_policy,
}
# Types with no behaviour to reproduce locally.
_INERT_TYPES = {"AWS::CloudFormation::WaitConditionHandle"}


def _condition_holds(endpoint: LocalEndpoint, stack_name: str, resource: dict[str, Any]) -> bool:
    condition = resource.get("Condition")
    if condition is None:
        return True
    backend = cfn_models.cloudformation_backends[ACCOUNT_ID][endpoint.region]
    return bool(backend.get_stack(stack_name).resource_map.lazy_condition_map[condition])


def complete(
    endpoint: LocalEndpoint, stack_name: str, translated: dict[str, Any], physical_ids: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Applies :data:`COMPLETIONS`; returns what was completed and the types nothing reproduces."""
    resolve = _resolver(endpoint, stack_name)
    model_types = set(cfn_parsing.get_model_map())
    completed: list[str] = []
    not_modelled: dict[str, str] = {}
    for logical_id, resource in translated["Resources"].items():
        if not _condition_holds(endpoint, stack_name, resource):
            continue
        resource_type = resource["Type"]
        completion = COMPLETIONS.get(resource_type)
        if completion is not None:
            properties = resolve(resource.get("Properties", {}))
            try:
                done = completion(endpoint, physical_ids.get(logical_id, ""), properties)
            except Exception as error:
                raise StackError(f"could not create {logical_id} ({resource_type}) locally: {error}") from error
            completed.extend(f"{logical_id}: {part}" for part in done)
        elif resource_type not in model_types and resource_type not in _INERT_TYPES:
            not_modelled[logical_id] = resource_type
    return completed, not_modelled


def deploy(
    endpoint: LocalEndpoint,
    *,
    template_path: Path = TEMPLATE,
    stack_name: str = STACK_NAME,
    overrides: Mapping[str, str] | None = None,
    network: Mapping[str, Any] | None = None,
) -> LocalStack:
    """Creates the stack of ``template_path`` in ``endpoint``; raises :class:`StackError` on any failure.

    ``network``: the VPC and subnets to deploy into (a user's, in attach mode); by default a new one."""
    template = load_template(template_path)
    code_dirs = upload_code(endpoint, template, template_path.parent, stack_name)
    network = dict(network) if network is not None else create_network(endpoint)
    parameters = local_parameters(network, overrides)
    translated = translate(endpoint, template, parameters)
    cloudformation = endpoint.client("cloudformation")
    known = set(translated.get("Parameters", {}))
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise StackError(f"the template has no parameter(s) {unknown}")
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(translated),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as error:
        raise StackError(f"the local CloudFormation refused the stack: {error}") from error
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(f"stack {stack_name} is {stack['StackStatus']}: {_stack_failure(endpoint, stack_name)}")
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("PhysicalResourceId")}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    created_after_stack, not_modelled = complete(endpoint, stack_name, translated, physical_ids)
    return LocalStack(
        endpoint=endpoint,
        name=stack_name,
        template_path=template_path,
        parameters=parameters,
        translated=translated,
        physical_ids=physical_ids,
        outputs=outputs,
        functions=_functions(endpoint, translated, physical_ids, code_dirs),
        network=network,
        layer_dirs=[
            d for k, d in code_dirs.items() if template["Resources"][k]["Type"] == "AWS::Serverless::LayerVersion"
        ],
        created_after_stack=created_after_stack,
        not_modelled=not_modelled,
    )


__all__ = ["ACCOUNT_ID", "LocalFunction", "LocalStack", "StackError", "deploy", "load_template"]
