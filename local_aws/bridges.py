"""Bridges over the gaps between moto 5.2 and AWS that a stack built from template.yaml falls into.

Each bridge is named for the gap it closes and is installed once, in the process that runs the local
endpoint, before the first stack is created (moto collects its CloudFormation models on first use and
caches them; :func:`install` clears that cache). Gaps, as observed with tiny templates
(tests/local_aws/test_bridges.py shows each one failing without its bridge):

- ``alarm_model``: ``AWS::CloudWatch::Alarm`` has no CloudFormation model, the alarm is skipped silently.
- ``secret_model``: ``AWS::SecretsManager::Secret`` has no CloudFormation model either.
- ``listener_forward_config``: a listener default action with ``ForwardConfig`` (weighted target groups)
  fails with ``KeyError: 'TargetGroupArn'`` in moto's property conversion.
- ``service_default_desired_count``: a service created without ``DesiredCount`` starts at 0 tasks in moto;
  AWS starts a REPLICA service at 1.
- ``service_running_count``: ``UpdateService`` with a new ``desiredCount`` sets moto's ``runningCount`` to it
  at once, as if tasks started (or stopped) instantly; in AWS the running count follows the tasks. With the
  bridge the running count stays what the tasks are (local_aws.simulate starts and stops them visibly).
- ``target_group_attributes``: ``Fn::GetAtt`` of a target group (``TargetGroupFullName``...) is not
  answered (moto's target group has no ``get_cfn_attribute``).
- ``load_balancer_full_name``: ``Fn::GetAtt`` ``LoadBalancerFullName`` is "not implemented" and resolves to
  nothing, which would leave the ALB metrics' ``LoadBalancer`` dimension empty.
- ``stack_update_dependents``: a stack update that changes only a parameter used inside ``Fn::Sub`` (an
  image tag, say) updates nothing in moto, and even when a resource is replaced (a new task definition
  revision), the resources that reference it (the service) keep the old value. With the bridge, such
  parameters mark their resources modified, and dependents of a resource whose physical id changed are
  updated too, as CloudFormation does.
- ``task_definition_update_casing``: a CloudFormation update of a task definition registers the new
  revision from CloudFormation's key casing (``Image``, ``Name``), which moto's register does not read, so
  the new revision has no image and no name; the bridge gives the update the API's casing, as moto's
  create does.
- ``events_lambda_targets``: a rule with a Lambda target makes ``PutEvents`` fail (moto raises
  NotImplementedError while sending to the target) as soon as an event matches the rule; with the bridge,
  moto sends to its other targets and leaves Lambda targets to :mod:`local_aws.eventbus`, which invokes them.
- ``select_index_intrinsic``: ``Fn::Select`` whose index is itself an intrinsic (``Ref`` of a Number
  parameter, ``Fn::FindInMap``), which CloudFormation allows, fails in moto with ``TypeError: int()
  argument must be ... not 'dict'`` and the stack is refused. The bridge resolves the index first.
- ``listener_rule_priority_type``: a ``ListenerRule`` keeps its ``Priority`` as CloudFormation resolved it,
  a string when it comes from ``Fn::Select`` (CloudFormation has no arithmetic) and a number from a
  literal or a Number parameter; the next rule on that listener then fails with ``TypeError: '<' not
  supported between instances of 'int' and 'str'``. AWS's priority is an integer; the bridge makes it one.
- ``listener_rule_delete``: deleting a stack leaves its ``AWS::ElasticLoadBalancingV2::ListenerRule`` on the
  listener (moto's rule model has no CloudFormation delete); in AWS the rule goes with the stack. Matters
  when the listener is not the stack's own (attach mode): a deleted stack's rule would keep its hosts.
- ``target_group_delete``: deleting a stack leaves its target groups in moto; in AWS they go with the stack.
- ``alarm_state_change_events``: moto changes an alarm's state but emits no "CloudWatch Alarm State Change"
  event; the bridge reports every real transition (before and after state) to listeners, from which
  :mod:`local_aws.eventbus` builds the event AWS would send.
- ``http_api_models``: ``AWS::ApiGatewayV2::Api``, ``Stage``, ``Integration``, ``Route`` and ``VpcLink``
  have no CloudFormation model (moto has the apigatewayv2 API only): the HTTP API front door is skipped
  silently. The bridge creates them through moto's backend (an API from an OpenAPI body is refused, clearly);
  while local_aws.execute_api serves the local HTTP APIs, an API's ``ApiEndpoint`` is that local URL.
- ``cloud_map_models``: ``AWS::ServiceDiscovery::HttpNamespace``, ``PrivateDnsNamespace`` and ``Service``
  have no CloudFormation model either.
- ``service_registries``: an ``AWS::ECS::Service``'s ``ServiceRegistries`` are dropped by moto's
  CloudFormation; AWS registers the service's tasks in those Cloud Map services.
- ``vpc_link_status``: moto's VPC link is AVAILABLE forever; AWS's turns INACTIVE after 60 days unused and
  comes back through PENDING. The bridge reports the status local_aws.httpapi gives it.
- ``ecs_task_states``: moto moves a task's status on by itself (a RUNNING task reads DEACTIVATING at its
  first DescribeTasks); the simulated ECS's tasks (local_aws.ecs_tasks) change only when the simulator says so.
  (tests/local_aws/test_http_api_bridges.py shows these five.)
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.moto_api import state_manager

# moto's internals that the bridges patch, typed loosely on purpose: they are not a public API.
cfn_parsing: Any = importlib.import_module("moto.cloudformation.parsing")
cw_models: Any = importlib.import_module("moto.cloudwatch.models")
ecs_models: Any = importlib.import_module("moto.ecs.models")
elbv2_models: Any = importlib.import_module("moto.elbv2.models")
events_models: Any = importlib.import_module("moto.events.models")
sm_models: Any = importlib.import_module("moto.secretsmanager.models")
apigwv2_models: Any = importlib.import_module("moto.apigatewayv2.models")
sd_models: Any = importlib.import_module("moto.servicediscovery.models")

_lock = threading.Lock()
_targets_lock = threading.Lock()
_installed: list[str] = []
# (owner, attribute, what it was): restored by uninstall, so moto is moto again for other code in the process.
_patches: list[tuple[Any, str, Any]] = []
_users = 0
# What uninstalls a bridge that is not a patched attribute (moto's state manager settings).
_restores: list[Callable[[], None]] = []


_ABSENT = object()


def _patch(owner: Any, attribute: str, replacement: Any) -> None:
    # Only the class's own attribute is saved: an inherited one is restored by deleting the override.
    _patches.append((owner, attribute, owner.__dict__.get(attribute, _ABSENT)))
    setattr(owner, attribute, replacement)


# --- alarm_model -----------------------------------------------------------------------------------


def _dimensions(raw: list[dict[str, Any]] | None) -> list[cw_models.Dimension]:
    return [cw_models.Dimension(name=item.get("Name"), value=item.get("Value")) for item in raw or []]


def _metric_data_queries(raw: list[dict[str, Any]] | None) -> list[cw_models.MetricDataQuery] | None:
    if not raw:
        return None
    queries = []
    for item in raw:
        stat = item.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat.get("Metric", {})
            metric_stat = cw_models.MetricStat(
                metric=cw_models.Metric(
                    metric_name=metric.get("MetricName"),
                    namespace=metric.get("Namespace"),
                    dimensions=_dimensions(metric.get("Dimensions")),
                ),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            cw_models.MetricDataQuery(
                query_id=item.get("Id"),
                label=item.get("Label"),
                period=item.get("Period"),
                # A boolean, as moto's PutMetricAlarm passes it (a template may say "false").
                return_data=item.get("ReturnData", True) in (True, "true", "True"),
                expression=item.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def put_alarm_from_properties(name: str, properties: dict[str, Any], account_id: str, region: str) -> Any:
    """PutMetricAlarm from the CloudFormation properties of an ``AWS::CloudWatch::Alarm``."""
    backend = cw_models.cloudwatch_backends[account_id][region]
    previous = backend.alarms.get(name)
    alarm = backend.put_metric_alarm(
        name=name,
        namespace=properties.get("Namespace"),
        metric_name=properties.get("MetricName"),
        comparison_operator=properties.get("ComparisonOperator"),
        evaluation_periods=_optional_int(properties.get("EvaluationPeriods")),
        period=_optional_int(properties.get("Period")),
        threshold=float(properties["Threshold"]) if "Threshold" in properties else None,
        statistic=properties.get("Statistic"),
        description=properties.get("AlarmDescription"),
        dimensions=[{"Name": d.get("Name"), "Value": d.get("Value")} for d in properties.get("Dimensions", [])],
        alarm_actions=list(properties.get("AlarmActions", [])),
        metric_data_queries=_metric_data_queries(properties.get("Metrics")),
        datapoints_to_alarm=_optional_int(properties.get("DatapointsToAlarm")),
        extended_statistic=properties.get("ExtendedStatistic"),
        ok_actions=list(properties.get("OKActions", [])),
        insufficient_data_actions=list(properties.get("InsufficientDataActions", [])),
        unit=properties.get("Unit"),
        actions_enabled=properties.get("ActionsEnabled", True) in (True, "true", "True"),
        treat_missing_data=properties.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
        threshold_metric_id=properties.get("ThresholdMetricId"),
        tags=properties.get("Tags"),
    )
    if previous is not None:
        # AWS: updating an alarm leaves its state unchanged and only overwrites the configuration.
        alarm.state_value = previous.state_value
        alarm.state_reason = previous.state_reason
        alarm.state_reason_data = previous.state_reason_data
        alarm.state_updated_timestamp = previous.state_updated_timestamp
        alarm.history = previous.history
    else:
        # AWS starts a new alarm in INSUFFICIENT_DATA (moto says OK) until its first evaluation.
        alarm.state_value = "INSUFFICIENT_DATA"
    return alarm


class _NamedStandIn:
    """What moto's CloudFormation asks of a model, for a resource known by a name and an ARN.

    Subclasses say their type, the property naming them, whether Ref answers the ARN (or the name) and
    which GetAtt attribute answers the ARN; they add the create, update and delete calls.
    """

    CFN_TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str]
    REF_IS_ARN: ClassVar[bool]
    ARN_ATTRIBUTE: ClassVar[str]

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn if self.REF_IS_ARN else self.name

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == cls.ARN_ATTRIBUTE

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == self.ARN_ATTRIBUTE:
            return self.arn
        raise UnformattedGetAttTemplateException()


class _AlarmModel(_NamedStandIn):
    """``AWS::CloudWatch::Alarm`` for moto's CloudFormation: Ref is the alarm name, GetAtt Arn its ARN.

    Mixed into a ``CloudFormationModel`` subclass only when the bridge is installed, because moto finds
    its models as direct subclasses of ``CloudFormationModel``.
    """

    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    REF_IS_ARN = False
    ARN_ATTRIBUTE = "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_kwargs: Any,
    ) -> _AlarmModel:
        alarm = put_alarm_from_properties(resource_name, cloudformation_json["Properties"], account_id, region_name)
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _AlarmModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _AlarmModel:
        if new_resource_name != original_resource.name:
            # A new AlarmName replaces the alarm, as in AWS.
            cw_models.cloudwatch_backends[account_id][region_name].delete_alarms([original_resource.name])
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, _cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cw_models.cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


# --- secret_model ----------------------------------------------------------------------------------


def _secret_string(properties: dict[str, Any], account_id: str, region: str) -> str | None:
    if "SecretString" in properties:
        return str(properties["SecretString"])
    generate = properties.get("GenerateSecretString")
    if generate is None:
        return None
    backend = sm_models.secretsmanager_backends[account_id][region]
    password = backend.get_random_password(
        password_length=int(generate.get("PasswordLength", 32)),
        exclude_characters=generate.get("ExcludeCharacters", ""),
        exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
        exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
        exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
        exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
        include_space=bool(generate.get("IncludeSpace", False)),
        require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
    )
    # moto answers with the API's JSON document.
    password = json.loads(password)["RandomPassword"]
    template = generate.get("SecretStringTemplate")
    key = generate.get("GenerateStringKey")
    if template is not None and key is not None:
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return str(password)


class _SecretModel(_NamedStandIn):
    """``AWS::SecretsManager::Secret`` for moto's CloudFormation: Ref and GetAtt Id are the secret's ARN."""

    CFN_TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    REF_IS_ARN = True
    ARN_ATTRIBUTE = "Id"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_kwargs: Any,
    ) -> _SecretModel:
        properties = cloudformation_json["Properties"]
        backend = sm_models.secretsmanager_backends[account_id][region_name]
        backend.create_secret(
            name=resource_name,
            secret_string=_secret_string(properties, account_id, region_name),
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(resource_name, backend.describe_secret(resource_name).arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _SecretModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _SecretModel:
        if new_resource_name == original_resource.name:
            # The generated value stays: CloudFormation regenerates only when GenerateSecretString changes,
            # which a local stack does not need to follow.
            return original_resource
        cls.delete_from_cloudformation_json(original_resource.name, {}, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, _cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        sm_models.secretsmanager_backends[account_id][region_name].delete_secret(
            resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


# --- listener_forward_config -----------------------------------------------------------------------


def _install_listener_forward_config() -> None:
    backend_class = elbv2_models.ELBv2Backend
    original = backend_class.convert_and_validate_properties

    def convert_and_validate_properties(self: Any, properties: dict[str, Any]) -> list[dict[str, Any]]:
        actions = []
        for action in properties["DefaultActions"]:
            if action.get("Type") == "forward" and "ForwardConfig" in action:
                # Kept whole: moto's listener, ModifyListener and DescribeListeners all speak ForwardConfig.
                actions.append(copy.deepcopy(action))
            else:
                actions.extend(original(self, {"DefaultActions": [action]}))
        return actions

    _patch(backend_class, "convert_and_validate_properties", convert_and_validate_properties)


# --- select_index_intrinsic ------------------------------------------------------------------------


def _install_select_index_intrinsic() -> None:
    original = cfn_parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Select" in resource_json:
            index, values = resource_json["Fn::Select"]
            if isinstance(index, dict):
                resource_json = {**resource_json, "Fn::Select": [clean_json(index, resources_map), values]}
        return original(resource_json, resources_map)

    # moto's clean_json calls itself through the module's name, so nested selects see the bridge too.
    _patch(cfn_parsing, "clean_json", clean_json)


# --- listener_rule_delete, target_group_delete ------------------------------------------------------


def _install_listener_rule_priority_type() -> None:
    rule_class = elbv2_models.FakeListenerRule
    original = rule_class.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        if "Priority" in properties:
            cloudformation_json = {
                **cloudformation_json,
                "Properties": {**properties, "Priority": int(properties["Priority"])},
            }
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    _patch(rule_class, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _install_listener_rule_delete() -> None:
    def delete_from_cloudformation_json(
        _cls: Any, resource_name: str, _cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        # resource_name is the physical id: the rule's ARN.
        elbv2_models.elbv2_backends[account_id][region_name].delete_rule(resource_name)

    _patch(
        elbv2_models.FakeListenerRule, "delete_from_cloudformation_json", classmethod(delete_from_cloudformation_json)
    )


def _install_target_group_delete() -> None:
    def delete_from_cloudformation_json(
        _cls: Any, resource_name: str, _cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = elbv2_models.elbv2_backends[account_id][region_name]
        if resource_name in backend.target_groups:
            # Raises ResourceInUse while a rule still forwards to it; moto's stack delete then tries again
            # after the rule's deletion, as CloudFormation orders it by the dependency.
            backend.delete_target_group(resource_name)

    _patch(
        elbv2_models.FakeTargetGroup, "delete_from_cloudformation_json", classmethod(delete_from_cloudformation_json)
    )


# --- service_default_desired_count -----------------------------------------------------------------


def _install_service_default_desired_count() -> None:
    service_class = ecs_models.Service
    original = service_class.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        if "DesiredCount" not in properties and properties.get("SchedulingStrategy", "REPLICA") == "REPLICA":
            # Only on create: an update without DesiredCount leaves the count alone, in moto as in AWS.
            cloudformation_json = {**cloudformation_json, "Properties": {**properties, "DesiredCount": 1}}
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    _patch(service_class, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


# --- service_running_count -------------------------------------------------------------------------


def _install_service_running_count() -> None:
    backend_class = ecs_models.EC2ContainerServiceBackend
    original = backend_class.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = str(service_properties.get("service", "")).split("/")[-1]
        before = self.services.get(f"{cluster.split('/')[-1]}:{name}")
        running = None if before is None else before.running_count
        service = original(self, service_properties)
        if running is not None:
            service.running_count = running
            service.pending_count = max(0, service.desired_count - running)
        return service

    _patch(backend_class, "update_service", update_service)


# --- target_group_attributes -----------------------------------------------------------------------

_TARGET_GROUP_ATTRIBUTES = ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")


def _install_target_group_attributes() -> None:
    target_group_class = elbv2_models.FakeTargetGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "TargetGroupFullName":
            # "targetgroup/<name>/<id>", the CloudWatch dimension value.
            return self.arn.split(":", 5)[5]
        if attribute_name == "TargetGroupName":
            return self.name
        if attribute_name == "TargetGroupArn":
            return self.arn
        if attribute_name == "LoadBalancerArns":
            return list(self.load_balancer_arns)
        raise UnformattedGetAttTemplateException()

    def has_cfn_attr(_cls: Any, attr: str) -> bool:
        return attr in _TARGET_GROUP_ATTRIBUTES

    _patch(target_group_class, "get_cfn_attribute", get_cfn_attribute)
    _patch(target_group_class, "has_cfn_attr", classmethod(has_cfn_attr))


# --- load_balancer_full_name -----------------------------------------------------------------------


def _install_load_balancer_full_name() -> None:
    load_balancer_class = elbv2_models.FakeLoadBalancer
    original = load_balancer_class.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            # "app/<name>/<id>", the CloudWatch dimension value.
            return self.arn.split(":", 5)[5].removeprefix("loadbalancer/")
        return original(self, attribute_name)

    _patch(load_balancer_class, "get_cfn_attribute", get_cfn_attribute)


# --- stack_update_dependents -----------------------------------------------------------------------

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")


def _mentions(node: Any) -> set[str]:
    """Logical ids and parameter names a piece of template refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found.update(_SUB_NAME.findall(text))
                found.update(_mentions(value[1] if isinstance(value, list) and len(value) > 1 else None))
            else:
                found.update(_mentions(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_mentions(item))
    return found


def _install_stack_update_dependents() -> None:
    resource_map_class = cfn_parsing.ResourceMap
    original_diff = resource_map_class.build_resource_diff
    original_update = resource_map_class.update

    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, Any]:
        actions: dict[str, Any] = original_diff(self, other_template, parameters)
        if parameters:
            changed = {name for name in parameters if self.input_parameters.get(name) != parameters[name]}
            for name, resource in other_template["Resources"].items():
                if name in actions["Modify"] or name not in self._resource_json_map:
                    continue
                if resource == self._resource_json_map[name] and changed & _mentions(resource):
                    actions["Modify"].append(name)
        return actions

    def physical_ids(self: Any) -> dict[str, Any]:
        return {
            name: getattr(resource, "physical_resource_id", None)
            for name, resource in self._parsed_resources.items()
            if name in self._resource_json_map
        }

    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = physical_ids(self)
        original_update(self, template, parameters)
        updated: set[str] = set()
        while True:
            after = physical_ids(self)
            replaced = {name for name, value in after.items() if before.get(name, value) != value}
            before = after
            dependents = [
                name
                for name, resource in self._resource_json_map.items()
                if name in self._parsed_resources and name not in updated and replaced & _mentions(resource)
            ]
            if not dependents:
                return
            for name in dependents:
                updated.add(name)
                changed = cfn_parsing.parse_and_update_resource(
                    name,
                    self._resource_json_map[name],
                    self,
                    account_id=self._account_id,
                    region_name=self._region_name,
                )
                if changed is not None:
                    self._parsed_resources[name] = changed

    _patch(resource_map_class, "build_resource_diff", build_resource_diff)
    _patch(resource_map_class, "update", update)


