"""The operator's tour: live power without reloading, a manual relay override, and every page on a
desktop and a phone screen (screenshots in .screenshots/)."""

from __future__ import annotations

import pytest
from browserkit import login, screenshot, wait_until

PAGES = ["now", "history", "forecast", "community", "bill", "market", "market/offers", "trading", "consents", "relays", "node", "alerts"]
PHONE = {"width": 390, "height": 844}


def test_live_power_updates_without_reloading_the_page(browser, households):
    page = login(browser, households["producer"])
    page.goto(households["producer"].url + "/now/")
    status = page.locator("[data-live=status]")
    page.wait_for_function("document.querySelector('[data-live=status]').textContent.includes('meter reading of')")
    seen = {status.inner_text()}
    page.evaluate("window.__notReloaded = true")

    assert wait_until(lambda: seen.add(status.inner_text()) or len(seen) >= 3, 20), f"the live figure stayed at {seen}"
    assert page.evaluate("window.__notReloaded") is True
    assert page.inner_text("[data-live=export_w]").endswith("W")
    screenshot(page, "now-live")


def test_operator_switches_a_relay_on_by_hand_and_sees_it_on(browser, households):
    consumer = households["consumer"]
    page = login(browser, consumer)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(consumer.url + "/relays/")
    card = "#relay-community-supply"
    page.select_option(f"{card} select[name=mode]", "on")
    page.click(f"{card} >> text=Set")

    page.wait_for_selector(f"{card} [data-action-id][data-state=confirmed]", timeout=30_000)
    assert wait_until(lambda: page.goto(consumer.url + "/relays/") and
                      page.inner_text(f"{card} .figure") == "on", 15)
    assert "DApp operator" in page.inner_text(card)
    screenshot(page, "relays-override")


@pytest.mark.parametrize("household", ["producer", "consumer"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_every_page_renders_for_the_operator(browser, households, household, screen):
    node = households[household]
    page = login(browser, node, viewport=PHONE if screen == "phone" else None)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    for name in PAGES:
        page.goto(f"{node.url}/{name}/")
        page.wait_for_load_state("networkidle") if name != "now" else page.wait_for_timeout(500)
        screenshot(page, f"{household}-{name.replace('/', '-')}-{screen}")
        assert page.title().endswith(household)
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, f"{name} is {wider} px wider than the {screen} screen"
    assert errors == []
