"""The template as CloudFormation sees it: decoded (intrinsics as dicts) and translated by the SAM translator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

from bench.cost import apply_mode

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

Template = dict[str, Any]


class _NoManagedPolicies:
    """The translator asks for managed policy ARNs only for names it cannot resolve; the template uses none."""

    def load(self) -> dict[str, str]:
        return {}


def decode_template(path: Path = TEMPLATE) -> Template:
    decoded, problems = decode(str(path))
    assert not problems, problems
    result: Template = json.loads(json.dumps(decoded))
    return result


def translate_template(template: Template) -> Template:
    """SAM to plain CloudFormation; code locations become placeholder S3 URIs (the translator demands them)."""
    template = json.loads(json.dumps(template))
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://placeholder-bucket/{name}.zip"
    translated: Template = transform(template, {}, _NoManagedPolicies())
    return translated


@pytest.fixture(scope="session", autouse=True)
def _region(monkeypatch_session: pytest.MonkeyPatch) -> None:
    monkeypatch_session.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def monkeypatch_session() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="session")
def raw() -> Template:
    return decode_template()


@pytest.fixture(scope="session")
def cfn(raw: Template) -> Template:
    return translate_template(raw)


@pytest.fixture(scope="session")
def resources(cfn: Template) -> dict[str, Any]:
    result: dict[str, Any] = cfn["Resources"]
    return result


# ------------------------------------------------------------------ one deployment mode, resolved


def resolve_mode(template: Template, parameters: dict[str, str]) -> tuple[Template, Template]:
    """The template of one mode (conditions applied) and its SAM translation."""
    resolved = apply_mode(template, parameters)
    return resolved, translate_template(resolved)


@pytest.fixture(scope="session")
def full(raw: Template) -> Template:
    """The full stack as a plain `sam deploy` makes it (every new parameter at its default)."""
    return resolve_mode(raw, {})[0]
