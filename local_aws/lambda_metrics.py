"""Lambda's own metrics for the local stack: ``AWS/Lambda`` ``Invocations`` and ``Errors`` per function.

Lambda publishes both for every invocation (``Errors`` is 0 for one that succeeded), per ``FunctionName``;
alarms may read them (the http-api mode's wake backstop counts the HTTP face's errors).
"""

from __future__ import annotations

from datetime import datetime

from local_aws.endpoint import LocalEndpoint
from local_aws.functions import Invocation


def publish_invocation(endpoint: LocalEndpoint, function_name: str, invocation: Invocation, at: datetime) -> None:
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    endpoint.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value, "Unit": "Count"}
            for name, value in (("Invocations", 1.0), ("Errors", float(invocation.error is not None)))
        ],
    )
