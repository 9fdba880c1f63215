"""DApp fixtures in the flaskr style: app -> client -> auth, over a node data folder made for the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "node"))  # chainkit: the project's anvil as a fixture

from dappkit import PASSWORD, ADDRESS, AuthActions, Clock, node_config_for  # noqa: E402

from dapp import create_app  # noqa: E402
from dapp.cli import set_password  # noqa: E402
from dapp.services import NodeServices  # noqa: E402
from node.runtime.live import LiveSamples  # noqa: E402


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def node_config(tmp_path):
    config = node_config_for(tmp_path)
    set_password(config, PASSWORD)
    return config


@pytest.fixture
def services(node_config, clock):
    made = NodeServices(node_config, ADDRESS, clock, wall=clock, live=LiveSamples())
    yield made
    made.close()


@pytest.fixture
def app(services):
    return create_app({"TESTING": True}, services=services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)
