"""A household grants its neighbour access to its 15-minute data, the neighbour's node fetches it,
the household revokes, and the next fetch is refused; both through the DApps in Chromium."""

from __future__ import annotations

from browserkit import chain_contracts, login, screenshot, wait_until


def fetch_from(page, household, subject, reload: bool = True) -> str:
    if reload:
        page.goto(household.url + "/consents/")
    page.click(f"form:has(input[name=subject][value='{subject.account.address}']) >> text=Fetch data")
    page.wait_for_load_state()
    return page.inner_text("main")


def test_neighbour_fetches_data_while_consent_is_valid_and_is_refused_after_revocation(browser, households):
    subject, recipient = households["producer"], households["consumer"]
    owner = login(browser, subject)
    owner.on("dialog", lambda dialog: dialog.accept())
    owner.goto(subject.url + "/consents/")
    owner.select_option("select[name=recipient]", recipient.account.address)
    owner.click("text=Give consent")
    owner.wait_for_selector("[data-action-id][data-state=confirmed]", timeout=60_000)

    reader = login(browser, recipient)
    assert wait_until(
        lambda: reader.goto(recipient.url + "/consents/") and
        reader.query_selector(f"input[name=subject][value='{subject.account.address}']") is not None, 60,
    ), "the consent never reached the neighbour's Consents page"
    shared = fetch_from(reader, recipient, subject)
    screenshot(reader, "consents-fetched")

    assert "Their node did not share the data" not in shared
    assert "Their import" in shared
    assert reader.query_selector("table td.num") is not None

    registry = chain_contracts(subject)["ConsentRegistry"]
    # The neighbour's page still offers the fetch (its mirror may not have the revocation yet):
    # the subject's node must refuse on its own, asking the chain.
    reader.goto(recipient.url + "/consents/")
    owner.goto(subject.url + "/consents/")
    owner.click("text=Revoke")
    assert wait_until(lambda: not registry.functions.isLive(1).call(), 60), "the revocation never reached the chain"
    refused = fetch_from(reader, recipient, subject, reload=False)

    assert "Their node did not share the data" in refused
    assert "no valid consent" in refused
    owner.goto(subject.url + "/consents/")
    log = owner.inner_text("main")
    assert "served" in log and "refused" in log
    screenshot(owner, "consents-access-log")
