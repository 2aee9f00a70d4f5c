"""The template as CloudFormation sees it: decoded (intrinsics as dicts) and translated by the SAM translator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

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

_NO_VALUE = object()


class _Resolver:
    """Evaluates the template's conditions for given parameter values, as CloudFormation would.

    Drops resources and outputs whose condition is false, takes the chosen branch of every Fn::If,
    removes AWS::NoValue, and computes Fn::Split, Fn::Select, Fn::Join and Fn::FindInMap whose inputs are
    literals or parameters; anything else (resource references, Fn::Sub) is left as written.
    """

    def __init__(self, template: Template, parameters: dict[str, str]) -> None:
        self.template = template
        declared = template["Parameters"]
        unknown = set(parameters) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.parameters = {name: str(p.get("Default", "")) for name, p in declared.items()} | parameters
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _truth(self, node: Any) -> bool:
        (function, argument), *_ = node.items()
        match function:
            case "Condition":
                return self.condition(argument)
            case "Fn::Not":
                return not self._truth(argument[0])
            case "Fn::And":
                return all(self._truth(a) for a in argument)
            case "Fn::Or":
                return any(self._truth(a) for a in argument)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
        raise AssertionError(f"condition function not handled: {function}")

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::If":
                name, yes, no = value
                return self.resolve(yes if self.condition(name) else no)
            if key == "Ref" and value == "AWS::NoValue":
                return _NO_VALUE
            if key == "Ref" and value in self.parameters:
                parameter = self.template["Parameters"][value]
                text = self.parameters[value]
                return text.split(",") if parameter["Type"].startswith(("List<", "CommaDelimitedList")) else text
            if key in ("Fn::Split", "Fn::Select", "Fn::Join", "Fn::FindInMap"):
                return self._function(key, self.resolve(value))
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _function(self, key: str, value: Any) -> Any:
        if _refers(value):
            return {key: value}  # depends on a resource: left for CloudFormation
        match key:
            case "Fn::Split":
                return str(value[1]).split(value[0])
            case "Fn::Select":
                return value[1][int(value[0])]
            case "Fn::Join":
                return value[0].join(str(v) for v in value[1])
            case _:
                mapping, first, second = value
                return self.template["Mappings"][mapping][first][second]

    def template_for_mode(self) -> Template:
        result = {k: v for k, v in self.template.items() if k not in ("Resources", "Outputs", "Conditions")}
        for section in ("Resources", "Outputs"):
            kept = {
                name: {k: v for k, v in body.items() if k != "Condition"}
                for name, body in self.template[section].items()
                if "Condition" not in body or self.condition(body["Condition"])
            }
            result[section] = self.resolve(kept)
        result["Globals"] = self.resolve(self.template["Globals"])
        return result


def _refers(node: Any) -> bool:
    if isinstance(node, dict):
        return True
    return isinstance(node, list) and any(_refers(item) for item in node)


def resolve_mode(template: Template, parameters: dict[str, str]) -> tuple[Template, Template]:
    """The template of one mode (conditions applied) and its SAM translation."""
    resolved = _Resolver(template, parameters).template_for_mode()
    return resolved, translate_template(resolved)


@pytest.fixture(scope="session")
def full(raw: Template) -> Template:
    """The full stack as a plain `sam deploy` makes it (every new parameter at its default)."""
    return resolve_mode(raw, {})[0]
