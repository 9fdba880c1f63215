"""What browser tests share besides fixtures: logging in, screenshots, and the chain behind the DApps."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "node"))

from nodekit import wait_until  # noqa: E402,F401  (re-exported for the tests)

from node.chain.client import connect  # noqa: E402

PASSWORD = "correct horse battery"
SCREENSHOTS = Path(__file__).parents[2] / ".screenshots"


def login(browser, household, viewport=None, password: str = PASSWORD):
    """A new browser context (its own cookies) logged in to `household`'s DApp."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(household.url + "/auth/login")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/now/")
    return page


def chain_contracts(household):
    """The household's contracts on the chain, to check what the DApp did."""
    from node.chain import deployment as records
    from node.chain.contracts import CommunityContracts, load_abis
    from node.chain.devnet import MANIFEST

    config = household.runtime.config
    return CommunityContracts(connect(config.chain.rpc), records.read(config.chain.deployment), load_abis(MANIFEST))


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
