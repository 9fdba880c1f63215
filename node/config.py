"""The node's configuration: one TOML file, checked completely at start.

An error names the key and says what is wrong, e.g. `chain.poll_seconds: must be a number > 0,
got "fast"`. Secrets are never in this file: the keystore passphrase comes from a 0600 file or the
environment, the meter keys from 0600 files or the environment.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.errors import NodeError

SECRET_KEYS = {"passphrase", "password", "private_key", "meter_key", "key"}
METER_SOURCES = ("serial", "simulator")
METER_STANDARDS = ("dsmr5", "dsmr4", "dsmr3", "dsmr22", "mbus")
SIMULATED_PROFILES = ("consumer", "prosumer", "producer")
METER_PARITIES = ("N", "E", "O", "M", "S")
METER_BYTESIZES = (5, 6, 7, 8)
METER_STOPBITS = (1, 1.5, 2)
# Meter keys by the names they might be given in [meter]: refused there as secrets.
_METER_KEY_NAMES = ("auth_key", "authentication_key", "encryption_key")
PIN_FACTORIES = ("gpio", "mock")
# The chain client the node starts and supervises: none (it connects to rpc), anvil or a geth validator.
CHAIN_CLIENTS = ("external", "anvil", "geth")


class ConfigError(NodeError):
    """The node's configuration file is missing, unreadable or wrong; names the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key


@dataclass(frozen=True)
class ChainConfig:
    rpc: str = "http://127.0.0.1:8545"
    client: str = "external"  # one of CHAIN_CLIENTS
    state_file: Path | None = None  # anvil: the chain's state across restarts
    block_time: float | None = None  # anvil
    genesis: Path | None = None  # geth: the community's genesis.json
    chain_dir: Path | None = None  # geth: its data directory (default: data_dir/chain)
    p2p_host: str = ""  # geth: the address peers reach (blank: every interface)
    p2p_port: int = 30303  # geth
    peers: tuple[str, ...] = ()  # geth: the other validators' enode URLs
    follow_membership: bool = True  # vote the community's active members in as validators, removed ones out
    deployment: Path = Path("deployments/ethereum-local.json")
    manifest: Path = Path(".build/__local__.json")
    keystore: Path = Path("node-key.json")
    passphrase_file: Path | None = None  # else GRIDCOMMONS_NODE_PASSPHRASE
    poll_seconds: float = 2.0
    settle_patience: float = 300.0
    reorg_window: int = 32
    participation_ppm: int = 1_000_000  # node.toml's participation_percent, in parts per million

    @property
    def embedded(self) -> bool:
        """The node runs its own chain on this machine (anvil), without peers."""
        return self.client == "anvil"


@dataclass(frozen=True)
class ParticipationConfig:
    """A further community the household takes part in (a [[participation]] table): its own chain,
    reached at one of its members' nodes (the household runs no second validator), its own
    deployment and the account that is a member there. It gets `participation_ppm` of every
    interval's import and export (node.participation)."""

    name: str  # a short slug: the parts outbox:<name> and submit:<name>, the file outbox-<name>.sqlite
    rpc: str
    deployment: Path
    manifest: Path  # default: [chain].manifest (the same project's contracts)
    keystore: Path  # default: [chain].keystore
    passphrase_file: Path | None  # default: [chain].passphrase_file; None: GRIDCOMMONS_NODE_PASSPHRASE
    participation_ppm: int


@dataclass(frozen=True)
class MeterConfig:
    source: str = "simulator"
    device: str | None = None
    standard: str = "dsmr5"
    key_file: Path | None = None  # DLMS AES key, 32 hex digits, mode 0600; else GRIDCOMMONS_METER_KEY
    auth_key_file: Path | None = None  # DLMS authentication key (SC 0x30), same form; else GRIDCOMMONS_METER_AUTH_KEY
    # Serial settings for a meter that deviates from its standard's (None: the standard's own).
    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None  # one of METER_PARITIES
    stopbits: float | None = None  # one of METER_STOPBITS
    profile: str = "consumer"  # simulator only
    seed: int = 1  # simulator only
    every_seconds: float = 10.0  # simulator only: seconds of (simulated) time between telegrams


