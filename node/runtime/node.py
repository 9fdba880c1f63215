"""The node: meter, store, submitter, event mirror and relays as supervised parts.

Parts that write to the chain share one thread and one TransactionSender ("chain" part), so the
node account's nonce has a single owner. Every part builds its own connections and files, so a
part that dies is rebuilt cleanly without touching the others.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from node.config import NodeConfig
from node.errors import ChainError, NodeError
from node.runtime.clock import SimulatedClock
from node.runtime.live import LiveSamples
from node.runtime.supervisor import Part, Supervisor

log = logging.getLogger(__name__)


@dataclass
class ChainSession:
    """One connection to the chain, with the deployment's contracts and this node's membership."""

    w3: object
    contracts: object
    community: object
    account: object

    @classmethod
    def open(cls, config: NodeConfig, account) -> "ChainSession":
        """The node's own community ([chain])."""
        chain = config.chain
        return cls.connect(chain.rpc, chain.deployment, chain.manifest, account)

    @classmethod
    def connect(cls, rpc: str, deployment_path: Path, manifest: Path, account) -> "ChainSession":
        """A community's chain at `rpc`, with the contracts of its deployment record."""
        from node.chain import deployment
        from node.chain.client import connect
        from node.chain.community import CommunityView
        from node.chain.contracts import CommunityContracts, load_abis

        record = deployment.read(deployment_path)
        w3 = connect(rpc)
        if w3.eth.chain_id != record.chain_id:
            raise ChainError(f"{deployment_path} is for chain {record.chain_id}, but {rpc} is chain {w3.eth.chain_id}")
        contracts = CommunityContracts(w3, record, load_abis(manifest))
        community = CommunityView(contracts["Community"])
        if community.member_id(account.address) == 0:
            raise ChainError(
                f"the node account {account.address} is not a member of the community: ask the deployer to run "
                f"`ape run community add-member {account.address} ...`"
            )
        return cls(w3, contracts, community, account)


