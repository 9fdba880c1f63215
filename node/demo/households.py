"""The demo community's five households, as data: who produces, who consumes, and their equipment."""

from __future__ import annotations

from dataclasses import dataclass

# Producers offer their certified surplus at 0.05 credit per kWh (half the community's local price).
_CERTIFY_SURPLUS = """
[certificates]
auto_mint = true
min_wh = 500
list_price_per_kwh = 50000000000000000
"""

# De Vries trades by itself: once a day it offers up to 0.9 kWh of its forecast surplus, spread over
# the three hours of the rest of the day with the most of it, at 0.08 credit per kWh (below the
# community's local price, so the consumers' rule takes it). "today" rather than the default
# "tomorrow": the demo's first offers are due within its first simulated hour. Its peer-supply relay
# connects the supply while a deal of its runs.
_OFFER_SURPLUS = """
[exchange]
auto_offer = true
offer_day = "today"
offer_hours = 3
offer_max_wh = 900
offer_price_per_kwh = 80000000000000000

[relays.peer-supply]
pin = 22
rule = "exchange"
role = "producer"
min_on_s = 0
min_off_s = 0
"""

# The consumers accept offers up to the local price (0.1 credit per kWh) for the hours their
# forecast says they import, at most 0.6 kWh still to be delivered at a time; the peer-in relay
# switches to the neighbour's supply while a deal runs.
_COVER_SHORTAGE = """
[exchange]
auto_accept = true
cover_shortage = true
max_wh = 600
max_price_per_kwh = 100000000000000000

[relays.peer-in]
pin = 22
rule = "exchange"
role = "consumer"
min_on_s = 0
min_off_s = 0
"""

# The battery starts nearly empty, so the rule puts the house on the community source at once and back
# on its own battery once the panels have charged it.
_BATTERY_AND_FLEXIBLE_LOAD = """
[battery]
source = "simulator"
capacity_wh = 1500
soc_pct = 15

[relays.community-supply]
pin = 17
rule = "battery"
low_pct = 20
high_pct = 60
min_on_s = 0
min_off_s = 0

[relays.flexible-load]
pin = 27
rule = "surplus"
on_above_w = 1500
off_below_w = 500
load_w = 800
"""


@dataclass(frozen=True)
class DemoHousehold:
    """One household: its node's name, dev-chain account, simulated meter and community roles."""

    name: str
    account_index: int  # anvil's dev account; 0 is the community's admin
    profile: str  # the meter simulator's household profile
    producer: bool
    consumer: bool
    description: str
    extra_config: str = ""

    @property
    def seed(self) -> int:
        return self.account_index


HOUSEHOLDS: tuple[DemoHousehold, ...] = (
    DemoHousehold("de-vries", 1, "producer", True, False, "producer, 12 kWp of PV, offers its forecast surplus",
                  _CERTIFY_SURPLUS + _OFFER_SURPLUS),
    DemoHousehold("jansen", 2, "producer", True, False, "producer, 12 kWp of PV", _CERTIFY_SURPLUS),
    DemoHousehold("bakker", 3, "consumer", False, True, "consumer, buys for its forecast shortage", _COVER_SHORTAGE),
    DemoHousehold("visser", 4, "consumer", False, True, "consumer, buys for its forecast shortage", _COVER_SHORTAGE),
    DemoHousehold("smit", 5, "prosumer", True, True, "prosumer, 5 kWp of PV, a battery and a flexible load",
                  _BATTERY_AND_FLEXIBLE_LOAD),
)