# --- task_definition_update_casing ------------------------------------------------------------------


def _install_task_definition_update_casing() -> None:
    task_definition_class = ecs_models.TaskDefinition
    original = task_definition_class.update_from_cloudformation_json.__func__
    remap = importlib.import_module("moto.core.utils")

    def update_from_cloudformation_json(cls: Any, /, **arguments: Any) -> Any:
        # moto passes original_resource, new_resource_name, cloudformation_json, account_id, region_name.
        cloudformation_json = arguments["cloudformation_json"]
        properties = dict(cloudformation_json["Properties"])
        for key in ("ContainerDefinitions", "Volumes"):
            if key in properties:
                properties[key] = remap.remap_nested_keys(properties[key], remap.pascal_to_camelcase)
        arguments["cloudformation_json"] = {**cloudformation_json, "Properties": properties}
        return original(cls, **arguments)

    _patch(task_definition_class, "update_from_cloudformation_json", classmethod(update_from_cloudformation_json))


# --- events_lambda_targets -------------------------------------------------------------------------


def _install_events_lambda_targets() -> None:
    rule_class = events_models.Rule
    original = rule_class.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        with _targets_lock:
            targets = self.targets
            self.targets = [t for t in targets if ":lambda:" not in t["Arn"]]
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = targets

    _patch(rule_class, "send_to_targets", send_to_targets)


