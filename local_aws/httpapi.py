"""A small API Gateway HTTP API in front of the local stack: what the routes say, request by request.

Every request reads the API's routes and integrations from the local endpoint (apigatewayv2 GetRoutes,
GetIntegration), so the controller's UpdateRoute of the ``$default`` route takes effect on the next request.
A route is chosen the way HTTP APIs choose one: the most specific match first (a full match of method and
path, then paths with ``{parameter}`` segments, then a greedy ``{proxy+}`` path; a method before ``ANY``),
``$default`` when nothing else matches. Its target integration then answers:

- ``AWS_PROXY`` to a Lambda function: when the function's resource policy lets API Gateway invoke it for
  this route (else API Gateway's 500), the function gets a payload format 2.0 event (:func:`payload_v2_event`)
  and its answer becomes the response the way API Gateway reads a 2.0 answer (a dict without ``statusCode``
  is a 200 JSON body; ``cookies`` become ``set-cookie`` headers; an error is a 500);
- ``HTTP_PROXY`` over a ``VPC_LINK`` to a Cloud Map service (the private integration): the request goes to a
  *healthy* instance the service discovery returns; with none, API Gateway's own 503. The stage name stays in
  the path sent to the instance, as AWS does for a named stage (a documented limit), unless the integration's
  parameter mapping overwrites the path (:func:`mapped_request`). The VPC link must be AVAILABLE: one made
  INACTIVE (:meth:`HttpApiEmulator.link_goes_inactive`, what 60 days unused do) answers 503, and the request
  that reached it starts its provisioning: PENDING, then AVAILABLE after :data:`VPC_LINK_PROVISIONING`.

Like API Gateway, it publishes ``Count``, ``4xx`` and ``5xx`` in ``AWS/ApiGateway`` per ``ApiId`` and per
``ApiId, Stage`` (and per ``ApiId, Stage, Route`` when the stage enables detailed metrics) to the local
CloudWatch, stamped with the scenario clock.
"""

from __future__ import annotations

import fnmatch
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws import bridges
from local_aws.alb import App, HttpRequest, HttpResponse
from local_aws.clock import Clock
from local_aws.endpoint import ACCOUNT_ID, FAKE_CREDENTIALS
from local_aws.functions import Functions
from local_aws.stack import LocalStack

# How long an INACTIVE VPC link takes to be AVAILABLE again after a request reached it. AWS says only that
# it takes minutes; this is the local stack's choice, long enough that a scenario sees the link PENDING.
VPC_LINK_PROVISIONING = timedelta(minutes=2)
# API Gateway's own answers, as HTTP APIs word them.
NOT_FOUND = '{"message":"Not Found"}'
INTERNAL_ERROR = '{"message":"Internal Server Error"}'
SERVICE_UNAVAILABLE = '{"message":"Service Unavailable"}'
_LAMBDA_IN_URI = re.compile(r"(arn:aws[a-z-]*:lambda:[^/]+?)(?:/invocations)?$")


def _joined_headers(headers: Mapping[str, list[str]]) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined with commas, the cookie header left out."""
    joined: dict[str, list[str]] = {}
    for name, values in headers.items():
        joined.setdefault(name.lower(), []).extend(values)
    return {name: ",".join(values) for name, values in joined.items() if name != "cookie"}


def payload_v2_event(
    request: HttpRequest,
    *,
    route_key: str,
    api_id: str,
    stage: str,
    now: datetime,
    region: str,
    path_parameters: Mapping[str, str] | None = None,
    stage_variables: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event an HTTP API sends a Lambda integration with payload format version 2.0.

    Cookies move from the ``cookie`` header to ``cookies``; other headers are lower-cased and repeated ones
    comma-joined; repeated query parameters are comma-joined in ``queryStringParameters`` while
    ``rawQueryString`` keeps them as sent. Keys without a value (``cookies``, ``queryStringParameters``,
    ``pathParameters``, ``stageVariables``, ``body``) are left out, as API Gateway does."""
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    headers = _joined_headers(request.headers)
    headers.setdefault("host", domain)
    headers.update(
        {
            "x-forwarded-for": source_ip,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "content-length": str(len(request.body.encode())),
        }
    )
    cookies = [
        part.strip()
        for name, values in request.headers.items()
        if name.lower() == "cookie"
        for value in values
        for part in value.split(";")
        if part.strip()
    ]
    queries: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        queries.setdefault(key, []).append(value)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S %z"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if queries:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in queries.items()}
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    if request.body:
        event["body"] = request.body
    return event


