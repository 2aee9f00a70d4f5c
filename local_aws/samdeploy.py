"""Bridges for the users' own deploy path (``sam deploy``, or any stack update) against the local endpoint.

Kept apart from :mod:`local_aws.bridges` (the gaps of creating the stack) and installed the same way, once per
process however many users, restored by the last :func:`release`. Each bridge is named for the gap it closes
and has a test that shows the gap in plain moto (tests/local_aws/test_samdeploy.py).

- ``layer_function_update``: a stack update that changes a function using a layer (a new tag on the stack
  is enough: CloudFormation propagates stack tags to the function) crashes moto: its update path hands the
  layer's model object, not its ARN, to the code that looks the layer up by ARN. AWS updates the function.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

lambda_models: Any = importlib.import_module("moto.awslambda.models")

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


BRIDGES: dict[str, Callable[[], None]] = {
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