# --- alarm_state_change_events ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmTransition:
    """An alarm's real state change as the local endpoint saw it."""

    account_id: str
    region: str
    alarm_name: str
    alarm_arn: str
    description: str | None
    configuration_metrics: list[dict[str, Any]]
    previous_value: str
    previous_reason: str
    previous_reason_data: str
    previous_timestamp: datetime
    value: str
    reason: str
    reason_data: str
    timestamp: datetime


AlarmListener = Callable[[AlarmTransition], None]
_alarm_listeners: list[AlarmListener] = []


def add_alarm_listener(listener: AlarmListener) -> None:
    with _lock:
        _alarm_listeners.append(listener)


def remove_alarm_listener(listener: AlarmListener) -> None:
    with _lock:
        if listener in _alarm_listeners:
            _alarm_listeners.remove(listener)


def _event_metrics(alarm: Any) -> list[dict[str, Any]]:
    """``detail.configuration.metrics`` in the camelCase shape of AWS's alarm events."""
    metrics: list[dict[str, Any]] = []
    for query in alarm.metric_data_queries:
        entry: dict[str, Any] = {"id": query.id, "returnData": str(query.return_data).lower() == "true"}
        if query.expression:
            entry["expression"] = query.expression
        if query.label:
            entry["label"] = query.label
        if query.metric_stat is not None:
            stat = query.metric_stat
            entry["metricStat"] = {
                "metric": {
                    "namespace": stat.metric.namespace,
                    "name": stat.metric.metric_name,
                    "dimensions": {d.name: d.value for d in stat.metric.dimensions},
                },
                "period": int(stat.period) if stat.period is not None else None,
                "stat": stat.stat,
            }
        metrics.append(entry)
    if not metrics and alarm.metric_name:
        metrics.append(
            {
                "id": "m1",
                "metricStat": {
                    "metric": {
                        "namespace": alarm.namespace,
                        "name": alarm.metric_name,
                        "dimensions": {d.name: d.value for d in alarm.dimensions},
                    },
                    "period": alarm.period,
                    "stat": alarm.statistic,
                },
                "returnData": True,
            }
        )
    return metrics


