"""Bridges for the users' own deploy path (``sam deploy``, or any stack update) against the local endpoint.

Kept apart from :mod:`local_aws.bridges` (the gaps of creating the stack) and installed the same way, once per
process however many users, restored by the last :func:`release`. Each bridge is named for the gap it closes
and has a test that shows the gap in plain moto (tests/local_aws/test_samdeploy.py).

- ``serverless_transform``: AWS runs the ``AWS::Serverless-2016-10-31`` transform when a change set is created
  from a SAM template (what ``sam deploy`` uploads); moto stores the SAM template as is and then fails to create
  ``AWS::Serverless::*`` resources. The bridge runs the SAM translator (the SAM CLI's own dependency) inside
  CreateChangeSet, with the change set's parameter values.
- ``outputs_after_change_set``: after ExecuteChangeSet, moto keeps the outputs it computed before the resources
  existed; AWS answers the stack's outputs. ``sam deploy --resolve-s3`` reads its managed bucket from them.
- ``template_url_of_an_address``: ``sam deploy`` hands CloudFormation the TemplateURL of the template it
  uploaded, built from its S3 endpoint: ``http://127.0.0.1:PORT/BUCKET/KEY`` against a local endpoint on an
  address. moto reads the bucket from the path only when the host says ``localhost`` and otherwise takes the
  host's first label (``127``) for the bucket, so the stack is refused. AWS's TemplateURLs are S3 names; the
  bridge reads a path-style URL whose host is an IP address as path-style.
- ``tags_after_change_set``: executing an UPDATE change set leaves the stack's tags as they were in moto;
  AWS gives the stack the change set's tags (``sam deploy --tags``; ``warmkeeper deploy`` records the image
  tag it replaced there, which ``rollback`` reads).
- ``layer_function_update``: a stack update that changes a function using a layer (a new tag on the stack
  is enough: CloudFormation propagates stack tags to the function) crashes moto: its update path hands the
  layer's model object, not its ARN, to the code that looks the layer up by ARN. AWS updates the function.
- ``previous_parameter_values``: in an update, moto counts as changed every parameter the stack's creation
  left at its default and every parameter sent with ``UsePreviousValue`` (what ``sam deploy`` sends for the
  parameters it does not override: moto substitutes the typed value, ``30`` for ``"30"``), so every resource
  that uses any parameter is updated. AWS compares with the previous values: only what changed is updated.
  The bridge compares in CloudFormation's string form against the previous values (given, else default).
- ``update_without_model_update``: updating a resource whose moto model has no CloudFormation update
  (``AWS::Logs::LogGroup``, for one) makes moto's stack forget it (its entry becomes ``None``): a later
  ``Fn::GetAtt`` of it fails with "references undefined resource", and it leaves DescribeStackResources. AWS
  updates it in place. The bridge keeps the existing resource (moto cannot apply the new properties).
- ``conditional_resource_update``: moto updates a resource whose ``Condition`` is false (it does not exist)
  and crashes handing ``None`` to the model's update; a resource whose condition turned false stays, one whose
  condition turned true is never created (moto looks at a resource's properties only, not at its
  condition). AWS creates, updates or deletes it as the condition says.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

lambda_models: Any = importlib.import_module("moto.awslambda.models")
cfn_models: Any = importlib.import_module("moto.cloudformation.models")
iam_models: Any = importlib.import_module("moto.iam.models")
cfn_parsing: Any = importlib.import_module("moto.cloudformation.parsing")
cfn_responses: Any = importlib.import_module("moto.cloudformation.responses")

SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"

_lock = threading.Lock()
_users = 0
_patches: list[tuple[Any, str, Any]] = []
_installed: list[str] = []


def _install_layer_function_update() -> None:
    function_class = lambda_models.LambdaFunction
    original = function_class._get_layers_data

    def get_layers_data(self: Any, layers: list[Any]) -> Any:
        # A LayerVersion model where an ARN belongs: use its ARN, as CloudFormation's Ref of it would.
        arns = [layer if isinstance(layer, str) else layer.arn for layer in layers]
        return original(self, arns)

    _patches.append((function_class, "_get_layers_data", original))
    function_class._get_layers_data = get_layers_data


class _MotoManagedPolicies:
    """The SAM translator's managed-policy lookup, answered from moto's IAM in this process (a call back to the
    endpoint from inside one of its own requests is not needed)."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def load(self) -> dict[str, str]:
        backend = iam_models.iam_backends[self.account_id]["global"]
        return {policy.name: policy.arn for policy in backend.managed_policies.values()}


