"""Runs the demo community: chain, meters on pseudo-terminals, five nodes with their DApps.

Start order: chain (its time set to where the demo stopped), the time keeper, the meters, the nodes.
Stop order is the reverse, so every node finishes its last write while the chain still answers,
and anvil writes its state last.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

import requests

from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.devnet import MANIFEST, dev_account
from node.chain.timekeeper import ChainTimeKeeper
from node.demo.community import TIMEZONE, DemoError, DemoFiles, DemoState, check_chain, create_community
from node.demo.households import HOUSEHOLDS, DemoHousehold
from node.demo.meters import PtyMeters
from node.demo.narrator import CommunityNarrator
from node.demo.processes import NodeProcess
from node.runtime.clock import SimulatedClock
from node.runtime.devnode import DEV_ENV, write_dev_config
from node.runtime.meter_feed import resumed_meter
from node.store.store import MeterStore

MAX_RESTARTS = 5


@dataclass(frozen=True)
class DemoSettings:
    root: Path = Path(".demo")
    chain_port: int = 8545
    first_dapp_port: int = 8081
    time_factor: float = 60.0  # a 15-minute interval in 15 s
    telegram_every: float = 10.0  # simulated seconds between a meter's telegrams
    host: str = "127.0.0.1"
    node_stop_s: float = 20.0  # a node still running after this long on stopping is killed

    def dapp_port(self, household: DemoHousehold) -> int:
        return self.first_dapp_port + HOUSEHOLDS.index(household)

    def dapp_url(self, household: DemoHousehold) -> str:
        return f"http://{self.host}:{self.dapp_port(household)}"


class Demo:
    """`start()`, then `watch(stopped)` until Ctrl-C, then `stop()` (also after a failed start)."""

    port_options = "--chain-port/--first-dapp-port"  # where a port clash is told to look

    def __init__(self, settings: DemoSettings, say: Callable[[str], None] = print, wall: Callable[[], float] = time.time):
        self.settings = settings
        self.say = say
        self.wall = wall
        self.files = DemoFiles(settings.root)
        self.anvil: EmbeddedAnvil | None = None
        self.clock: SimulatedClock | None = None
        self.meters: PtyMeters | None = None
        self.nodes: list[NodeProcess] = []
        self.state: DemoState | None = None
        self.started_at = wall()
        self.first_view_s: float | None = None
        self._keeping = threading.Event()
        self._keeper: threading.Thread | None = None
        self._narrate_from: int | None = None  # the first block the narrator tells (None: the head when it starts)

    # -- starting -------------------------------------------------------------------------

    def start(self) -> None:
        self._check_ports()
        resuming = self._open_folder()
        self.files.chain_state.parent.mkdir(exist_ok=True)
        self.anvil = EmbeddedAnvil(
            AnvilSettings(port=self.settings.chain_port, host=self.settings.host, state_file=self.files.chain_state,
                          state_interval=30),
            log_file=self.files.root / "chain" / "anvil.log",
        )
        self.anvil.start()
        w3 = connect(self.anvil.url)
        if resuming:
            self.state = self.files.read_state()
            check_chain(w3, self.state)
            self.say(f"resuming the demo community in {self.files.root}/")
        else:
            self.say(f"creating a demo community in {self.files.root}/")
            self.state = create_community(self.files, w3, self.settings.time_factor, lambda step: self.say(f"  {step}"))
        start = max(self.state.simulated_until, w3.eth.get_block("latest")["timestamp"] + 1)
        self.clock = SimulatedClock(self.state.time_factor, start, self.wall())
        self._keep_chain_time(w3)
        # Told from here: a node may trade before every DApp answers (de Vries' offers come at once).
        self._narrate_from = w3.eth.block_number + 1
        self._start_meters_and_nodes()
        self._wait_for_dapps()
        self._narrator = self._make_narrator(w3)

    def _open_folder(self) -> bool:
        """Make the demo's folder; True if it holds a demo to resume (an unfinished one is removed)."""
        resuming = self.files.exists()
        if not resuming and self.files.root.exists():
            self.say(f"{self.files.root}/ holds an unfinished demo (stopped while it was being created); starting afresh")
            shutil.rmtree(self.files.root)
        self.files.root.mkdir(parents=True, exist_ok=True)
        return resuming

    def _ports(self) -> list[int]:
        return [self.settings.chain_port] + [self.settings.dapp_port(h) for h in HOUSEHOLDS]

    def _check_ports(self) -> None:
        for port in self._ports():
            with socket.socket() as probe:
                if probe.connect_ex((self.settings.host, port)) == 0:
                    raise DemoError(f"port {port} is in use (is a demo already running?): stop it, or choose other"
                                    f" ports with {self.port_options}")

    def _keep_chain_time(self, w3) -> None:
        keeper = ChainTimeKeeper(w3, self.clock)
        keeper.step()  # before any node sends: a resumed anvil starts at the wall clock's time

        def keep() -> None:
            while not self._keeping.wait(0.25):
                try:
                    keeper.step()
                except Exception:  # noqa: BLE001 - the chain restarting; set the time again once it answers
                    keeper.set_to = None

        self._keeper = threading.Thread(target=keep, name="demo-chain-time", daemon=True)
        self._keeper.start()

    def _start_meters_and_nodes(self) -> None:
        self.meters = PtyMeters(self.clock)
        env = {**os.environ, **DEV_ENV}
        for household in HOUSEHOLDS:
            directory = self.files.node_dir(household)
            with MeterStore(directory / "data" / "meter.sqlite", clock=self.clock) as store:
                latest = store.latest()
            device = self.meters.add(
                resumed_meter(household.profile, household.seed, self.settings.telegram_every, self.clock(), latest)
            )
            self._write_config(household, device)
            self.nodes.append(NodeProcess(household.name, directory / "node.toml", env))
        self.meters.start()
        for node in self.nodes:
            node.start()

    def _write_config(self, household: DemoHousehold, device: str) -> None:
        write_dev_config(
            self.files.node_dir(household), household.name, self.anvil.url, serial_meter_table(device),
            self.clock, poll_seconds=0.5, settle_patience=900,
            dapp=dapp_table(self.settings, household), extra=household.extra_config, pins="mock",
        )

    def _wait_for_dapps(self, timeout: float = 120) -> None:
        deadline = self.wall() + timeout
        waiting = list(HOUSEHOLDS)
        while waiting:
            for household in list(waiting):
                if dapp_answers(self.settings.dapp_url(household)):
                    waiting.remove(household)
                    if self.first_view_s is None:
                        self.first_view_s = self.wall() - self.started_at
            self._refuse_dead_nodes()
            if self.wall() > deadline:
                raise DemoError(f"{', '.join(h.name for h in waiting)} did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        logins = self.files.logins()
        self.say("\nThe community is running; open a household's DApp and log in:")
        for household in HOUSEHOLDS:
            self.say(f"  {household.name:9} {self.settings.dapp_url(household)}   password {logins[household.name]:14}"
                     f" ({household.description})")
        self.say(self._pace() + "\n")

    def _pace(self) -> str:
        """How fast the community lives, and how to stop and resume it."""
        return (f"Time runs {self.state.time_factor:g}x: a 15-minute interval every {900 / self.state.time_factor:.0f} s."
                " Ctrl-C stops; `make demo` resumes, `make demo-reset` starts afresh.")

    def _refuse_dead_nodes(self) -> None:
        dead = [node for node in self.nodes if node.exit_code is not None]
        if dead:
            raise DemoError(f"the {dead[0].name} node stopped while starting: see {dead[0].log_path}")

    def _make_narrator(self, w3) -> CommunityNarrator:
        record = self.state.record
        contracts = CommunityContracts(w3, record, load_abis(MANIFEST))
        names = {dev_account(h.account_index).address: h.name for h in HOUSEHOLDS}
        statuses = {h.name: self.files.node_dir(h) / "data" / "status.json" for h in HOUSEHOLDS}
        return CommunityNarrator(contracts, names, statuses, self._narrate_from or w3.eth.block_number + 1, TIMEZONE)

    # -- running --------------------------------------------------------------------------

    def watch(self, stopped: threading.Event, every: float = 1.0) -> None:
        """Tell what happens, and restart a node that died, until `stopped` is set."""
        while not stopped.wait(every):
            try:
                for line in self._narrator.poll():
                    self.say(f"[{self._now():%a %H:%M}] {line}")
            except Exception as error:  # noqa: BLE001 - the narration must never stop the community
                self.say(f"(narration paused: {error})")
            self._restart_dead_nodes()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), TIMEZONE)

    def _restart_dead_nodes(self) -> None:
        for node in self.nodes:
            if node.exit_code is None:
                continue
            if node.restarts >= MAX_RESTARTS:
                continue
            node.restarts += 1
            self.say(f"the {node.name} node stopped (exit {node.exit_code}); restarting it (see {node.log_path})")
            node.start()

    # -- stopping -------------------------------------------------------------------------

    def stop(self) -> None:
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            node.wait(timeout=self.settings.node_stop_s)
        if self.meters is not None:
            self.meters.stop()
        self._keeping.set()
        if self._keeper is not None:
            self._keeper.join()
        if self.state is not None and self.clock is not None:
            self.files.write_state(replace(self.state, simulated_until=self.clock()))
        if self.anvil is not None:
            self.anvil.stop()


def serial_meter_table(device: str) -> str:
    """node.toml's [meter] lines for a demo meter on its pseudo-terminal."""
    return f'source = "serial"\ndevice = "{device}"\nstandard = "dsmr5"'


def dapp_table(settings: DemoSettings, household: DemoHousehold) -> str:
    """node.toml's [dapp] lines: the household's port, and its neighbours' DApps as data peers."""
    peers = "\n".join(
        f'"{dev_account(other.account_index).address}" = "{settings.dapp_url(other)}"'
        for other in HOUSEHOLDS if other != household
    )
    return f'host = "{settings.host}"\nport = {settings.dapp_port(household)}\n\n[dapp.peers]\n{peers}'


def dapp_answers(url: str) -> bool:
    """Whether the DApp at `url` serves its login page."""
    try:
        return requests.get(url + "/auth/login", timeout=2).status_code == 200
    except requests.RequestException:
        return False