@dataclass(frozen=True)
class ClockConfig:
    """Accelerated simulated time, for demos and tests; a factor of 1 is the real clock."""

    time_factor: float = 1.0
    start: float | None = None  # simulated unix time at `wall_start`
    wall_start: float | None = None


# Which day a producer's offers are for: tomorrow's forecast, or what is left of today (demos).
OFFER_DAYS = ("tomorrow", "today")


@dataclass(frozen=True)
class ExchangeConfig:
    """The household's trading rules: accept neighbours' offers, and offer its own forecast surplus.

    node.toml's [exchange] gives them; rules saved on the DApp's Trading page replace them
    (node.exchange.rules_store). Every rule is off until switched on.
    """

    auto_accept: bool = False  # accept offers by the two rules below
    battery_below_pct: float = 20.0  # rule 1: the cheapest offer while the battery is below this
    cover_shortage: bool = False  # rule 2: offers for the hours the forecast says the house imports
    max_wh: int = 2000  # bought and not yet delivered, over all running deals together
    max_price_per_kwh: int = 2 * 10**17  # token units (0.2 credit)
    auto_offer: bool = False  # producers: offer the forecast surplus of the best hours, once a day
    offer_day: str = "tomorrow"  # one of OFFER_DAYS
    offer_hours: int = 3  # how many of that day's hours, those with the most expected surplus
    offer_max_wh: int = 2000  # offered per day at most, and never more than the forecast surplus
    offer_price_per_kwh: int = 10**17  # token units (0.1 credit)


def exchange_rules(table: Mapping[str, Any], defaults: ExchangeConfig = ExchangeConfig(),
                   prefix: str = "exchange") -> ExchangeConfig:
    """Check trading rules given as a table; a key left out keeps its value in `defaults`."""
    _only(table, prefix, set(ExchangeConfig.__dataclass_fields__))
    r = _Reader(Path("."))
    below = r.number(table, f"{prefix}.battery_below_pct", defaults.battery_below_pct, minimum=0.0)
    if below > 100:
        raise ConfigError(f"{prefix}.battery_below_pct", f"must be a percentage (0-100), got {below}")
    hours = int(r.number(table, f"{prefix}.offer_hours", defaults.offer_hours, minimum=1, integer=True))
    if hours > 24:
        raise ConfigError(f"{prefix}.offer_hours", f"must be a whole number of hours from 1 to 24, got {hours}")

    def whole(key: str, minimum: int) -> int:
        return int(r.number(table, f"{prefix}.{key}", getattr(defaults, key), minimum=minimum, integer=True))

    return ExchangeConfig(
        auto_accept=r.flag(table, f"{prefix}.auto_accept", defaults.auto_accept),
        battery_below_pct=float(below),
        cover_shortage=r.flag(table, f"{prefix}.cover_shortage", defaults.cover_shortage),
        max_wh=whole("max_wh", 1),
        max_price_per_kwh=whole("max_price_per_kwh", 0),
        auto_offer=r.flag(table, f"{prefix}.auto_offer", defaults.auto_offer),
        offer_day=r.choice(table, f"{prefix}.offer_day", OFFER_DAYS, defaults.offer_day),
        offer_hours=hours,
        offer_max_wh=whole("offer_max_wh", 1),
        offer_price_per_kwh=whole("offer_price_per_kwh", 0),
    )


@dataclass(frozen=True)
class CertificatesConfig:
    """Certify the producer's settled surplus by itself and offer the certificates to neighbours."""

    auto_mint: bool = False
    min_wh: int = 2000  # mint once this much surplus has built up, so certificates are not dust
    list_price_per_kwh: int = 0  # token units; 0 keeps new certificates unlisted


