"""Two local stacks started together on one machine (two ``make dev``, or one and a test run)
each get their own servers: a port taken meanwhile is given up for a free one, and a server of
the other stack answering on a port is never taken for one's own."""

from __future__ import annotations

import threading
import urllib.request

import boto3

from devstack.stack import LOCAL_REGION, STACK_ID_PATH, LocalStack, free_port


def _ssm(stack: LocalStack):
    return boto3.client(
        "ssm",
        endpoint_url=stack.aws_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_two_stacks_asking_for_the_same_ports_at_once_each_get_their_own():
    ports = {"aws_port": free_port(), "stripe_port": free_port(), "vendor_port": free_port()}
    stacks = [LocalStack(**ports), LocalStack(**ports)]
    errors: list[BaseException] = []

    def start(stack: LocalStack) -> None:
        try:
            stack.start()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(s,)) for s in stacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        first, second = stacks
        for name in ("aws_url", "stripe_url", "vendor_url"):
            assert getattr(first, name) != getattr(second, name), name
            for stack in stacks:
                with urllib.request.urlopen(getattr(stack, name) + STACK_ID_PATH) as answer:
                    assert answer.read().decode().strip('"') == stack.stack_id
        # What one stack writes, the other does not see (its parameters, its secrets).
        _ssm(first).put_parameter(Name="/which", Value="first", Type="String")
        _ssm(second).put_parameter(Name="/which", Value="second", Type="String")
        assert _ssm(first).get_parameter(Name="/which")["Parameter"]["Value"] == "first"
        assert _ssm(second).get_parameter(Name="/which")["Parameter"]["Value"] == "second"
    finally:
        for stack in stacks:
            stack.stop()