class NodeRuntime:
    """Builds the node's parts from its config and runs them until stopped."""

    def __init__(
        self,
        config: NodeConfig,
        env: Mapping[str, str] = os.environ,
        pin_factory=None,
        wall: Callable[[], float] = time.time,
        backoff: tuple[float, float] = (1.0, 30.0),
    ):
        self.config = config
        self.env = env
        self.pin_factory = pin_factory
        self.wall = wall
        c = config.clock
        self.clock = SimulatedClock(c.time_factor, c.start, c.wall_start, wall) if c.time_factor != 1.0 else wall
        self.zone = ZoneInfo(config.timezone)  # the household's days, as the DApp shows them
        from node.chain.deployment import CommunityInterval

        self.interval = CommunityInterval(config.chain.deployment)
        from node.sqlite import private_dir

        private_dir(config.data_dir)  # 0700: the node's files are for its own user only
        self.account = self._load_account()
        self.participation_accounts = self._load_participation_accounts()
        self.anvil = None
        self.geth = self._geth() if config.chain.client == "geth" else None
        self._battery = self._battery_sensor()
        self.parts = self._parts()
        self.supervisor = Supervisor(self.parts, backoff=backoff, wall=wall)
        self.observed: dict[str, object] = {}
        self.live = LiveSamples()

    def _battery_sensor(self):
        """Built once per node run: a simulated battery keeps its charge across part restarts."""
        if self.config.battery is None:
            return None
        from node.relay import battery_sensor_from_dict

        return battery_sensor_from_dict(self.config.battery, clock=self.wall)

    def _load_account(self):
        from node.chain.keystore import load_node_account

        return load_node_account(self.config.chain.keystore, self.config.chain.passphrase_file, self.env)

    def _load_participation_accounts(self) -> dict:
        """The member account of each further community ([[participation]]), opened at start like the
        node account: the node's own when it names the same keystore and passphrase file."""
        from node.chain.keystore import load_node_account

        chain, accounts = self.config.chain, {}
        for p in self.config.participations:
            same = (p.keystore, p.passphrase_file) == (chain.keystore, chain.passphrase_file)
            accounts[p.name] = self.account if same else load_node_account(p.keystore, p.passphrase_file, self.env)
        return accounts

    def _geth(self):
        from urllib.parse import urlparse

        from node.chain.geth import EmbeddedGeth, GethSettings
        from node.chain.keystore import read_passphrase

        chain = self.config.chain
        settings = GethSettings(
            datadir=self.config.chain_dir,
            genesis=chain.genesis,
            keystore=chain.keystore,
            account=self.account.address,
            http_port=urlparse(chain.rpc).port or 8545,
            p2p_host=chain.p2p_host,
            p2p_port=chain.p2p_port,
            peers=chain.peers,
        )
        passphrase = read_passphrase(chain.keystore, chain.passphrase_file, self.env)  # geth unlocks the same key
        return EmbeddedGeth(settings, passphrase, log_file=self.config.data_dir / "geth.log")

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.chain.embedded:
            self._start_embedded_chain()
        if self.geth is not None:
            self._start_geth()
        _import_part_modules(self.config.dapp.enabled)
        self.supervisor.start()
        log.info("node %s running as %s", self.config.name, self.account.address)

    def stop(self) -> None:
        self.supervisor.stop()
        self.write_status()
        if self.anvil is not None:
            self.anvil.stop()
        if self.geth is not None:
            self.geth.stop()

    def run_until(self, stopped: threading.Event) -> None:
        self.start()
        try:
            while not stopped.wait(2.0):
                self.write_status()
        finally:
            self.stop()

    def _start_embedded_chain(self) -> None:
        from urllib.parse import urlparse

        from node.chain.anvil import AnvilSettings, EmbeddedAnvil

        url = urlparse(self.config.chain.rpc)
        settings = AnvilSettings(
            port=url.port or 8545,
            host=url.hostname or "127.0.0.1",
            block_time=self.config.chain.block_time,
            state_file=self.config.chain.state_file,
        )
        self.anvil = EmbeddedAnvil(settings, log_file=self.config.data_dir / "anvil.log")
        self.anvil.start()

    def _start_geth(self) -> None:
        """A data directory that cannot be prepared stops the node; a geth that fails to start is
        retried by the "geth" part, while the meter goes on reading."""
        self.geth.prepare()
        try:
            self.geth.start()
        except ChainError as error:
            log.warning("%s; retrying", error)

    # -- parts ----------------------------------------------------------------------------

    def _parts(self) -> list[Part]:
        poll = self.config.chain.poll_seconds
        parts = [
            Part("meter", self._build_meter, period=0.2),
            Part("outbox", self._build_interval_queue, period=poll),
            Part("chain", self._build_chain_writer, period=poll),
            Part("mirror", self._build_mirror, period=poll),
        ]
        for p in self.config.participations:
            # A further community: its own queue, and its own chain part, so a dead chain of one
            # community never stops another's submission.
            parts.append(Part(f"outbox:{p.name}", lambda p=p: self._build_participation_queue(p), period=poll))
            parts.append(Part(f"submit:{p.name}", lambda p=p: self._build_participation_submitter(p), period=poll))
        if self.config.relays:
            parts.append(Part("relays", self._build_relays, period=1.0))
        if self.config.chain.embedded:
            parts.append(Part("anvil", self._build_anvil_watch, period=2.0))
        if self.geth is not None:
            parts.append(Part("geth", self._build_geth_watch, period=1.0))
        if self.config.chain.follow_membership and not self.config.chain.embedded:
            parts.append(Part("validators", self._build_validator_votes, period=max(poll, 5.0)))
        if self.config.dapp.enabled:
            parts.append(Part("dapp", self._build_dapp, period=0.5))
        return parts

    def _store(self):
        """The meter store, recording intervals of the community's length."""
        from node.store.store import MeterStore, StoreSettings

        return MeterStore(self.config.store_path, StoreSettings(interval=self.interval.seconds()), clock=self.clock,
                          local=self.zone)

    def interval_changed(self, store) -> bool:
        """The deployment record now names another interval than `store` records (it arrived late)."""
        return self.interval.seconds() != store.settings.interval

    def _build_meter(self):
        store = self._store()
        meter = self.config.meter
        if meter.source == "simulator":
            from node.runtime.meter_feed import SimulatedMeterFeed

            feed = SimulatedMeterFeed(store, self.clock, meter.profile, meter.seed, meter.every_seconds,
                                      on_stored=self.publish_sample)
            self.observed["meter"] = feed

            def step() -> None:
                if self.interval_changed(store):
                    raise _IntervalChanged(store.settings.interval, self.interval.seconds())
                feed.step()

            return _Stepper(step, store.close)
        return _SerialMeter(self, store)

    def publish_sample(self, sample) -> None:
        self.live.publish(sample, self.wall())

    def _build_interval_queue(self):
        from node.submit.outbox import Outbox
        from node.submit.submitter import IntervalQueue

        queue = IntervalQueue(self._store(), Outbox(self.config.outbox_path), self.clock,
                              participation_ppm=self.config.chain.participation_ppm)
        return _Stepper(queue.step, queue.close)

    def _build_participation_queue(self, p):
        from node.submit.outbox import Outbox
        from node.submit.submitter import IntervalQueue

        queue = IntervalQueue(self._store(), Outbox(self.config.participation_outbox_path(p.name)), self.clock,
                              participation_ppm=p.participation_ppm)
        return _Stepper(queue.step, queue.close)

    def _build_participation_submitter(self, p):
        """Submits and settles a further community's readings with its own sender (its chain has its
        own nonces); the trading rules, certificates and DApp actions are the node's own community's."""
        from node.chain.sender import TransactionSender
        from node.submit.outbox import Outbox
        from node.submit.settler import Settler
        from node.submit.submitter import IntervalSubmitter

        account = self.participation_accounts[p.name]
        session = ChainSession.connect(p.rpc, p.deployment, p.manifest, account)
        sender = TransactionSender(session.w3, account, session.contracts)
        outbox = Outbox(self.config.participation_outbox_path(p.name))
        try:
            settler = Settler(session.community, sender, self.clock, self.config.chain.settle_patience)
            submitter = IntervalSubmitter(outbox, session.community, sender, settler, self.clock)
        except BaseException:
            outbox.close()
            raise
        self.observed[f"settler:{p.name}"] = settler
        return _Stepper(submitter.tick, outbox.close)

    def _build_chain_writer(self):
        from node.actions.queue import ActionQueue
        from node.actions.runner import ActionRunner
        from node.chain.sender import TransactionSender
        from node.mirror.db import MirrorDB
        from node.submit.outbox import Outbox
        from node.submit.settler import Settler
        from node.submit.submitter import IntervalSubmitter

        session = ChainSession.open(self.config, self.account)
        sender = TransactionSender(session.w3, self.account, session.contracts)
        outbox = Outbox(self.config.outbox_path)
        mirror = MirrorDB(self.config.mirror_path)
        agent = self._exchange_agent(session, sender, mirror)
        settler = Settler(session.community, sender, self.clock, self.config.chain.settle_patience,
                          before_settling=agent.meter_before_settlement if agent else lambda interval: None)
        certifier = self._surplus_certifier(session, sender, mirror)
        actions = ActionQueue(self.config.actions_path, self.wall)
        runner = ActionRunner(actions, session.contracts, sender, self.wall)
        submitter = IntervalSubmitter(
            outbox, session.community, sender, settler, self.clock, on_reading=[agent.after_reading] if agent else []
        )
        self.observed["settler"] = settler

        def step() -> None:
            submitter.tick()
            if agent is not None:
                agent.tick()
            if certifier is not None:
                certifier.tick()
            runner.tick()

        def close() -> None:
            outbox.close()
            actions.close()
            mirror.close()

        return _Stepper(step, close)

    def _exchange_agent(self, session: ChainSession, sender, mirror):
        if "EnergyExchange" not in session.contracts:
            return None
        from node.exchange.agent import ExchangeAgent
        from node.exchange.rules_store import RulesStore

        return ExchangeAgent(
            session.contracts["EnergyExchange"], session.contracts["EnergyToken"], session.community, sender, mirror,
            self.clock, RulesStore.for_node(self.config).read, battery_soc=self._battery_soc,
            forecast=self._household_forecast, zone=self.zone,
        )

    def _household_forecast(self, origin: int, hours: int):
        """The trading rules' forecast, from a store opened for it (the chain part keeps none open)."""
        from node.forecast.sources import household_forecast

        store = self._store()
        try:
            return household_forecast(store, origin, self.zone, hours)
        finally:
            store.close()

    def _surplus_certifier(self, session: ChainSession, sender, mirror):
        if not self.config.certificates.auto_mint or "EnergyCertificate" not in session.contracts:
            return None
        from node.certificates.agent import SurplusCertifier

        return SurplusCertifier(session.contracts["EnergyCertificate"], session.community, sender, mirror,
                                self.config.certificates)

    def _battery_soc(self) -> float | None:
        from node.relay import BatterySensorError

        if self._battery is None:
            return None
        try:
            return self._battery.soc_pct()
        except BatterySensorError:
            return None

    def _build_mirror(self):
        from node.mirror.db import MirrorDB
        from node.mirror.mirror import EventMirror, MirrorSettings

        session = ChainSession.open(self.config, self.account)
        db = MirrorDB(self.config.mirror_path)
        mirror = EventMirror(session.w3, session.contracts, db, MirrorSettings(reorg_window=self.config.chain.reorg_window))
        return _Stepper(mirror.poll, db.close)

    def _build_relays(self):
        from datetime import datetime, timezone

        from node.mirror.db import MirrorDB
        from node.relay import RelayBank, RelayJournal, SwitchLog
        from node.runtime.relays import RelayController

        journal = RelayJournal(self.config.relay_journal_path)
        bank = RelayBank.open(
            self.config.relays.values(),
            self._pin_factory(),
            monotonic=self.clock,
            wall_clock=lambda: datetime.fromtimestamp(self.clock(), timezone.utc),
            log=SwitchLog(journal=journal),
        )
        from node.actions.queue import ActionQueue
        from node.exchange.deals import deals, relay_exchanges
        from node.submit.outbox import Outbox

        mirror = MirrorDB(self.config.mirror_path)
        known: dict[str, int] = {}

        def exchanges():
            if "length" not in known:
                outbox = Outbox(self.config.outbox_path)
                length = outbox.interval_length  # known once the node has met the chain
                outbox.close()
                if length is None:
                    return None
                known["length"] = length
            return relay_exchanges(deals(mirror), self.account.address, known["length"])

        controller = RelayController(
            bank,
            self._store(),
            mirror,
            self.clock,
            battery=self._battery,
            exchanges=exchanges,
            actions=ActionQueue(self.config.actions_path, self.wall),
            zone=self.zone,
        )
        self.observed["relays"] = bank

        def close() -> None:
            controller.close()
            journal.close()

        return _Stepper(controller.step, close)

    def _build_dapp(self):
        from dapp import create_app
        from dapp.server import DappServer
        from dapp.services import NodeServices

        services = NodeServices(self.config, self.account.address, self.clock, self.wall, live=self.live,
                                signer=self.account, running_status=self.status)
        d = self.config.dapp
        tls = (str(d.tls_cert), str(d.tls_key)) if d.tls_cert else None
        server = DappServer(create_app(services=services), d.host, d.port, tls)
        self.observed["dapp"] = server

        def stop_with_node() -> None:
            while not self.supervisor.wait(0.5):
                pass
            server.stop()

        def serve() -> None:
            threading.Thread(target=stop_with_node, daemon=True).start()
            server.serve()

        def close() -> None:
            server.stop()
            server.close()
            services.close()

        return _Stepper(serve, close)

    def _pin_factory(self):
        if self.pin_factory is not None:
            return self.pin_factory
        if self.config.pins == "mock":
            from gpiozero.pins.mock import MockFactory

            self.pin_factory = MockFactory()
            return self.pin_factory
        return None  # gpiozero picks the Pi's own

    def _build_anvil_watch(self):
        def check() -> None:
            if self.anvil is not None and not self.anvil.running and not self.supervisor.stopping:
                log.warning("the embedded chain stopped; starting it again")
                self.anvil.start()

        return _Stepper(check, lambda: None)

    def _build_geth_watch(self):
        """Starts geth if it is down; a geth that dies makes the part fail, so it restarts with backoff."""
        if not self.geth.running and not self.supervisor.stopping:
            self.geth.start()

        def check() -> None:
            if not self.geth.running and not self.supervisor.stopping:
                raise ChainError(f"geth exited with code {self.geth.exit_code}; see {self.geth.log_file}")

        return _Stepper(check, lambda: None)

    def _build_validator_votes(self):
        from node.chain import deployment
        from node.chain.client import connect
        from node.chain.community import CommunityView
        from node.chain.contracts import CommunityContracts, load_abis
        from node.chain.membership import MembershipVoter
        from node.chain.validators import CLIQUE, MethodUnavailable, detect_engine, web3_rpc_call

        call = web3_rpc_call(self.config.chain.rpc)
        try:
            engine = detect_engine(call)
        except MethodUnavailable:
            engine = None
        if engine is not CLIQUE:  # anvil seals alone; QBFT's validators are Besu's node keys
            return _Stepper(lambda: None, lambda: None)
        record = deployment.read(self.config.chain.deployment)
        contracts = CommunityContracts(connect(self.config.chain.rpc), record, load_abis(self.config.chain.manifest))
        voter = MembershipVoter(call, CommunityView(contracts["Community"]), self.account.address)
        self.observed["validators"] = voter
        return _Stepper(voter.step, lambda: None)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict:
        from node.submit.outbox import Outbox

        outbox = Outbox(self.config.outbox_path)
        try:
            depth = outbox.depth()
        finally:
            outbox.close()
        depths = {}
        for p in self.config.participations:
            outbox = Outbox(self.config.participation_outbox_path(p.name))
            try:
                depths[p.name] = outbox.depth()
            finally:
                outbox.close()
        meter = self.observed.get("meter")
        bank = self.observed.get("relays")
        return {
            "node": self.config.name,
            "account": self.account.address,
            "written_at": self.wall(),
            "node_time": self.clock(),
            "parts": {part.name: asdict(part.status) for part in self.parts},
            "outbox_depth": depth,
            "participation_outbox_depth": depths,
            "meter": {
                "readings": meter.readings,
                "rejections": dict(meter.decoder.rejections),
                "events": dict(getattr(meter, "events", {})),
            } if meter else None,
            "relays": [asdict(relay) for relay in bank.status()] if bank else [],
        }

    def write_status(self) -> None:
        """status.json for `gridcommons node status` (written atomically, no secrets in it)."""
        path = self.config.status_path
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(self.status(), handle, indent=2, default=str)
        os.replace(handle.name, path)