def response_from_payload_v2(payload: Any) -> tuple[int, dict[str, list[str]], str]:
    """The HTTP response API Gateway makes of a Lambda function's answer to a 2.0 event.

    A dict with ``statusCode`` is read as a response (``cookies`` become ``set-cookie`` headers); any
    other JSON value is the body of a 200 ``application/json`` response."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return 200, {"content-type": ["application/json"]}, json.dumps(payload)
    headers = {name.lower(): [str(value)] for name, value in (payload.get("headers") or {}).items()}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), []).extend(str(v) for v in values)
    if payload.get("cookies"):
        headers.setdefault("set-cookie", []).extend(str(c) for c in payload["cookies"])
    body = payload.get("body")
    return int(payload["statusCode"]), headers, "" if body is None else str(body)


def mapped_request(integration: dict[str, Any], request: HttpRequest, route_path: str) -> HttpRequest:
    """The request an HTTP proxy integration sends after its parameter mapping (``RequestParameters``):
    ``overwrite:path``, and ``overwrite:``/``append:``/``remove:`` of ``header.<name>``, with values that are
    literals or ``$request.path`` (the path without a named stage's prefix). Anything else is refused, so a
    mapping the local HTTP API does not apply never passes unnoticed."""
    path = request.path
    headers = {name: list(values) for name, values in request.headers.items()}
    for key, value in (integration.get("RequestParameters") or {}).items():
        action, _, target = key.partition(":")
        resolved = route_path if value == "$request.path" else value
        if resolved.startswith("$"):
            raise ValueError(f"the local HTTP API does not resolve {value!r} in parameter mapping {key!r}")
        if (action, target) == ("overwrite", "path"):
            path = resolved
        elif target.startswith("header.") and action in ("overwrite", "append", "remove"):
            name = target.removeprefix("header.").lower()
            if action == "remove":
                headers.pop(name, None)
            elif action == "overwrite":
                headers[name] = [resolved]
            else:
                headers.setdefault(name, []).append(resolved)
        else:
            raise ValueError(f"the local HTTP API does not apply the parameter mapping {key!r}")
    return HttpRequest(request.method, path, headers, request.query, request.body)


def _allows(statement: dict[str, Any], source_arn: str) -> bool:
    """A resource-policy statement granting API Gateway ``lambda:InvokeFunction`` for ``source_arn``."""
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    principal = statement.get("Principal", {})
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    services = [services] if isinstance(services, str) else services
    if statement.get("Effect") != "Allow" or "apigateway.amazonaws.com" not in services:
        return False
    if not {"lambda:InvokeFunction", "lambda:*", "*"} & set(actions):
        return False
    values = {"aws:sourcearn": source_arn, "aws:sourceaccount": ACCOUNT_ID}
    for operator, conditions in (statement.get("Condition") or {}).items():
        for key, wanted in conditions.items():
            if key.lower() not in values:
                raise ValueError(f"the local HTTP API does not evaluate the policy condition key {key!r}")
            patterns = [wanted] if isinstance(wanted, str) else list(wanted)
            value = values[key.lower()]
            if operator in ("ArnLike", "StringLike"):
                held = any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
            elif operator in ("ArnEquals", "StringEquals"):
                held = value in patterns
            else:
                raise ValueError(f"the local HTTP API does not evaluate the policy condition {operator!r}")
            if not held:
                return False
    return True


# --- route selection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    route: dict[str, Any]
    path_parameters: dict[str, str]
    # Lower sorts first: how specific the match is, as HTTP APIs rank routes.
    rank: tuple[int, int, int]


def _match_path(template: str, path: str) -> tuple[dict[str, str], tuple[int, int]] | None:
    """Path parameters when ``path`` fits ``template``; with (greedy?, number of parameters) for ranking."""
    wanted = template.strip("/").split("/") if template.strip("/") else []
    given = path.strip("/").split("/") if path.strip("/") else []
    parameters: dict[str, str] = {}
    for index, part in enumerate(wanted):
        if part.startswith("{") and part.endswith("+}"):
            # A greedy variable is the last segment and takes one or more segments.
            if index != len(wanted) - 1 or len(given) <= index:
                return None
            parameters[part[1:-2]] = "/".join(given[index:])
            return parameters, (1, len(parameters))
        if index >= len(given):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = given[index]
        elif part != given[index]:
            return None
    if len(given) != len(wanted):
        return None
    return parameters, (0, len(parameters))


def select_route(routes: list[dict[str, Any]], method: str, path: str) -> RouteMatch | None:
    """The route an HTTP API picks for ``method path``: the most specific match, else ``$default``."""
    matches = []
    default = None
    for route in routes:
        key = route["RouteKey"]
        if key == "$default":
            default = RouteMatch(route, {}, (9, 0, 0))
            continue
        route_method, _, template = key.partition(" ")
        if route_method not in ("ANY", method):
            continue
        found = _match_path(template, path)
        if found is not None:
            parameters, (greedy, count) = found
            matches.append(RouteMatch(route, parameters, (greedy, count, int(route_method == "ANY"))))
    if matches:
        return min(matches, key=lambda match: match.rank)
    return default


# --- the front door ---------------------------------------------------------------------------------


@dataclass
class HttpApiEmulator:
    stack: LocalStack
    functions: Functions
    clock: Clock
    app: App
    api_id: str
    # None: the API's only stage, ``$default`` when it has several.
    stage: str | None = None
    # Cloud Map instance IPv4 -> the application behind it; the others get ``app``.
    apps: dict[str, App] = field(default_factory=dict)
    # What ``served_by`` says for each integration type, named as the ALB emulator names its target groups.
    lambda_name: str = "waker"
    private_name: str = "ecs"
    _round_robin: int = field(default=0, init=False)
    _discovery: Any = field(default=None, init=False)
    # VPC link id -> when its provisioning ends (a request reached it while INACTIVE).
    _link_ready: dict[str, datetime] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.clock.on_minute(self.tick)

    # ------------------------------------------------------------------ reading the local endpoint

    def _client(self) -> Any:
        return self.stack.endpoint.client("apigatewayv2")

    @property
    def stage_name(self) -> str:
        if self.stage is not None:
            return self.stage
        stages = [s["StageName"] for s in self._client().get_stages(ApiId=self.api_id)["Items"]]
        if not stages:
            raise ValueError(f"HTTP API {self.api_id} has no stage: nothing is deployed to call")
        return "$default" if "$default" in stages or len(stages) > 1 else str(stages[0])

    def routes(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._client().get_routes(ApiId=self.api_id)["Items"]
        return items

    def integration_of(self, route: dict[str, Any]) -> dict[str, Any] | None:
        """The integration a route targets now (``integrations/<id>``), None when it has no target."""
        target = route.get("Target") or ""
        if not target.startswith("integrations/"):
            return None
        integration: dict[str, Any] = self._client().get_integration(
            ApiId=self.api_id, IntegrationId=target.split("/", 1)[1]
        )
        return integration

    def default_route_integration(self) -> dict[str, Any] | None:
        route = next((r for r in self.routes() if r["RouteKey"] == "$default"), None)
        return None if route is None else self.integration_of(route)

    def _service_discovery(self) -> Any:
        # DiscoverInstances is a data-plane call: botocore prefixes the host with "data-", which a local
        # endpoint on an IP address cannot resolve; this client sends it to the endpoint as given.
        if self._discovery is None:
            self._discovery = boto3.client(  # type: ignore[call-overload]
                "servicediscovery",
                endpoint_url=self.stack.endpoint.url,
                region_name=self.stack.endpoint.region,
                config=Config(inject_host_prefix=False, retries={"mode": "standard", "max_attempts": 3}),
                **FAKE_CREDENTIALS,
            )
        return self._discovery

    def healthy_instances(self, service_arn: str) -> list[dict[str, Any]]:
        """The instances of a Cloud Map service API Gateway may send to: DiscoverInstances, HEALTHY only."""
        discovery = self._service_discovery()
        service = discovery.get_service(Id=service_arn.rsplit("/", 1)[1])["Service"]
        namespace = discovery.get_namespace(Id=service["NamespaceId"])["Namespace"]
        answer = discovery.discover_instances(
            NamespaceName=namespace["Name"], ServiceName=service["Name"], HealthStatus="HEALTHY"
        )
        instances: list[dict[str, Any]] = answer["Instances"]
        return instances

    # ------------------------------------------------------------------ a request

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str | list[str]] | None = None,
        body: str = "",
    ) -> HttpResponse:
        path, _, query = path.partition("?")
        normalized = {k.lower(): ([v] if isinstance(v, str) else list(v)) for k, v in (headers or {}).items()}
        stage = self.stage_name
        # A named stage is the first path segment of every URL; $default has none.
        route_path = path
        if stage != "$default":
            prefix = f"/{stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return self._own_answer(404, NOT_FOUND, stage, None)
            route_path = path[len(prefix) :] or "/"
        request = HttpRequest(method.upper(), path, normalized, query, body)
        match = select_route(self.routes(), request.method, route_path)
        if match is None:
            return self._own_answer(404, NOT_FOUND, stage, None)
        route_key = str(match.route["RouteKey"])
        integration = self.integration_of(match.route)
        if integration is None:
            return self._own_answer(404, NOT_FOUND, stage, route_key)
        if integration["IntegrationType"] == "AWS_PROXY":
            response = self._invoke_lambda(integration, request, match, stage)
        elif integration["IntegrationType"] == "HTTP_PROXY" and integration.get("ConnectionType") == "VPC_LINK":
            response = self._private(integration, mapped_request(integration, request, route_path))
        else:
            raise ValueError(
                f"the local HTTP API does not reproduce {integration['IntegrationType']} integrations "
                f"({integration.get('ConnectionType', 'INTERNET')})"
            )
        self._count(response.status, stage, route_key)
        return response

    def _own_answer(self, status: int, body: str, stage: str, route_key: str | None) -> HttpResponse:
        self._count(status, stage, route_key)
        return HttpResponse(status, {"content-type": ["application/json"]}, body, "api")

    def _invoke_lambda(
        self, integration: dict[str, Any], request: HttpRequest, match: RouteMatch, stage: str
    ) -> HttpResponse:
        version = integration.get("PayloadFormatVersion", "2.0")
        if version != "2.0":
            raise ValueError(f"the local HTTP API builds payload format 2.0 events only, not {version}")
        uri = str(integration["IntegrationUri"])
        found = _LAMBDA_IN_URI.search(uri.split("/functions/", 1)[-1])
        function = self.stack.function_by_arn(found.group(1) if found else uri)
        stage_variables = self._client().get_stage(ApiId=self.api_id, StageName=stage).get("StageVariables") or {}
        event = payload_v2_event(
            request,
            route_key=str(match.route["RouteKey"]),
            api_id=self.api_id,
            stage=stage,
            now=self.clock.now(),
            region=self.stack.endpoint.region,
            path_parameters=match.path_parameters,
            stage_variables=stage_variables,
        )
        if not self._may_invoke(function.name, request.method, str(match.route["RouteKey"]), stage):
            # API Gateway cannot invoke a function whose resource policy does not allow it: its own 500.
            return HttpResponse(500, {"content-type": ["application/json"]}, INTERNAL_ERROR, "api")
        invocation = self.functions.invoke(function, event)
        if invocation.error is not None:
            return HttpResponse(
                500, {"content-type": ["application/json"]}, INTERNAL_ERROR, self.lambda_name, invocation
            )
        try:
            status, headers, body = response_from_payload_v2(invocation.payload)
        except (TypeError, ValueError):
            # An answer API Gateway cannot read (a statusCode that is no number...) is its own 500.
            return HttpResponse(
                500, {"content-type": ["application/json"]}, INTERNAL_ERROR, self.lambda_name, invocation
            )
        return HttpResponse(status, headers, body, self.lambda_name, invocation)

    def _may_invoke(self, function_name: str, method: str, route_key: str, stage: str) -> bool:
        """Whether the function's resource policy lets API Gateway invoke it for this route (Lambda checks
        the principal ``apigateway.amazonaws.com``, the source ARN and the source account)."""
        try:
            policy = self.stack.endpoint.client("lambda").get_policy(FunctionName=function_name)["Policy"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        region = self.stack.endpoint.region
        resource = "$default" if route_key == "$default" else f"{method}{route_key.partition(' ')[2]}"
        source_arn = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{self.api_id}/{stage}/{resource}"
        return any(_allows(statement, source_arn) for statement in json.loads(policy).get("Statement", []))

    # ------------------------------------------------------------------ the VPC link's life

    def _link(self, link_id: str) -> Any:
        return bridges.vpc_link(ACCOUNT_ID, self.stack.endpoint.region, link_id)

    def link_goes_inactive(self, link_id: str) -> list[str]:
        """What 60 days without a request through the link do in AWS: INACTIVE, its interfaces deleted."""
        self._link(link_id).status = "INACTIVE"
        self._link_ready.pop(link_id, None)
        return [f"VPC link {link_id} INACTIVE (60 days without a request through it: its interfaces are deleted)"]

    def tick(self, now: datetime) -> None:
        """A link being provisioned again is AVAILABLE once its time has come (every minute of the clock)."""
        for link_id, ready in list(self._link_ready.items()):
            if now >= ready:
                self._link(link_id).status = "AVAILABLE"
                del self._link_ready[link_id]

    def _link_unavailable(self, link_id: str) -> bool:
        """Whether the request cannot pass the link; a request through an INACTIVE link starts its return."""
        self.tick(self.clock.now())
        link = self._link(link_id)
        status = getattr(link, "status", "AVAILABLE")
        if status == "INACTIVE":
            link.status = "PENDING"
            self._link_ready[link_id] = self.clock.now() + VPC_LINK_PROVISIONING
        return status != "AVAILABLE"

    def _private(self, integration: dict[str, Any], request: HttpRequest) -> HttpResponse:
        uri = str(integration["IntegrationUri"])
        if ":servicediscovery:" not in uri:
            raise ValueError(f"the local HTTP API reaches VPC links through Cloud Map services only, not {uri}")
        if self._link_unavailable(str(integration["ConnectionId"])):
            return HttpResponse(503, {"content-type": ["application/json"]}, SERVICE_UNAVAILABLE, "api")
        instances = self.healthy_instances(uri)
        if not instances:
            return HttpResponse(503, {"content-type": ["application/json"]}, SERVICE_UNAVAILABLE, "api")
        # Deterministic rotation stands in for API Gateway's spread over healthy instances.
        instance = instances[self._round_robin % len(instances)]
        self._round_robin += 1
        address = instance.get("Attributes", {}).get("AWS_INSTANCE_IPV4", "")
        forwarded = {
            **request.headers,
            "x-forwarded-for": ["127.0.0.1"],
            "x-forwarded-proto": ["https"],
            "x-forwarded-port": ["443"],
        }
        response = self.apps.get(address, self.app)(
            HttpRequest(request.method, request.path, forwarded, request.query, request.body)
        )
        return HttpResponse(response.status, response.headers, response.body, self.private_name)

    def _count(self, status: int, stage: str, route_key: str | None) -> None:
        detailed = False
        if route_key is not None:
            settings = self._client().get_stage(ApiId=self.api_id, StageName=stage).get("DefaultRouteSettings") or {}
            detailed = bool(settings.get("DetailedMetricsEnabled"))
        api = [{"Name": "ApiId", "Value": self.api_id}]
        dimension_sets = [api, [*api, {"Name": "Stage", "Value": stage}]]
        if detailed and route_key is not None:
            dimension_sets.append([*api, {"Name": "Stage", "Value": stage}, {"Name": "Route", "Value": route_key}])
        values = {"Count": 1.0, "4xx": float(400 <= status < 500), "5xx": float(status >= 500)}
        self.stack.endpoint.client("cloudwatch").put_metric_data(
            Namespace="AWS/ApiGateway",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": self.clock.now(),
                    "Value": value,
                    "Unit": "Count",
                }
                for dimensions in dimension_sets
                for name, value in values.items()
            ],
        )
