"""samconfig.toml: which stack and region an environment (``--config-env``) deploys to."""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warmkeeper_cli.errors import CliError, Exit


@dataclass(frozen=True)
class Environment:
    name: str
    stack_name: str
    region: str | None
    # samconfig's parameter_overrides for `sam deploy`, as KEY -> VALUE.
    parameter_overrides: dict[str, str]
    tags: dict[str, str]


def _section(document: dict[str, Any], env: str, command: str) -> dict[str, Any]:
    value = document.get(env, {}).get(command, {}).get("parameters", {})
    return value if isinstance(value, dict) else {}


def parse_overrides(text: str | list[str]) -> dict[str, str]:
    """``KEY=VALUE KEY2="a b"`` (or a TOML list of such strings) as a dict, in order."""
    items = text if isinstance(text, list) else shlex.split(text)
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"parameter override {item!r} is not KEY=VALUE", Exit.USAGE)
        result[key] = value
    return result


def read_environment(text: str, env: str, source: str = "samconfig.toml") -> Environment:
    """The stack name, region and parameter overrides of ``env``; the ``default`` environment fills gaps,
    as the SAM CLI does for the global section."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"{source} is not valid TOML: {error}", Exit.USAGE) from error
    if env not in document:
        known = ", ".join(sorted(k for k, v in document.items() if isinstance(v, dict)))
        raise CliError(f"{source} has no environment {env!r} (it has: {known})", Exit.USAGE)
    merged: dict[str, Any] = {}
    for section in (_section(document, env, "global"), _section(document, env, "deploy")):
        merged.update(section)
    stack_name = merged.get("stack_name")
    if not isinstance(stack_name, str) or not stack_name:
        raise CliError(f"{source} gives environment {env!r} no stack_name", Exit.USAGE)
    region = merged.get("region")
    overrides = merged.get("parameter_overrides", "")
    return Environment(
        name=env,
        stack_name=stack_name,
        region=region if isinstance(region, str) else None,
        parameter_overrides=parse_overrides(overrides) if overrides else {},
        tags=parse_overrides(tags) if (tags := merged.get("tags", "")) else {},
    )


def load_environment(path: Path, env: str) -> Environment:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}", Exit.USAGE) from error
    return read_environment(text, env, str(path))