@dataclass(frozen=True)
class DappConfig:
    """The household's web app (served by the node) and the peers whose data it may fetch."""

    enabled: bool = True
    host: str = "127.0.0.1"  # only this machine; "0.0.0.0" for the LAN (then set tls_cert/tls_key)
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Other members' nodes, for the consent-gated data API: account address -> base URL.
    peers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Plain HTTP beyond loopback (password and cookie readable on the LAN): only when set explicitly.
    allow_plain_http: bool = False
    # Host names the DApp answers to besides its host, localhost, loopback and the node's name.
    allowed_hosts: tuple[str, ...] = ()

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def plain_http(self) -> bool:
        """Served without TLS beyond this machine (allowed only with allow_plain_http)."""
        return self.tls_cert is None and not self.loopback

    @property
    def secure_cookies(self) -> bool:
        """Browsers keep Secure cookies over HTTPS and on loopback; plain HTTP on a LAN cannot."""
        return self.tls_cert is not None or self.loopback


def is_loopback(host: str) -> bool:
    """localhost or a loopback address (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class NodeConfig:
    name: str
    data_dir: Path
    timezone: str = "Europe/Amsterdam"
    chain: ChainConfig = ChainConfig()
    meter: MeterConfig = MeterConfig()
    clock: ClockConfig = ClockConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    certificates: CertificatesConfig = CertificatesConfig()
    relays: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # RelaySettings by name
    battery: Mapping[str, Any] | None = None  # the [battery] table: a state-of-charge sensor or simulator
    pins: str = "gpio"  # "mock": gpiozero's MockFactory, for demos on machines without GPIO
    dapp: DappConfig = DappConfig()
    participations: tuple[ParticipationConfig, ...] = ()  # the further communities, [[participation]]

    @property
    def store_path(self) -> Path:
        return self.data_dir / "meter.sqlite"

    @property
    def chain_dir(self) -> Path:
        """The supervised geth's data directory."""
        return self.chain.chain_dir or self.data_dir / "chain"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite"

    def participation_outbox_path(self, name: str) -> Path:
        """The outbox of the further community `name` ([[participation]])."""
        return self.data_dir / f"outbox-{name}.sqlite"

    @property
    def mirror_path(self) -> Path:
        return self.data_dir / "mirror.sqlite"

    @property
    def relay_journal_path(self) -> Path:
        return self.data_dir / "relays.sqlite"

    @property
    def status_path(self) -> Path:
        return self.data_dir / "status.json"

    @property
    def actions_path(self) -> Path:
        return self.data_dir / "actions.sqlite"

    @property
    def dapp_path(self) -> Path:
        """The DApp's own file: operator password hash, access log, seen request nonces."""
        return self.data_dir / "dapp.sqlite"


