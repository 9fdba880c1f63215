"""A producer certifies its surplus and lists it; the neighbour buys it, all through their DApps."""

from __future__ import annotations

from browserkit import chain_contracts, login, screenshot, wait_until


def test_neighbour_buys_a_certificate_the_producer_minted_and_listed(browser, households):
    producer, consumer = households["producer"], households["consumer"]
    contracts = chain_contracts(producer)
    community, certificates = contracts["Community"], contracts["EnergyCertificate"]
    assert wait_until(lambda: community.functions.surplusOf(producer.account.address).call() > 0, 120), \
        "the producer never had settled surplus"

    seller = login(browser, producer)
    seller.on("dialog", lambda dialog: dialog.accept())
    seller.goto(producer.url + "/market/")
    seller.fill("input[name=wh]", "100")
    seller.click("text=Mint a certificate")
    seller.wait_for_selector("#activity ~ .table-wrap [data-state=confirmed]", timeout=60_000)
    assert wait_until(lambda: _reload_finds(seller, "#certificate-1"), 30)
    seller.fill("#certificate-1 input[name=price]", "0.05")
    seller.click("#certificate-1 >> text=List")
    assert wait_until(lambda: certificates.functions.listingPrice(1).call() == 5 * 10**16, 60)
    screenshot(seller, "market-producer")

    buyer = login(browser, consumer)
    buyer.on("dialog", lambda dialog: dialog.accept())
    assert wait_until(lambda: _reload_finds(buyer, "#listing-1", consumer.url + "/market/"), 60), \
        "the listing never reached the neighbour's market"
    buyer.click("#listing-1 >> text=Buy")
    buyer.wait_for_selector("#activity ~ .table-wrap [data-state=confirmed]", timeout=60_000)
    screenshot(buyer, "market-buyer")

    assert certificates.functions.ownerOf(1).call() == consumer.account.address
    assert "buy" in buyer.inner_text("#activity ~ .table-wrap").lower()


def _reload_finds(page, selector: str, url: str | None = None) -> bool:
    page.goto(url or page.url.split("#")[0])
    return page.query_selector(selector) is not None