def _import_part_modules(with_dapp: bool) -> None:
    """Import what the parts import, before their threads start: parts importing web3 at the same
    moment deadlocked Python's import locks, and each crashed once with a half-initialised module."""
    import node.mirror.mirror  # noqa: F401
    import node.submit.submitter  # noqa: F401
    import node.actions.runner  # noqa: F401

    if with_dapp:
        import dapp.server  # noqa: F401


class _IntervalChanged(NodeError):
    """The community's interval differs from the one the meter store was opened with."""

    def __init__(self, was: int, now: int):
        super().__init__(f"the community's interval is {now} s, the store recorded {was} s intervals; reopening it")


class _Stepper:
    def __init__(self, step: Callable[[], object], close: Callable[[], None]):
        self.step = step
        self.close = close


class _SerialMeter:
    """The serial meter reader as a part: `step()` reads until the node stops."""

    def __init__(self, runtime: NodeRuntime, store):
        from node.meter.counter_store import FrameCounterStore
        from node.meter.decoder import MeterDecoder
        from node.meter.transport import SerialMeterReader, port_settings, serial_port_factory

        meter = runtime.config.meter
        self.store = store
        self.decoder = MeterDecoder(keys=_meter_keys(meter.key_file, meter.auth_key_file))
        self.readings = 0
        self.events: Counter[str] = Counter()  # connected, disconnected, silent, rejected, ...
        settings = port_settings(meter.standard, meter.baudrate, meter.bytesize, meter.parity, meter.stopbits)
        self.reader = SerialMeterReader(
            serial_port_factory(meter.device, settings),
            self.decoder,
            self._on_reading,
            self._on_event,
            # DLMS replay protection across restarts: the accepted frame counters, in the data directory.
            counter_store=FrameCounterStore(runtime.config.data_dir / "meter-frame-counters.json"),
        )
        self._runtime = runtime
        runtime.observed["meter"] = self

    def _on_event(self, event) -> None:
        self.events[event.kind] += 1
        log.info("meter: %s: %s", event.kind, event.detail)

    def _on_reading(self, reading) -> None:
        if self.store.add(reading):
            self.readings += 1
            self._runtime.publish_sample(self.store.latest())
        if self._runtime.supervisor.stopping or self._runtime.interval_changed(self.store):
            self.reader.stop()

    def step(self) -> None:
        stopper = threading.Thread(target=self._stop_with_node, daemon=True)
        stopper.start()
        self.reader.run()
        if self._runtime.interval_changed(self.store):
            raise _IntervalChanged(self.store.settings.interval, self._runtime.interval.seconds())

    def _stop_with_node(self) -> None:
        while not self._runtime.supervisor.wait(0.5):
            pass
        self.reader.stop()

    def close(self) -> None:
        self.reader.stop()
        self.store.close()


def _meter_keys(key_file: Path | None, auth_key_file: Path | None = None):
    """The meter's keys from their 0600 files, else GRIDCOMMONS_METER_KEY / _AUTH_KEY; never echoed."""
    from node.config import ConfigError
    from node.meter.errors import MeterSetupError
    from node.meter.key_source import load_meter_keys

    try:
        return load_meter_keys(key_file, auth_key_file)
    except MeterSetupError as error:
        raise ConfigError(f"meter.{error.setting}", str(error)) from None