def load(path: str | Path) -> NodeConfig:
    """Read and check a config file; relative paths are taken from the file's folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("", f"no config file at {path}: create one with `gridcommons init`") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"{path} is not valid TOML: {error}") from None
    return parse(data, base=path.resolve().parent)


def parse(data: Mapping[str, Any], base: Path) -> NodeConfig:
    """Check a parsed config; every problem raises ConfigError naming its key."""
    _no_secrets(data, "")
    _only(data, "", {"node", "chain", "meter", "clock", "exchange", "certificates", "relays", "battery", "dapp",
                    "participation"})
    node = _table(data, "node")
    _only(node, "node", {"name", "data_dir", "timezone", "pins"})
    reader = _Reader(base)
    name = reader.text(node, "node.name")
    data_dir = reader.path(node, "node.data_dir")
    timezone = reader.text(node, "node.timezone", "Europe/Amsterdam")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("node.timezone", f"unknown time zone {timezone!r}, e.g. Europe/Amsterdam") from None
    chain = _chain(_table(data, "chain"), reader)
    return NodeConfig(
        name=name,
        data_dir=data_dir,
        timezone=timezone,
        chain=chain,
        meter=_meter(_table(data, "meter", required=False), reader),
        clock=_clock(_table(data, "clock", required=False), reader),
        exchange=_exchange(_table(data, "exchange", required=False), reader),
        certificates=_certificates(_table(data, "certificates", required=False), reader),
        relays=_relays(_table(data, "relays", required=False)),
        battery=_battery(_table(data, "battery", required=False)),
        pins=reader.choice(node, "node.pins", PIN_FACTORIES, "gpio"),
        dapp=_dapp(_table(data, "dapp", required=False), reader),
        participations=_participations(data.get("participation"), chain, reader),
    )


def _chain(table: Mapping[str, Any], r: "_Reader") -> ChainConfig:
    _only(table, "chain", set(ChainConfig.__dataclass_fields__) - {"participation_ppm"}
          | {"embedded", "participation_percent"})
    rpc = r.text(table, "chain.rpc", ChainConfig.rpc)
    if not rpc.startswith(("http://", "https://")):
        raise ConfigError("chain.rpc", f"must be an http:// or https:// URL, got {rpc!r}")
    block_time = r.number(table, "chain.block_time", None, minimum=0.0)
    # `embedded = true` is the older spelling of `client = "anvil"`.
    embedded = r.flag(table, "chain.embedded", False)
    client = r.choice(table, "chain.client", CHAIN_CLIENTS, "anvil" if embedded else "external")
    if embedded and client != "anvil":
        raise ConfigError("chain.embedded", f'embedded = true starts anvil; remove it to run client = "{client}"')
    geth = _geth(table, r, rpc) if client == "geth" else {}
    return ChainConfig(
        rpc=rpc,
        client=client,
        **geth,
        follow_membership=r.flag(table, "chain.follow_membership", True),
        state_file=r.path(table, "chain.state_file", None),
        block_time=block_time,
        deployment=r.path(table, "chain.deployment"),
        manifest=r.path(table, "chain.manifest"),
        keystore=r.path(table, "chain.keystore"),
        passphrase_file=r.path(table, "chain.passphrase_file", None),
        poll_seconds=r.number(table, "chain.poll_seconds", ChainConfig.poll_seconds, minimum=0.05),
        settle_patience=r.number(table, "chain.settle_patience", ChainConfig.settle_patience, minimum=0.0),
        reorg_window=int(r.number(table, "chain.reorg_window", ChainConfig.reorg_window, minimum=1, integer=True)),
        participation_ppm=_participation_ppm(table, "chain.participation_percent"),
    )


_PARTICIPATION_KEYS = {"name", "rpc", "deployment", "manifest", "keystore", "passphrase_file", "participation_percent"}
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def _participations(tables: Any, chain: ChainConfig, r: "_Reader") -> tuple[ParticipationConfig, ...]:
    """The [[participation]] tables: further communities, each on its own chain. Errors name a table
    by its place: participation[1] is the first."""
    from node.participation import MAX_COMMUNITIES, PPM, percent

    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError("participation",
                          "must be [[participation]] tables (an array of tables), one per further community")
    if len(tables) > MAX_COMMUNITIES - 1:
        raise ConfigError(f"participation[{MAX_COMMUNITIES}]",
                          f"a metering point takes part in {MAX_COMMUNITIES} communities at most: [chain] and "
                          f"{MAX_COMMUNITIES - 1} [[participation]] tables, got {len(tables)}")
    found: list[ParticipationConfig] = []
    for place, table in enumerate(tables, start=1):
        prefix = f"participation[{place}]"
        _no_secrets(table, prefix)
        _only(table, prefix, _PARTICIPATION_KEYS)
        name = r.text(table, f"{prefix}.name")
        if not _SLUG.fullmatch(name):
            raise ConfigError(f"{prefix}.name", "must be a short slug: 1-32 lower-case letters, digits and inner dashes, "
                              f"e.g. \"eeg-sonnenfeld\", got {name!r}")
        rpc = r.text(table, f"{prefix}.rpc")
        if not rpc.startswith(("http://", "https://")):
            raise ConfigError(f"{prefix}.rpc", f"must be an http:// or https:// URL, got {rpc!r}")
        deployment = r.path(table, f"{prefix}.deployment")
        for other in found:
            if other.name == name:
                raise ConfigError(f"{prefix}.name", f"{name!r} is taken by another [[participation]]: names are unique")
            if other.rpc == rpc:
                raise ConfigError(f"{prefix}.rpc", f"{rpc} is {other.name}'s too: each community has its own chain")
            if other.deployment == deployment:
                raise ConfigError(f"{prefix}.deployment", f"{deployment} is {other.name}'s too: a community takes part once")
        if rpc == chain.rpc:
            raise ConfigError(f"{prefix}.rpc", f"{rpc} is [chain].rpc: each community has its own chain")
        if deployment == chain.deployment:
            raise ConfigError(f"{prefix}.deployment", f"{deployment} is [chain].deployment: a community takes part once")
        found.append(ParticipationConfig(
            name=name,
            rpc=rpc,
            deployment=deployment,
            manifest=r.path(table, f"{prefix}.manifest", chain.manifest),
            keystore=r.path(table, f"{prefix}.keystore", chain.keystore),
            passphrase_file=r.path(table, f"{prefix}.passphrase_file", chain.passphrase_file),
            participation_ppm=_participation_ppm(table, f"{prefix}.participation_percent", required=True),
        ))
    total = chain.participation_ppm + sum(p.participation_ppm for p in found)
    if total > PPM:
        shares = ", ".join([f"[chain] {percent(chain.participation_ppm)} %",
                            *(f"{p.name} {percent(p.participation_ppm)} %" for p in found)])
        raise ConfigError(f"participation[{len(found)}].participation_percent",
                          f"the participation factors add up to {percent(total)} % ({shares}), more than 100 %")
    return tuple(found)


def _participation_ppm(table: Mapping[str, Any], key: str, required: bool = False) -> int:
    """A participation percentage (above 0, at most 100, at most 4 decimal places) in parts per million."""
    from decimal import Decimal

    from node.participation import PPM

    value = table.get(key.rsplit(".", 1)[-1])
    if value is None:
        if required:
            raise ConfigError(key, "is required: this community's share of the meter in percent, e.g. 40 or 33.3333")
        return PPM
    problem = (f"must be a percentage above 0 and at most 100, with at most 4 decimal places "
               f"(e.g. 40 or 33.3333), got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, problem)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number.as_tuple().exponent < -4 or not 0 < number <= 100:
        raise ConfigError(key, problem)
    return int(number * (PPM // 100))


def _geth(table: Mapping[str, Any], r: "_Reader", rpc: str) -> dict:
    """The settings of a supervised geth validator, checked as far as possible without starting it."""
    from urllib.parse import urlparse

    from node.chain.network_files import parse_enode
    from node.errors import ChainError

    url = urlparse(rpc)
    if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost"):
        raise ConfigError("chain.rpc", f"a node's own geth answers on http://127.0.0.1:<port> only, got {rpc!r}")
    port = int(r.number(table, "chain.p2p_port", ChainConfig.p2p_port, minimum=1, integer=True))
    if port > 65535 or port == (url.port or 80):
        raise ConfigError("chain.p2p_port", f"must be a free TCP port (1-65535) other than the rpc port, got {port}")
    peers = table.get("peers", [])
    if not isinstance(peers, list) or not all(isinstance(p, str) for p in peers):
        raise ConfigError("chain.peers", 'must be a list of enode URLs, e.g. ["enode://<128 hex digits>@192.168.1.11:30303"]')
    for enode in peers:
        try:
            parse_enode(enode)
        except ChainError as error:
            raise ConfigError("chain.peers", str(error)) from None
    p2p_host = table.get("p2p_host", "")
    if not isinstance(p2p_host, str):
        raise ConfigError("chain.p2p_host", f"must be an address string (blank: every interface), got {p2p_host!r}")
    return {
        "genesis": r.path(table, "chain.genesis"),
        "chain_dir": r.path(table, "chain.chain_dir", None),
        "p2p_host": p2p_host,
        "p2p_port": port,
        "peers": tuple(peers),
    }


def _meter(table: Mapping[str, Any], r: "_Reader") -> MeterConfig:
    for name in _METER_KEY_NAMES:
        if name in table:
            raise ConfigError(f"meter.{name}", "secrets do not belong in the config file: use a 0600 file "
                              "(key_file, auth_key_file) or the environment")
    _only(table, "meter", set(MeterConfig.__dataclass_fields__))
    source = r.choice(table, "meter.source", METER_SOURCES, MeterConfig.source)
    device = r.text(table, "meter.device", None)
    if source == "serial" and device is None:
        raise ConfigError("meter.device", "a serial meter needs its device, e.g. /dev/ttyUSB0")
    baudrate = r.number(table, "meter.baudrate", None, minimum=50, integer=True)
    bytesize = r.number(table, "meter.bytesize", None, integer=True)
    if bytesize is not None and bytesize not in METER_BYTESIZES:
        raise ConfigError("meter.bytesize", f"must be one of 5, 6, 7, 8 data bits, got {bytesize!r}")
    parity = table.get("parity")
    if parity is not None and (not isinstance(parity, str) or parity.upper() not in METER_PARITIES):
        raise ConfigError("meter.parity", f"must be one of {', '.join(METER_PARITIES)} (none, even, odd, mark, space), "
                          f"got {parity!r}")
    stopbits = r.number(table, "meter.stopbits", None)
    if stopbits is not None and stopbits not in METER_STOPBITS:
        raise ConfigError("meter.stopbits", f"must be 1, 1.5 or 2, got {stopbits!r}")
    return MeterConfig(
        source=source,
        device=device,
        standard=r.choice(table, "meter.standard", METER_STANDARDS, MeterConfig.standard),
        key_file=r.path(table, "meter.key_file", None),
        auth_key_file=r.path(table, "meter.auth_key_file", None),
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity.upper() if parity is not None else None,
        stopbits=stopbits,
        profile=r.choice(table, "meter.profile", SIMULATED_PROFILES, MeterConfig.profile),
        seed=int(r.number(table, "meter.seed", MeterConfig.seed, minimum=0, integer=True)),
        every_seconds=r.number(table, "meter.every_seconds", MeterConfig.every_seconds, minimum=1.0),
    )


def _clock(table: Mapping[str, Any], r: "_Reader") -> ClockConfig:
    _only(table, "clock", set(ClockConfig.__dataclass_fields__))
    factor = r.number(table, "clock.time_factor", 1.0, minimum=1.0)
    start = r.number(table, "clock.start", None, minimum=0.0)
    wall_start = r.number(table, "clock.wall_start", None, minimum=0.0)
    if factor != 1.0 and (start is None or wall_start is None):
        raise ConfigError("clock.start", "an accelerated clock needs both clock.start and clock.wall_start")
    return ClockConfig(factor, start, wall_start)


def _exchange(table: Mapping[str, Any], r: "_Reader") -> ExchangeConfig:
    return exchange_rules(table)


def _certificates(table: Mapping[str, Any], r: "_Reader") -> CertificatesConfig:
    _only(table, "certificates", set(CertificatesConfig.__dataclass_fields__))
    return CertificatesConfig(
        auto_mint=r.flag(table, "certificates.auto_mint", False),
        min_wh=int(r.number(table, "certificates.min_wh", CertificatesConfig.min_wh, minimum=1, integer=True)),
        list_price_per_kwh=int(
            r.number(table, "certificates.list_price_per_kwh", CertificatesConfig.list_price_per_kwh, minimum=0, integer=True)
        ),
    )


def _dapp(table: Mapping[str, Any], r: "_Reader") -> DappConfig:
    _only(table, "dapp", set(DappConfig.__dataclass_fields__))
    port = int(r.number(table, "dapp.port", DappConfig.port, minimum=1, integer=True))
    if port > 65535:
        raise ConfigError("dapp.port", f"must be a TCP port (1-65535), got {port}")
    cert, key = r.path(table, "dapp.tls_cert", None), r.path(table, "dapp.tls_key", None)
    if (cert is None) != (key is None):
        raise ConfigError("dapp.tls_cert", "set both dapp.tls_cert and dapp.tls_key, or neither")
    peers = table.get("peers", {})
    if not isinstance(peers, Mapping):
        raise ConfigError("dapp.peers", 'must be a table of address = "http://host:port"')
    checked = {}
    for address, url in peers.items():
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
            raise ConfigError(f"dapp.peers.{address}", "must be a member's account address (0x and 40 hex digits)")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"dapp.peers.{address}", f"must be an http:// or https:// URL, got {url!r}")
        checked[address.lower()] = url.rstrip("/")
    enabled = r.flag(table, "dapp.enabled", True)
    host = r.text(table, "dapp.host", DappConfig.host)
    allow_plain_http = r.flag(table, "dapp.allow_plain_http", False)
    if enabled and cert is None and not is_loopback(host) and not allow_plain_http:
        raise ConfigError("dapp.host", f"{host!r} serves the DApp beyond this machine over plain HTTP, where the "
                          "password and session cookie can be read on the network: set dapp.tls_cert and "
                          "dapp.tls_key (HTTPS), or, on a trusted LAN only, allow_plain_http = true in [dapp]")
    allowed = table.get("allowed_hosts", [])
    if not isinstance(allowed, list) or not all(isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", name)
                                                for name in allowed):
        raise ConfigError("dapp.allowed_hosts", f'must be a list of host names or addresses, e.g. ["de-vries.local", '
                          f'"192.168.1.20"], got {allowed!r}')
    return DappConfig(
        enabled=enabled,
        host=host,
        port=port,
        tls_cert=cert,
        tls_key=key,
        peers=MappingProxyType(checked),
        allow_plain_http=allow_plain_http,
        allowed_hosts=tuple(name.lower() for name in allowed),
    )


def _relays(table: Mapping[str, Any]) -> Mapping[str, Any]:
    from node.relay.errors import RelayConfigError
    from node.relay.settings import relays_from_dict

    try:
        return MappingProxyType({relay.name: relay for relay in relays_from_dict(table)})
    except RelayConfigError as error:
        raise ConfigError(error.key, error.problem) from None


def _battery(table: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Checked now, built by the runtime (a simulated battery has state)."""
    if not table:
        return None
    from node.relay.errors import RelayConfigError
    from node.relay.settings import battery_sensor_from_dict

    try:
        battery_sensor_from_dict(table)
    except RelayConfigError as error:
        raise ConfigError(error.key, error.problem) from None
    return MappingProxyType(dict(table))