def translated_template(template: str, parameters: dict[str, str], account_id: str) -> str:
    """``template`` with the Serverless transform applied, or unchanged when it declares no such transform."""
    document = yaml_parse(template)
    declared = document.get("Transform") if isinstance(document, dict) else None
    if declared != SERVERLESS_TRANSFORM and not (isinstance(declared, list) and SERVERLESS_TRANSFORM in declared):
        return template
    translated = transform(json.loads(json.dumps(document)), dict(parameters), _MotoManagedPolicies(account_id))
    return json.dumps(translated)


def _install_serverless_transform() -> None:
    backend_class = cfn_models.CloudFormationBackend
    original = backend_class.create_change_set

    def create_change_set(
        self: Any, stack_name: str, change_set_name: str, template: str, parameters: Any, *rest: Any, **named: Any
    ) -> Any:
        template = translated_template(template, dict(parameters or {}), self.account_id)
        return original(self, stack_name, change_set_name, template, parameters, *rest, **named)

    _patches.append((backend_class, "create_change_set", original))
    backend_class.create_change_set = create_change_set


def _install_outputs_after_change_set() -> None:
    backend_class = cfn_models.CloudFormationBackend
    original = backend_class.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if change_set is not None:
            stack = self.stacks[change_set.stack_id]
            # moto parsed the stack's template when the change set was created (empty for a new stack).
            stack.template_dict = change_set.template_dict
            stack.output_map = stack._create_output_map()

    _patches.append((backend_class, "execute_change_set", original))
    backend_class.execute_change_set = execute_change_set


def _install_tags_after_change_set() -> None:
    backend_class = cfn_models.CloudFormationBackend
    original = backend_class.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        original(self, change_set_name, stack_name)
        if change_set is not None and change_set.tags is not None:
            self.stacks[change_set.stack_id].tags = dict(change_set.tags)

    _patches.append((backend_class, "execute_change_set", original))
    backend_class.execute_change_set = execute_change_set


def _install_template_url_of_an_address() -> None:
    responses_class = cfn_responses.CloudFormationResponse
    original = responses_class._get_stack_from_s3_url

    def get_stack_from_s3_url(self: Any, template_url: str) -> Any:
        parts = urllib.parse.urlsplit(template_url)
        try:
            ipaddress.ip_address(parts.hostname or "")
        except ValueError:
            return original(self, template_url)
        # moto's own reading of a path-style URL, the one it applies to localhost.
        return original(self, parts._replace(netloc=f"localhost:{parts.port or 80}").geturl())

    _patches.append((responses_class, "_get_stack_from_s3_url", original))
    responses_class._get_stack_from_s3_url = get_stack_from_s3_url


