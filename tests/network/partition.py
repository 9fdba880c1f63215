"""A test host of its own: a network namespace joined to this machine by a veth pair, which the
test can unplug (a partition) and plug back (healing). Needs root, as CI and the sessions are."""

from __future__ import annotations

import os
import subprocess

# A /30 of the test's own, between this machine's side of the pair and the namespace's.
HOST_ADDRESS = "10.231.77.1"
GUEST_ADDRESS = "10.231.77.2"


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *args] if namespace is None else ["ip", "netns", "exec", namespace, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, text=True)


class TestHost:
    """`with TestHost("gc-3") as host:` a namespace reachable at GUEST_ADDRESS from HOST_ADDRESS."""

    __test__ = False  # not a pytest class

    def __init__(self, name: str):
        self.name = f"{name}-{os.getpid()}"
        self.outside = f"gco{os.getpid() % 100000}"  # interface names are at most 15 characters
        self.inside = f"gci{os.getpid() % 100000}"

    def __enter__(self) -> "TestHost":
        _ip("netns", "add", self.name)
        try:
            _ip("link", "set", "lo", "up", namespace=self.name)
            _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
            _ip("link", "set", self.inside, "netns", self.name)
            _ip("addr", "add", f"{HOST_ADDRESS}/30", "dev", self.outside)
            _ip("addr", "add", f"{GUEST_ADDRESS}/30", "dev", self.inside, namespace=self.name)
            self.plug()
        except BaseException:
            self.__exit__()
            raise
        return self

    def prefix(self) -> list[str]:
        """The command prefix that runs a program on this host."""
        return ["ip", "netns", "exec", self.name]

    def unplug(self) -> None:
        _ip("link", "set", self.outside, "down")

    def plug(self) -> None:
        _ip("link", "set", self.outside, "up")
        _ip("link", "set", self.inside, "up", namespace=self.name)

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
