"""Multi-participation (Austria): the [chain] factor and [[participation]] tables are checked at start,
and each community's share of an interval never exceeds what the meter measured, alone or together."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meterkit import SteadyMeter

from node import config as node_config
from node.config import ConfigError
from node.participation import PPM, Share, check_factors, percent, rest, share, split
from node.runtime.status import format_status
from node.store.store import MeterStore, StoreSettings
from node.submit.outbox import Outbox
from node.submit.submitter import IntervalQueue

BASE = Path("/etc/gridcommons")
CHAIN = {"rpc": "http://127.0.0.1:8545", "deployment": "d.json", "manifest": "m.json", "keystore": "k.json"}


def community(name: str, percent_, **more) -> dict:
    return {"name": name, "rpc": f"http://{name}.lan:8545", "deployment": f"{name}.json",
            "participation_percent": percent_, **more}


def config_of(chain: dict | None = None, participation=None):
    data = {"node": {"name": "home", "data_dir": "data"}, "chain": {**CHAIN, **(chain or {})}}
    if participation is not None:
        data["participation"] = participation
    return node_config.parse(data, BASE)


def error_of(chain: dict | None = None, participation=None) -> str:
    with pytest.raises(ConfigError) as raised:
        config_of(chain, participation)
    return str(raised.value)


# -- config -------------------------------------------------------------------------------


def test_a_node_without_participation_tables_gives_its_one_community_the_whole_meter():
    config = config_of()

    assert (config.chain.participation_ppm, config.participations) == (PPM, ())


def test_further_communities_get_their_factor_in_ppm_and_default_to_the_chains_manifest_keystore_and_passphrase():
    config = config_of({"participation_percent": 60, "passphrase_file": "pass"},
                       [community("oststrom", 33.3333, keystore="other-key.json"), community("sonnenfeld", 6.6667)])

    assert config.chain.participation_ppm == 600_000
    assert [(p.name, p.participation_ppm) for p in config.participations] == [("oststrom", 333_333), ("sonnenfeld", 66_667)]
    oststrom, sonnenfeld = config.participations
    assert (oststrom.rpc, oststrom.deployment, oststrom.keystore) == ("http://oststrom.lan:8545", BASE / "oststrom.json",
                                                                      BASE / "other-key.json")
    assert (sonnenfeld.manifest, sonnenfeld.keystore, sonnenfeld.passphrase_file) == (BASE / "m.json", BASE / "k.json",
                                                                                     BASE / "pass")
    assert config.participation_outbox_path("oststrom") == BASE / "data" / "outbox-oststrom.sqlite"


def test_the_participation_config_is_frozen_data():
    config = config_of({"participation_percent": 50}, [community("oststrom", 50)])

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.participations[0].participation_ppm = PPM  # type: ignore[misc]
    assert isinstance(config.participations, tuple)


def test_participation_tables_are_read_from_toml_array_tables(tmp_path):
    (tmp_path / "node.toml").write_text(
        '[node]\nname = "home"\ndata_dir = "data"\n'
        '[chain]\ndeployment = "d.json"\nmanifest = "m.json"\nkeystore = "k.json"\nparticipation_percent = 60\n'
        '[[participation]]\nname = "oststrom"\nrpc = "http://10.0.0.7:8545"\ndeployment = "oststrom.json"\n'
        'participation_percent = 40.0\n'
    )
    config = node_config.load(tmp_path / "node.toml")

    assert [(p.name, p.participation_ppm, p.deployment) for p in config.participations] == [
        ("oststrom", 400_000, tmp_path / "oststrom.json")
    ]


PERCENT_PROBLEM = "must be a percentage above 0 and at most 100, with at most 4 decimal places (e.g. 40 or 33.3333), got "


@pytest.mark.parametrize(
    "chain, participation, expected",
    [
        ({"participation_percent": 0}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "0"),
        ({"participation_percent": -5}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "-5"),
        ({"participation_percent": 100.5}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "100.5"),
        ({"participation_percent": "60"}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "'60'"),
        ({"participation_percent": True}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "True"),
        ({"participation_percent": 12.34567}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "12.34567"),
        ({"participation_percent": float("nan")}, None, "chain.participation_percent: " + PERCENT_PROBLEM + "nan"),
        ({"participation_percent": 60}, [community("oststrom", 0.00001)],
         "participation[1].participation_percent: " + PERCENT_PROBLEM + "1e-05"),
        ({"participation_percent": 60}, [{**community("oststrom", 1), "participation_percent": None}],
         "participation[1].participation_percent: is required: this community's share of the meter in percent, "
         "e.g. 40 or 33.3333"),
        ({"participation_percent": 60}, [community("oststrom", 30), community("sonnenfeld", 10.0001)],
         "participation[2].participation_percent: the participation factors add up to 100.0001 % "
         "([chain] 60 %, oststrom 30 %, sonnenfeld 10.0001 %), more than 100 %"),
        (None, [community("oststrom", 1)],
         "participation[1].participation_percent: the participation factors add up to 101 % "
         "([chain] 100 %, oststrom 1 %), more than 100 %"),
        ({"participation_percent": 20}, [community(f"eeg-{n}", 10) for n in range(5)],
         "participation[5]: a metering point takes part in 5 communities at most: [chain] and 4 [[participation]] "
         "tables, got 5"),
        ({"participation_percent": 50}, community("oststrom", 50),
         "participation: must be [[participation]] tables (an array of tables), one per further community"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "name": "Ost Strom"}],
         "participation[1].name: must be a short slug: 1-32 lower-case letters, digits and inner dashes, "
         "e.g. \"eeg-sonnenfeld\", got 'Ost Strom'"),
        ({"participation_percent": 50}, [{k: v for k, v in community("oststrom", 50).items() if k != "name"}],
         "participation[1].name: is required"),
        ({"participation_percent": 50}, [community("oststrom", 25), {**community("b", 25), "name": "oststrom"}],
         "participation[2].name: 'oststrom' is taken by another [[participation]]: names are unique"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "rpc": "localhost:8545"}],
         "participation[1].rpc: must be an http:// or https:// URL, got 'localhost:8545'"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "rpc": CHAIN["rpc"]}],
         "participation[1].rpc: http://127.0.0.1:8545 is [chain].rpc: each community has its own chain"),
        ({"participation_percent": 50}, [community("oststrom", 25), {**community("b", 25), "rpc": "http://oststrom.lan:8545"}],
         "participation[2].rpc: http://oststrom.lan:8545 is oststrom's too: each community has its own chain"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "deployment": "d.json"}],
         "participation[1].deployment: /etc/gridcommons/d.json is [chain].deployment: a community takes part once"),
        ({"participation_percent": 50}, [{k: v for k, v in community("oststrom", 50).items() if k != "deployment"}],
         "participation[1].deployment: is required"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "poll_seconds": 1}],
         "participation[1].poll_seconds: unknown setting; known here: deployment, keystore, manifest, name, "
         "participation_percent, passphrase_file, rpc"),
        ({"participation_percent": 50}, [{**community("oststrom", 50), "passphrase": "hunter2"}],
         "participation[1].passphrase: secrets do not belong in the config file: use a 0600 file or the environment"),
    ],
)
def test_a_wrong_participation_setting_is_refused_naming_its_key(chain, participation, expected):
    assert error_of(chain, participation) == expected


@given(st.integers(1, PPM))
def test_every_factor_node_toml_can_spell_reads_back_as_the_same_ppm(ppm):
    config = config_of({"participation_percent": float(percent(ppm))})

    assert config.chain.participation_ppm == ppm


# -- the split ----------------------------------------------------------------------------


@st.composite
def factor_sets(draw) -> list[int]:
    """One to five factors, each above 0, together at most 100 %."""
    n = draw(st.integers(1, 5))
    total = draw(st.integers(n, PPM))
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=n - 1, max_size=n - 1))) if n > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in zip(bounds, bounds[1:])]


WH = st.integers(0, 10**12)


@given(WH, WH, factor_sets())
def test_no_community_gets_more_than_the_meter_measured_and_the_shares_never_add_up_to_more(import_wh, export_wh, factors):
    shares = split(import_wh, export_wh, factors)

    assert all(s.import_wh <= import_wh and s.export_wh <= export_wh for s in shares)
    assert sum(s.import_wh for s in shares) <= import_wh
    assert sum(s.export_wh for s in shares) <= export_wh
    assert all(s.import_wh >= 0 and s.export_wh >= 0 for s in shares)


@given(WH, WH, factor_sets())
def test_each_share_is_the_factors_part_rounded_down_and_the_rest_stays_with_the_supplier(import_wh, export_wh, factors):
    shares = split(import_wh, export_wh, factors)
    left = rest(import_wh, export_wh, factors)

    for s, factor in zip(shares, factors):
        assert 0 <= import_wh * factor - s.import_wh * PPM < PPM  # less than 1 Wh lost to rounding
        assert 0 <= export_wh * factor - s.export_wh * PPM < PPM
    unassigned = PPM - sum(factors)
    # The rest: the unassigned factor's part, plus less than 1 Wh of rounding per community.
    assert import_wh * unassigned <= left.import_wh * PPM < import_wh * unassigned + len(factors) * PPM
    assert export_wh * unassigned <= left.export_wh * PPM < export_wh * unassigned + len(factors) * PPM


@given(WH, WH)
def test_a_whole_participation_passes_the_reading_through_unchanged(import_wh, export_wh):
    assert split(import_wh, export_wh, [PPM]) == (Share(import_wh, export_wh),)


def test_sixty_forty_of_an_odd_reading_leaves_nothing_for_rounding_when_the_factors_fill_100_percent():
    assert split(301, 7, [600_000, 400_000]) == (Share(180, 4), Share(120, 2))
    assert rest(301, 7, [600_000, 400_000]) == Share(1, 1)


def test_an_interval_without_data_stays_without_data():
    assert share(None, 400_000) is None


@pytest.mark.parametrize("factors", [[0], [PPM + 1], [600_000, 400_001], [100_000] * 6, [1.5]])
def test_factors_outside_the_rules_are_refused(factors):
    with pytest.raises(ValueError):
        check_factors(factors)


# -- queueing one meter for several communities ------------------------------------------


def test_two_queues_from_one_store_queue_each_communitys_share_of_every_interval(tmp_path):
    length = 900
    start = 1_800_000_000 // length * length
    now = [float(start)]
    store = MeterStore(tmp_path / "meter.sqlite", StoreSettings(interval=length, max_clock_skew=None), clock=lambda: now[0])
    queues = {}
    for name, factor in (("primary", 600_000), ("oststrom", 400_000)):
        outbox = Outbox(tmp_path / f"outbox-{name}.sqlite")
        outbox.start_at(start // length, length)
        queues[name] = IntervalQueue(store, outbox, lambda: now[0], participation_ppm=factor)
    whole = Outbox(tmp_path / "outbox-whole.sqlite")
    whole.start_at(start // length, length)
    queues["whole"] = IntervalQueue(store, whole, lambda: now[0])
    meter = SteadyMeter(store)
    meter.run(now[0])
    now[0] = start + 2 * length + 30
    meter.run(now[0], import_w=1204, export_w=36, step=5)

    assert [queue.step() for queue in queues.values()] == [2, 2, 2]
    interval = start // length
    measured = whole.entry(interval)
    got = {name: queue.outbox.entry(interval) for name, queue in queues.items()}
    assert (measured.import_wh, measured.export_wh) == (301, 9)
    assert [(e.import_wh, e.export_wh) for e in got.values()] == [(180, 5), (120, 3), (301, 9)]


def test_node_status_shows_each_further_communitys_outbox():
    report = {"node": "home", "running": True, "chain": {"reachable": False, "rpc": "http://127.0.0.1:8545", "error": "down"},
              "last_reading": None, "relays": [],
              "outbox": {"depth": 0, "on_chain": 7, "missed": 0, "waiting": None},
              "participation_outboxes": {"oststrom": {"depth": 3, "on_chain": 4, "missed": 0,
                                                      "waiting": {"interval": 12, "note": None}},
                                         "sonnenfeld": None}}

    assert format_status(report).splitlines()[3:] == [
        "  outbox       0 waiting, 7 on chain, 0 missed",
        "  outbox oststrom: 3 waiting, 4 on chain, 0 missed; waiting on interval 12: queued",
        "  outbox sonnenfeld: none yet",
    ]