def _install_alarm_state_change_events() -> None:
    backend_class = cw_models.CloudWatchBackend
    original = backend_class.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        before = (
            None
            if alarm is None
            else (alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)
        )
        original(self, alarm_name, reason, reason_data, state_value)
        if alarm is None or before is None or before[0] == alarm.state_value:
            # AWS sends an event only for a change of state.
            return
        transition = AlarmTransition(
            account_id=self.account_id,
            region=self.region_name,
            alarm_name=alarm.name,
            alarm_arn=alarm.alarm_arn,
            description=alarm.description,
            configuration_metrics=_event_metrics(alarm),
            previous_value=before[0],
            previous_reason=before[1],
            previous_reason_data=before[2],
            previous_timestamp=_aware(before[3]),
            value=alarm.state_value,
            reason=alarm.state_reason,
            reason_data=alarm.state_reason_data,
            timestamp=_aware(alarm.state_updated_timestamp),
        )
        with _lock:
            listeners = list(_alarm_listeners)
        for listener in listeners:
            listener(transition)

    _patch(backend_class, "set_alarm_state", set_alarm_state)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- http_api_models, cloud_map_models -------------------------------------------------------------
# moto's API Gateway V2 and Cloud Map have APIs but no CloudFormation models: the resources of an HTTP API
# front door (API, stage, integrations, routes, VPC link) and of its Cloud Map namespace and service would
# be skipped. These stand-ins create them through moto's backends, as the APIs would.


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys in the API's camelCase (what moto's stage keeps and returns)."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _tag_list(tags: Any) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return list(tags or [])


