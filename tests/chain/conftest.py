"""Fixtures for the chain tests: fake chain clients answering JSON-RPC over HTTP."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from fake_chain_client import FakeChainClient, bind


@pytest.fixture
def fake_chain_client():
    """Starts fake chain clients: `fake_chain_client(answers)`; all stop after the test."""
    started: list[FakeChainClient] = []

    def start(answers: dict) -> FakeChainClient:
        client = FakeChainClient(answers)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


@pytest.fixture
def free_port_url():
    """A URL on a port in the tests' range where nothing listens."""
    server = bind(BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"