def _table(data: Mapping[str, Any], key: str, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(key, f"the [{key}] table is missing")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _only(table: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            name = f"{prefix}.{key}" if prefix else key
            raise ConfigError(name, f"unknown setting; known here: {', '.join(sorted(allowed))}")


def _no_secrets(table: Mapping[str, Any], prefix: str) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if key in SECRET_KEYS:
            raise ConfigError(name, "secrets do not belong in the config file: use a 0600 file or the environment")
        if isinstance(value, dict):
            _no_secrets(value, name)


class _Reader:
    """Typed getters that name the key in their errors."""

    _MISSING = object()

    def __init__(self, base: Path):
        self.base = base

    def _get(self, table, key, default):
        value = table.get(key.rsplit(".", 1)[-1], self._MISSING)
        if value is self._MISSING:
            if default is self._MISSING:
                raise ConfigError(key, "is required")
            return default
        return value

    def text(self, table, key, default=_MISSING):
        value = self._get(table, key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(key, f"must be a non-empty string, got {value!r}")
        return value

    def path(self, table, key, default=_MISSING):
        if default is not self._MISSING and default is not None:
            default = str(default)
        value = self.text(table, key, default)
        return None if value is None else (self.base / Path(value).expanduser())

    def flag(self, table, key, default):
        value = self._get(table, key, default)
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value

    def number(self, table, key, default, minimum=None, integer=False):
        value = self._get(table, key, default)
        if value is None:
            return None
        kind = "a whole number" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise ConfigError(key, f"must be {kind}, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(key, f"must be {kind} >= {minimum}, got {value!r}")
        return value

    def choice(self, table, key, choices, default):
        value = self._get(table, key, default)
        if value not in choices:
            raise ConfigError(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value
