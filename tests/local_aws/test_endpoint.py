"""The local endpoint starts on a free loopback port, answers, and leaves nothing behind when stopped."""

from __future__ import annotations

import importlib
import socket
import threading

import pytest

from local_aws import bridges
from local_aws.endpoint import EndpointError, LocalEndpoint


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def test_start_answers_and_stop_leaves_no_thread_or_socket() -> None:
    threads_before = set(threading.enumerate())
    endpoint = LocalEndpoint().start()
    host, port = endpoint.url.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    # Several clients keep connections alive: the stop must close them too.
    for service in ("ssm", "sqs", "ecs"):
        client = endpoint.client(service)
        if service == "ssm":
            client.put_parameter(Name="/endpoint/test", Value="v", Type="String")
            assert client.get_parameter(Name="/endpoint/test")["Parameter"]["Value"] == "v"
        elif service == "sqs":
            assert "QueueUrls" not in client.list_queues(QueueNamePrefix="none-such")
        else:
            client.create_cluster(clusterName="endpoint-test")
            assert any(arn.endswith("/endpoint-test") for arn in client.list_clusters()["clusterArns"])
    assert not _port_is_free(host, int(port))

    endpoint.stop()

    assert _port_is_free(host, int(port))
    assert set(threading.enumerate()) - threads_before == set()


def test_two_endpoints_get_different_free_ports() -> None:
    with LocalEndpoint() as first, LocalEndpoint() as second:
        assert first.url != second.url


def test_url_of_a_stopped_endpoint_is_a_clear_error() -> None:
    with pytest.raises(EndpointError, match="not running"):
        _ = LocalEndpoint().url


def test_an_address_that_cannot_be_bound_is_a_clear_error() -> None:
    with LocalEndpoint() as running:
        port = int(running.url.rsplit(":", 1)[1])
        with pytest.raises(EndpointError, match="could not listen"):
            LocalEndpoint(port=port).start()


def test_the_bridges_live_only_while_an_endpoint_runs() -> None:
    # No endpoint runs in this module outside the tests, so moto starts as moto.
    ecs_backend = importlib.import_module("moto.ecs.models").EC2ContainerServiceBackend
    target_group = importlib.import_module("moto.elbv2.models").FakeTargetGroup
    own_update_service = ecs_backend.update_service
    assert "get_cfn_attribute" not in vars(target_group)
    with LocalEndpoint(), LocalEndpoint():
        assert ecs_backend.update_service is not own_update_service
        assert "get_cfn_attribute" in vars(target_group)
    assert ecs_backend.update_service is own_update_service
    assert "get_cfn_attribute" not in vars(target_group)
    assert bridges.installed() == ["alarm_model", "secret_model", "http_api_models", "cloud_map_models"]
