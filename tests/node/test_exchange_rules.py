"""The trading rules as decisions from data: a producer's offers from its forecast surplus (the best
hours, never more than the surplus, once a day), and the offers a household accepts for its
forecast shortage or a low battery (never its own, never beyond the shortage, within max_wh and
the wallet)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from node.config import ExchangeConfig
from node.exchange.deals import ACCEPTED, CANCELLED, COMPLETED, OPEN, Deal
from node.exchange.rules import (
    PlannedOffer,
    battery_candidates,
    local_day,
    offers_to_post,
    open_offers,
    posted_for_day,
    shortage_by_interval,
    shortage_choices,
    uncovered,
)
from node.forecast.surplus import SurplusHour

ZONE = ZoneInfo("Europe/Amsterdam")
L = 900  # the community's interval
H = 3600
ME, PRODUCER, OTHER = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
CREDIT = 10**18
MONDAY = datetime(2026, 6, 1, tzinfo=ZONE)  # local midnight
NOON = int(MONDAY.replace(hour=12).timestamp())
TUESDAY = (int(MONDAY.timestamp()) + 86400, int(MONDAY.timestamp()) + 2 * 86400)
RULES = ExchangeConfig(auto_offer=True, offer_hours=2, offer_max_wh=1000, offer_price_per_kwh=CREDIT // 10,
                       auto_accept=True, cover_shortage=True, max_wh=2000, max_price_per_kwh=CREDIT // 5)


def interval(ts: int) -> int:
    return ts // L


def hours(start: int, values: list[float]) -> list[SurplusHour]:
    return [SurplusHour(start + i * H, wh) for i, wh in enumerate(values)]


def offer(offer_id: int, wh: int, first_ts: int, hours_long: int = 1, price: int = CREDIT // 10,
          producer: str = PRODUCER, **changes) -> Deal:
    made = Deal(offer_id, producer, None, wh, price, interval(first_ts), interval(first_ts + hours_long * H) - 1,
                0, 0, OPEN)
    return replace(made, **changes)


def bought(deal: Deal, delivered: int = 0) -> Deal:
    return replace(deal, consumer=ME, state=ACCEPTED, delivered_wh=delivered)


# -- the producer rule --------------------------------------------------------------------


def test_offers_go_to_the_days_best_hours_in_time_order_sharing_the_daily_cap_by_surplus():
    surplus = hours(TUESDAY[0] + 10 * H, [300, 700, 1100, 500, -200])  # 10:00 to 14:00 on Tuesday

    planned = offers_to_post(RULES, surplus, TUESDAY, interval(NOON), L)

    eleven, twelve = TUESDAY[0] + 11 * H, TUESDAY[0] + 12 * H
    assert planned == (
        PlannedOffer(388, CREDIT // 10, interval(eleven), interval(eleven) + 3),  # 700 of 1800 Wh, of 1000
        PlannedOffer(611, CREDIT // 10, interval(twelve), interval(twelve) + 3),  # 1100 of 1800 Wh
    )


def test_an_hour_never_offers_more_than_its_forecast_surplus():
    surplus = hours(TUESDAY[0] + 11 * H, [250.7, 90.2])

    planned = offers_to_post(replace(RULES, offer_max_wh=100_000), surplus, TUESDAY, interval(NOON), L)

    assert [p.wh for p in planned] == [250, 90]


def test_offers_are_for_the_chosen_day_only_and_start_after_a_whole_interval_to_accept_them():
    monday_hours = hours(NOON, [900, 800, 700])  # 12:00, 13:00, 14:00 on Monday
    today = local_day(NOON, ZONE, 0)

    at_11_40 = offers_to_post(RULES, monday_hours, today, interval(NOON - 20 * 60), L)
    at_11_50 = offers_to_post(RULES, monday_hours, today, interval(NOON - 10 * 60), L)
    for_tomorrow = offers_to_post(RULES, monday_hours, TUESDAY, interval(NOON - 20 * 60), L)

    assert [p.first_interval for p in at_11_40] == [interval(NOON), interval(NOON + H)]
    assert [p.first_interval for p in at_11_50] == [interval(NOON + H), interval(NOON + 2 * H)]
    assert for_tomorrow == ()


def test_no_surplus_means_no_offer():
    assert offers_to_post(RULES, hours(TUESDAY[0] + 12 * H, [-100, 0, 0.5]), TUESDAY, interval(NOON), L) == ()


def test_a_day_counts_as_offered_once_this_account_posted_any_offer_for_it_whatever_became_of_it():
    tuesday_noon = TUESDAY[0] + 12 * H
    cancelled_mine = offer(1, 100, tuesday_noon, producer=ME, state=CANCELLED)
    someone_elses = offer(2, 100, tuesday_noon)
    mine_monday = offer(3, 100, NOON, producer=ME)

    assert posted_for_day([cancelled_mine], ME, TUESDAY, L) is True
    assert posted_for_day([someone_elses, mine_monday], ME, TUESDAY, L) is False


def test_a_local_day_has_23_hours_when_the_clocks_go_forward():
    start, end = local_day(datetime(2026, 3, 29, 12, tzinfo=ZONE).timestamp(), ZONE, 0)

    assert (end - start, datetime.fromtimestamp(start, ZONE).hour) == (23 * H, 0)


# -- the consumer rules -------------------------------------------------------------------


def test_an_hours_shortage_is_its_import_beyond_production_spread_over_its_intervals():
    shortage = shortage_by_interval(hours(NOON, [-400, 300]), L)

    assert shortage == {interval(NOON) + i: 100.0 for i in range(4)}


def test_open_offers_leave_out_own_started_finished_and_too_dear_offers_cheapest_first():
    at = interval(NOON) - 4
    found = open_offers([
        offer(1, 100, NOON, price=CREDIT // 10),
        offer(2, 100, NOON, price=CREDIT // 20),
        offer(3, 100, NOON, producer=ME, price=1),
        offer(4, 100, NOON - 2 * H),  # its window started
        offer(5, 100, NOON, state=ACCEPTED),
        offer(6, 100, NOON, price=CREDIT),  # above the highest price
    ], ME, at, CREDIT // 5)

    assert [d.offer_id for d in found] == [2, 1]


def test_offers_are_accepted_for_the_shortage_of_their_hours_and_no_further():
    shortage = shortage_by_interval(hours(NOON, [-500, -400]), L)
    offers = [offer(1, 300, NOON), offer(2, 300, NOON), offer(5, 150, NOON), offer(7, 400, NOON + H)]

    chosen = shortage_choices(RULES, offers, [], shortage, interval(NOON) - 4, 10 * CREDIT)

    assert [d.offer_id for d in chosen] == [1, 5, 7]  # 300 + 150 of 500 at noon; 300 more would be too much


def test_a_running_deal_covers_its_hours_so_a_second_offer_for_them_waits_for_more_shortage():
    shortage = shortage_by_interval(hours(NOON, [-500]), L)
    running = bought(offer(1, 400, NOON), delivered=0)

    left = uncovered(shortage, [running], interval(NOON) - 4)
    chosen = shortage_choices(RULES, [offer(2, 200, NOON), offer(3, 100, NOON)], [running], shortage,
                              interval(NOON) - 4, 10 * CREDIT)

    assert round(sum(left.values())) == 100
    assert [d.offer_id for d in chosen] == [3]


def test_what_a_deal_already_delivered_no_longer_covers_the_hours_ahead():
    shortage = shortage_by_interval(hours(NOON, [-400]), L)
    half_delivered = bought(offer(1, 400, NOON), delivered=200)

    # At 12:15, the deal still owes 200 Wh for 12:30-13:00, whose shortage is 200 Wh.
    left = uncovered(shortage, [half_delivered], interval(NOON) + 1)

    assert [left[interval(NOON) + i] for i in range(4)] == [100.0, 100.0, 0.0, 0.0]


def test_accepting_stops_at_max_wh_still_to_be_delivered():
    shortage = shortage_by_interval(hours(NOON, [-5000]), L)
    running = bought(offer(1, 1000, NOON - 3 * H, hours_long=4), delivered=400)

    chosen = shortage_choices(replace(RULES, max_wh=1500), [offer(2, 1000, NOON), offer(3, 900, NOON)], [running],
                              shortage, interval(NOON) - 4, 10 * CREDIT)

    assert [d.offer_id for d in chosen] == [3]  # 600 owed + 900 = 1500; + 1000 would be 1600


def test_accepting_stops_at_what_the_wallet_holds():
    shortage = shortage_by_interval(hours(NOON, [-5000]), L)
    offers = [offer(1, 1000, NOON, price=CREDIT), offer(2, 1000, NOON, price=CREDIT)]  # 1 credit each

    chosen = shortage_choices(replace(RULES, max_price_per_kwh=CREDIT), offers, [], shortage, interval(NOON) - 4,
                              CREDIT + CREDIT // 2)

    assert [d.offer_id for d in chosen] == [1]


def test_the_battery_rule_takes_the_cheapest_offer_within_max_wh_only_while_low_and_without_a_running_deal():
    offers = [offer(1, 3000, NOON, price=1), offer(2, 500, NOON, price=2)]

    assert [d.offer_id for d in battery_candidates(RULES, 12.0, offers, [])] == [2]
    assert battery_candidates(RULES, 25.0, offers, []) == []
    assert battery_candidates(RULES, None, offers, []) == []
    assert battery_candidates(RULES, 12.0, offers, [bought(offer(9, 100, NOON))]) == []
    assert battery_candidates(RULES, 12.0, offers, [replace(bought(offer(9, 100, NOON)), state=COMPLETED)]) != []
