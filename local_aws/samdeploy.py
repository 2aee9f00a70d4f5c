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
- ``layer_function_update``: a stack update that changes a function using a layer (a new tag on the stack
  is enough: CloudFormation propagates stack tags to the function) crashes moto: its update path hands the
  layer's model object, not its ARN, to the code that looks the layer up by ARN. AWS updates the function.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

lambda_models: Any = importlib.import_module("moto.awslambda.models")
cfn_models: Any = importlib.import_module("moto.cloudformation.models")
iam_models: Any = importlib.import_module("moto.iam.models")

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


BRIDGES: dict[str, Callable[[], None]] = {
    "serverless_transform": _install_serverless_transform,
    "outputs_after_change_set": _install_outputs_after_change_set,
    "layer_function_update": _install_layer_function_update,
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
