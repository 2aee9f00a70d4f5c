"""CloudWatch Logs' part of the local stack: what a function writes lands in its log group, as in Lambda.

The function's log group is the one its LoggingConfig names (resolved to the stack's physical name), else
Lambda's default ``/aws/lambda/<name>``. moto's Lambda keeps no LoggingConfig, so it is read from the
translated template. ``warmkeeper logs`` and ``status`` read these groups with FilterLogEvents.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from local_aws.endpoint import LocalEndpoint
from local_aws.stack import LocalFunction, LocalStack


def log_groups(stack: LocalStack) -> dict[str, str]:
    """The log group of each function of ``stack``, by function name."""
    groups: dict[str, str] = {}
    for logical_id, function in stack.functions.items():
        resource = stack.translated["Resources"].get(logical_id, {})
        group: Any = resource.get("Properties", {}).get("LoggingConfig", {}).get("LogGroup")
        if isinstance(group, dict) and "Ref" in group:
            group = stack.physical_ids.get(group["Ref"])
        groups[function.name] = group if isinstance(group, str) and group else f"/aws/lambda/{function.name}"
    return groups


def publish_logs(
    endpoint: LocalEndpoint, group: str, function: LocalFunction, records: list[dict[str, Any]], at: datetime
) -> None:
    if not records:
        return
    logs = endpoint.client("logs")
    existing = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    if not any(g["logGroupName"] == group for g in existing):
        logs.create_log_group(logGroupName=group)
    stream = f"local/{function.name}"
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    timestamp = int(at.timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": timestamp, "message": json.dumps(record)} for record in records],
    )