def cloudformation_string(value: Any) -> str:
    """A parameter value as CloudFormation takes it: a string, lists comma-joined."""
    if isinstance(value, list):
        return ",".join(cloudformation_string(item) for item in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _install_previous_parameter_values() -> None:
    resource_map_class = cfn_parsing.ResourceMap
    original = resource_map_class.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        if parameters:
            slots = self._template.get("Parameters", {}) if isinstance(self._template, dict) else {}
            previous = {name: cloudformation_string(s["Default"]) for name, s in slots.items() if "Default" in s}
            previous.update({name: cloudformation_string(v) for name, v in self.input_parameters.items()})
            # moto compares the new values with input_parameters to find what changed.
            self.input_parameters = previous
            parameters = {name: cloudformation_string(value) for name, value in parameters.items()}
        original(self, template, parameters)

    _patches.append((resource_map_class, "update", original))
    resource_map_class.update = update


def _condition_holds(resources_map: Any, resource_json: dict[str, Any]) -> bool:
    condition = resource_json.get("Condition")
    return condition is None or bool(resources_map.lazy_condition_map[condition])


def _install_resource_update_fixes(keep_unmodelled: bool, follow_conditions: bool) -> None:
    """One wrapper of moto's ``parse_and_update_resource`` (both bridges patch the same function; each
    installs its own wrapper over whatever is there, so either works without the other)."""
    original = cfn_parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        existing = resources_map._parsed_resources.get(logical_id)
        if follow_conditions and not _condition_holds(resources_map, resource_json):
            if existing is not None:
                # The condition turned false: CloudFormation deletes the resource.
                resources_map._delete_resource(existing, resource_json)
                resources_map._parsed_resources.pop(logical_id, None)
            return None
        if follow_conditions and existing is None:
            # Not there (its condition was false): CloudFormation creates it; moto's lookup creates lazily.
            resources_map._parsed_resources.pop(logical_id, None)  # moto stores None for what it skipped
            return resources_map[logical_id]
        updated = original(logical_id, resource_json, resources_map, account_id=account_id, region_name=region_name)
        if keep_unmodelled and updated is None and existing is not None:
            return existing
        return updated

    _patches.append((cfn_parsing, "parse_and_update_resource", original))
    cfn_parsing.parse_and_update_resource = parse_and_update_resource


def _condition_inputs(name: str, conditions: dict[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """The parameters a condition depends on, through the conditions it names."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Condition" and isinstance(value, str) and value in conditions and value not in seen:
                    found.update(_condition_inputs(value, conditions, seen | {name}))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(conditions.get(name))
    return found


def _install_condition_changes() -> None:
    """Part of ``conditional_resource_update``: a resource whose condition depends on a changed parameter is
    an update candidate even when its own properties are unchanged (moto looks at the properties only)."""
    resource_map_class = cfn_parsing.ResourceMap
    original = resource_map_class.build_resource_diff

    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, Any]:
        actions: dict[str, Any] = original(self, other_template, parameters)
        if parameters:
            slots = other_template.get("Parameters", {})
            # A parameter left out of an update returns to its default (UpdateStack without UsePreviousValue).
            now = {n: cloudformation_string(slot["Default"]) for n, slot in slots.items() if "Default" in slot}
            now.update({n: cloudformation_string(v) for n, v in parameters.items()})
            before = {n: cloudformation_string(v) for n, v in self.input_parameters.items()}
            changed = {n for n in slots if before.get(n, now.get(n)) != now.get(n)}
            conditions = other_template.get("Conditions", {})
            for name, resource in other_template["Resources"].items():
                condition = resource.get("Condition")
                if name in actions["Modify"] or name not in self._resource_json_map or condition is None:
                    continue
                if changed & _condition_inputs(condition, conditions):
                    actions["Modify"].append(name)
        return actions

    _patches.append((resource_map_class, "build_resource_diff", original))
    resource_map_class.build_resource_diff = build_resource_diff


def _install_conditional_resource_update() -> None:
    _install_resource_update_fixes(keep_unmodelled=False, follow_conditions=True)
    _install_condition_changes()


BRIDGES: dict[str, Callable[[], None]] = {
    "serverless_transform": _install_serverless_transform,
    "outputs_after_change_set": _install_outputs_after_change_set,
    "layer_function_update": _install_layer_function_update,
    "tags_after_change_set": _install_tags_after_change_set,
    "template_url_of_an_address": _install_template_url_of_an_address,
    "previous_parameter_values": _install_previous_parameter_values,
    "update_without_model_update": lambda: _install_resource_update_fixes(
        keep_unmodelled=True, follow_conditions=False
    ),
    "conditional_resource_update": _install_conditional_resource_update,
}


def install() -> list[str]:
    global _users  # noqa: PLW0603 - one count per process, like moto's own state
    with _lock:
        _users += 1
        for name, bridge in BRIDGES.items():
            if name not in _installed:
                bridge()
                _installed.append(name)
        return list(_installed)


def release() -> None:
    global _users  # noqa: PLW0603
    with _lock:
        _users = max(0, _users - 1)
        if _users:
            return
        while _patches:
            owner, attribute, original = _patches.pop()
            setattr(owner, attribute, original)
        _installed.clear()


def installed() -> list[str]:
    with _lock:
        return list(_installed)
