"""The local endpoint starts on a free loopback port, answers, and leaves nothing behind when stopped."""

from __future__ import annotations

import socket
import threading

import pytest

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
