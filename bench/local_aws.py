"""How long the local AWS takes: building the stack from template.yaml, and the whole demo in process."""

from __future__ import annotations

import io
import logging
import statistics
import time
import warnings

from local_aws import demo
from local_aws.endpoint import LocalEndpoint
from local_aws.stack import deploy

RUNS = 3


def _stack_seconds() -> list[float]:
    seconds = []
    with LocalEndpoint() as endpoint:
        for _ in range(RUNS):
            endpoint.reset()
            started = time.perf_counter()
            deploy(endpoint)
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    warnings.filterwarnings("ignore", module="moto")
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stack = _stack_seconds()
    out = io.StringIO()
    started = time.perf_counter()
    code = demo.main(["--speed", "0"], out=out)
    scenario = time.perf_counter() - started
    summary = out.getvalue().strip().splitlines()[-1]
    print(f"{'measure':<52} {'value':>12}")
    print(f"{'stack from template.yaml (median of ' + str(RUNS) + ')':<52} {statistics.median(stack):>10.2f} s")
    print(f"{'demo in process, --speed 0 (exit ' + str(code) + ')':<52} {scenario:>10.1f} s")
    print(f"  {summary}")


if __name__ == "__main__":
    main()