class _StandInResource:
    """A resource known by its Ref value and a few GetAtt attributes; deleted through ``_delete``."""

    CFN_TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ref: str, attributes: dict[str, str], context: dict[str, str]) -> None:
        self.ref = ref
        self.attributes = attributes
        # What the delete needs besides the Ref value (the API a route belongs to...).
        self.context = context

    @property
    def physical_resource_id(self) -> str:
        return self.ref

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name in self.attributes:
            return self.attributes[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_kwargs: Any,
    ) -> _StandInResource:
        return cls._make(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _StandInResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _StandInResource:
        # A replacement: CloudFormation updates some of these in place, but nothing local depends on the ids
        # staying the same across an update that changes the resource's own properties.
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        raise NotImplementedError


# Where the local HTTP APIs answer (local_aws.execute_api), when something serves them; None: moto's own
# execute-api URL, a name in AWS that local code must never call.
_api_endpoint_base: list[str | None] = [None]


def set_api_endpoint_base(url: str | None) -> None:
    """HTTP APIs created from now on answer at ``<url>/<api id>`` (None: moto's URL again)."""
    _api_endpoint_base[0] = url


def _gateway(account_id: str, region: str) -> Any:
    return apigwv2_models.apigatewayv2_backends[account_id][region]


def _discovery(account_id: str, region: str) -> Any:
    return sd_models.servicediscovery_backends[account_id][region]


class _HttpApiModel(_StandInResource):
    """``AWS::ApiGatewayV2::Api`` (no OpenAPI body, no quick create): Ref is the API id."""

    CFN_TYPE = "AWS::ApiGatewayV2::Api"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("ApiId", "ApiEndpoint")

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        unsupported = sorted({"Body", "BodyS3Location", "Target", "RouteKey"} & set(properties))
        if unsupported:
            raise ValueError(f"the local AWS::ApiGatewayV2::Api does not reproduce {unsupported}")
        api = _gateway(account_id, region).create_api(
            api_key_selection_expression=properties.get("ApiKeySelectionExpression"),
            cors_configuration=_camel(properties.get("CorsConfiguration")),
            description=properties.get("Description"),
            disable_schema_validation=properties.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=name,
            protocol_type=properties.get("ProtocolType", "HTTP"),
            route_selection_expression=properties.get("RouteSelectionExpression"),
            tags=properties.get("Tags") or {},
            version=properties.get("Version"),
        )
        if _api_endpoint_base[0] is not None:
            api.api_endpoint = f"{_api_endpoint_base[0]}/{api.api_id}"
        return cls(api.api_id, {"ApiId": api.api_id, "ApiEndpoint": api.api_endpoint}, {})

    def delete(self, account_id: str, region: str) -> None:
        _gateway(account_id, region).apis.pop(self.ref, None)


class _HttpApiStageModel(_StandInResource):
    """``AWS::ApiGatewayV2::Stage``: Ref is the stage name."""

    CFN_TYPE = "AWS::ApiGatewayV2::Stage"
    NAME_PROPERTY = "StageName"

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        config: dict[str, Any] = {}
        for key, value in properties.items():
            if key in ("ApiId", "StageName"):
                continue
            if key in ("StageVariables", "Tags"):
                config[_camel_key(key)] = value  # the user's own names, kept as written
            elif key == "RouteSettings":
                config["routeSettings"] = {route: _camel(settings) for route, settings in value.items()}
            else:
                config[_camel_key(key)] = _camel(value)
        config["stageName"] = name
        _gateway(account_id, region).get_api(properties["ApiId"]).create_stage(config)
        return cls(name, {}, {"ApiId": properties["ApiId"]})

    def delete(self, account_id: str, region: str) -> None:
        api = _gateway(account_id, region).apis.get(self.context["ApiId"])
        if api is not None:
            api.stages.pop(self.ref, None)


def _camel_key(key: str) -> str:
    return key[:1].lower() + key[1:]


class _HttpApiIntegrationModel(_StandInResource):
    """``AWS::ApiGatewayV2::Integration``: Ref is the integration id."""

    CFN_TYPE = "AWS::ApiGatewayV2::Integration"
    ATTRIBUTES = ("IntegrationId",)

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:  # noqa: ARG003
        timeout = properties.get("TimeoutInMillis")
        integration = _gateway(account_id, region).create_integration(
            api_id=properties["ApiId"],
            connection_id=properties.get("ConnectionId"),
            connection_type=properties.get("ConnectionType"),
            content_handling_strategy=properties.get("ContentHandlingStrategy"),
            credentials_arn=properties.get("CredentialsArn"),
            description=properties.get("Description"),
            integration_method=properties.get("IntegrationMethod"),
            integration_subtype=properties.get("IntegrationSubtype"),
            integration_type=properties["IntegrationType"],
            integration_uri=properties.get("IntegrationUri"),
            passthrough_behavior=properties.get("PassthroughBehavior"),
            payload_format_version=properties.get("PayloadFormatVersion"),
            request_parameters=properties.get("RequestParameters"),
            request_templates=properties.get("RequestTemplates"),
            response_parameters=properties.get("ResponseParameters"),
            template_selection_expression=properties.get("TemplateSelectionExpression"),
            timeout_in_millis=None if timeout is None else int(timeout),
            tls_config=_camel(properties.get("TlsConfig")),
        )
        return cls(integration.id, {"IntegrationId": integration.id}, {"ApiId": properties["ApiId"]})

    def delete(self, account_id: str, region: str) -> None:
        api = _gateway(account_id, region).apis.get(self.context["ApiId"])
        if api is not None:
            api.integrations.pop(self.ref, None)


class _HttpApiRouteModel(_StandInResource):
    """``AWS::ApiGatewayV2::Route``: Ref is the route id. An update keeps the route (its id) and sets the
    properties the template gives, as CloudFormation does."""

    CFN_TYPE = "AWS::ApiGatewayV2::Route"
    ATTRIBUTES = ("RouteId",)

    @staticmethod
    def _arguments(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_id": properties["ApiId"],
            "api_key_required": bool(properties.get("ApiKeyRequired", False)),
            "authorization_scopes": properties.get("AuthorizationScopes"),
            "authorization_type": properties.get("AuthorizationType", "NONE"),
            "authorizer_id": properties.get("AuthorizerId"),
            "model_selection_expression": properties.get("ModelSelectionExpression"),
            "operation_name": properties.get("OperationName"),
            "request_models": properties.get("RequestModels"),
            "request_parameters": properties.get("RequestParameters"),
            "route_key": properties["RouteKey"],
            "route_response_selection_expression": properties.get("RouteResponseSelectionExpression"),
            "target": properties.get("Target"),
        }

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:  # noqa: ARG003
        route = _gateway(account_id, region).create_route(**cls._arguments(properties))
        return cls(route.route_id, {"RouteId": route.route_id}, {"ApiId": properties["ApiId"]})

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _StandInResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _StandInResource:
        properties = cloudformation_json.get("Properties", {})
        if properties["ApiId"] != original_resource.context["ApiId"]:
            return super().update_from_cloudformation_json(
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        _gateway(account_id, region_name).update_route(route_id=original_resource.ref, **cls._arguments(properties))
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        api = _gateway(account_id, region).apis.get(self.context["ApiId"])
        if api is not None:
            api.routes.pop(self.ref, None)


class _VpcLinkModel(_StandInResource):
    """``AWS::ApiGatewayV2::VpcLink`` (V2): Ref is the VPC link id."""

    CFN_TYPE = "AWS::ApiGatewayV2::VpcLink"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("VpcLinkId",)

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        link = _gateway(account_id, region).create_vpc_link(
            name=name,
            sg_ids=properties.get("SecurityGroupIds") or [],
            subnet_ids=properties.get("SubnetIds") or [],
            tags=properties.get("Tags") or {},
        )
        return cls(link.id, {"VpcLinkId": link.id}, {})

    def delete(self, account_id: str, region: str) -> None:
        _gateway(account_id, region).delete_vpc_link(self.ref)


def _namespace_by_operation(backend: Any, operation_id: str) -> Any:
    namespace_id = backend.get_operation(operation_id).targets["NAMESPACE"]
    return backend.get_namespace(namespace_id)


class _HttpNamespaceModel(_StandInResource):
    """``AWS::ServiceDiscovery::HttpNamespace``: Ref is the namespace id."""

    CFN_TYPE = "AWS::ServiceDiscovery::HttpNamespace"
    NAME_PROPERTY = "Name"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("Id", "Arn")

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        backend = _discovery(account_id, region)
        operation = backend.create_http_namespace(
            name=name,
            creator_request_id=None,
            description=properties.get("Description"),
            tags=_tag_list(properties.get("Tags")),
        )
        namespace = _namespace_by_operation(backend, operation)
        return cls(namespace.id, {"Id": namespace.id, "Arn": namespace.arn}, {})

    def delete(self, account_id: str, region: str) -> None:
        _discovery(account_id, region).namespaces.pop(self.ref, None)


class _PrivateDnsNamespaceModel(_HttpNamespaceModel):
    """``AWS::ServiceDiscovery::PrivateDnsNamespace``: Ref is the namespace id."""

    CFN_TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    ATTRIBUTES = ("Id", "Arn", "HostedZoneId")

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        backend = _discovery(account_id, region)
        operation = backend.create_private_dns_namespace(
            name=name,
            creator_request_id=None,
            description=properties.get("Description"),
            vpc=properties["Vpc"],
            tags=_tag_list(properties.get("Tags")),
            properties=properties.get("Properties") or {},
        )
        namespace = _namespace_by_operation(backend, operation)
        zone = str(namespace.dns_properties.get("HostedZoneId", ""))
        return cls(namespace.id, {"Id": namespace.id, "Arn": namespace.arn, "HostedZoneId": zone}, {})


class _CloudMapServiceModel(_StandInResource):
    """``AWS::ServiceDiscovery::Service``: Ref is the service id; GetAtt Arn is what ECS registers into."""

    CFN_TYPE = "AWS::ServiceDiscovery::Service"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id", "Arn", "Name")

    @classmethod
    def _make(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> _StandInResource:
        backend = _discovery(account_id, region)
        dns = properties.get("DnsConfig")
        namespace_id = properties.get("NamespaceId") or (dns or {}).get("NamespaceId")
        if not namespace_id:
            raise ValueError("an AWS::ServiceDiscovery::Service needs a NamespaceId (or DnsConfig.NamespaceId)")
        service = backend.create_service(
            name=name,
            namespace_id=namespace_id,
            creator_request_id=None,
            description=properties.get("Description"),
            dns_config=dns,
            health_check_config=properties.get("HealthCheckConfig"),
            health_check_custom_config=properties.get("HealthCheckCustomConfig"),
            tags=_tag_list(properties.get("Tags")),
            service_type=properties.get("Type"),
        )
        return cls(service.id, {"Id": service.id, "Arn": service.arn, "Name": service.name}, {})

    def delete(self, account_id: str, region: str) -> None:
        _discovery(account_id, region).services.pop(self.ref, None)


_FRONT_DOOR_MODELS: tuple[tuple[type, str], ...] = (
    (_HttpApiModel, "apigatewayv2"),
    (_HttpApiStageModel, "apigatewayv2"),
    (_HttpApiIntegrationModel, "apigatewayv2"),
    (_HttpApiRouteModel, "apigatewayv2"),
    (_VpcLinkModel, "apigatewayv2"),
    (_HttpNamespaceModel, "servicediscovery"),
    (_PrivateDnsNamespaceModel, "servicediscovery"),
    (_CloudMapServiceModel, "servicediscovery"),
)


def _install_front_door_models(service: str) -> None:
    for model, model_service in _FRONT_DOOR_MODELS:
        if model_service == service:
            _register_model(model, service)


# --- vpc_link_status -------------------------------------------------------------------------------


def _install_vpc_link_status() -> None:
    """moto's VPC link is AVAILABLE forever; in AWS one unused for 60 days turns INACTIVE, and a request
    through it makes it PENDING until it is AVAILABLE again. The bridge reports the ``status`` the local
    stack gives the link (local_aws.httpapi plays those transitions)."""
    link_class = apigwv2_models.VpcLink
    original = link_class.to_json

    def to_json(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = original(self)
        answer["vpcLinkStatus"] = getattr(self, "status", "AVAILABLE")
        return answer

    _patch(link_class, "to_json", to_json)


def vpc_link(account_id: str, region: str, vpc_link_id: str) -> Any:
    """moto's VPC link object, whose ``status`` the local stack sets."""
    return _gateway(account_id, region).get_vpc_link(vpc_link_id)


# --- ecs_task_states -------------------------------------------------------------------------------


def _install_ecs_task_states() -> None:
    """moto moves a task's status on by itself (a RUNNING task is DEACTIVATING at its first read); the
    local stack's tasks change only when local_aws.simulate says so, as the simulated ECS plays them."""
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
    _restores.append(lambda: state_manager.unset_transition("ecs::task"))


# --- service_registries ----------------------------------------------------------------------------


def _install_service_registries() -> None:
    """moto's CloudFormation drops an ECS service's ``ServiceRegistries``; AWS registers its tasks there."""
    service_class = ecs_models.Service
    original = service_class.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        service = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        registries = cloudformation_json.get("Properties", {}).get("ServiceRegistries")
        if registries:
            service.service_registries = _camel(registries)
        return service

    _patch(service_class, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


# --- installation ----------------------------------------------------------------------------------


def _register_model(mixin: type, service: str) -> None:
    # A direct subclass of CloudFormationModel is what moto collects; its metaclass files the class under
    # the service named by the second part of __module__, so that must be inside moto's package.
    types.new_class(
        mixin.__name__.strip("_"),
        (mixin, CloudFormationModel),
        exec_body=lambda namespace: namespace.update({"__module__": f"moto.{service}.models"}),
    )


BRIDGES: dict[str, Callable[[], None]] = {
    "alarm_model": lambda: _register_model(_AlarmModel, "cloudwatch"),
    "secret_model": lambda: _register_model(_SecretModel, "secretsmanager"),
    "listener_forward_config": _install_listener_forward_config,
    "service_default_desired_count": _install_service_default_desired_count,
    "service_running_count": _install_service_running_count,
    "target_group_attributes": _install_target_group_attributes,
    "load_balancer_full_name": _install_load_balancer_full_name,
    "stack_update_dependents": _install_stack_update_dependents,
    "task_definition_update_casing": _install_task_definition_update_casing,
    "events_lambda_targets": _install_events_lambda_targets,
    "select_index_intrinsic": _install_select_index_intrinsic,
    "listener_rule_priority_type": _install_listener_rule_priority_type,
    "listener_rule_delete": _install_listener_rule_delete,
    "target_group_delete": _install_target_group_delete,
    "alarm_state_change_events": _install_alarm_state_change_events,
    "http_api_models": lambda: _install_front_door_models("apigatewayv2"),
    "cloud_map_models": lambda: _install_front_door_models("servicediscovery"),
    "service_registries": _install_service_registries,
    "vpc_link_status": _install_vpc_link_status,
    "ecs_task_states": _install_ecs_task_states,
}


# Bridges that only register CloudFormation models: they stay registered once installed.
_MODEL_BRIDGES = ("alarm_model", "secret_model", "http_api_models", "cloud_map_models")


def install() -> list[str]:
    """Installs every bridge (once, however many endpoints use them); returns the names installed.

    Each :func:`install` needs a :func:`release`; the last release puts moto's own methods back. The
    CloudFormation models stay registered: they only add resource types moto would otherwise skip.
    """
    global _users  # noqa: PLW0603 - one count per process, like moto's own state
    with _lock:
        _users += 1
        if len(_installed) < len(BRIDGES):
            for name, bridge in BRIDGES.items():
                if name not in _installed:
                    bridge()
                    _installed.append(name)
            # moto caches its model list on first use; make it see the new models.
            cfn_parsing.get_model_list.cache_clear()
            cfn_parsing.get_model_map.cache_clear()
            cfn_parsing.get_name_type_map.cache_clear()
        return list(_installed)


def release() -> None:
    """One user of the bridges is done; the last one restores moto's methods."""
    global _users  # noqa: PLW0603
    with _lock:
        _users = max(0, _users - 1)
        if _users or not _installed:
            return
        while _restores:
            _restores.pop()()
        while _patches:
            owner, attribute, original = _patches.pop()
            if original is _ABSENT:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)
        # The models register once per process (subclasses cannot be unregistered); keep their names.
        _installed[:] = [name for name in _installed if name in _MODEL_BRIDGES]


def installed() -> list[str]:
    with _lock:
        return list(_installed)
