"""Readable, stable pseudonyms for members ("Amber Heron"), derived from their account address.

The DApp never shows another member's address or name: the pseudonym is the same on every node
(it depends only on the address) and says nothing about the household.
"""

from __future__ import annotations

from eth_utils import keccak, to_bytes

ADJECTIVES = (
    "Amber", "Azure", "Birch", "Bright", "Brisk", "Calm", "Cedar", "Clear", "Copper", "Coral", "Crisp", "Dawn",
    "Deep", "Dusky", "Early", "Fern", "Frost", "Gentle", "Golden", "Green", "Hazel", "Ivory", "Jade", "Keen",
    "Lively", "Lunar", "Maple", "Meadow", "Misty", "Mossy", "Noble", "Ochre", "Olive", "Pale", "Pine", "Quiet",
    "Rapid", "Rosy", "Russet", "Sage", "Sandy", "Silver", "Slate", "Snowy", "Solar", "Steady", "Stone", "Sunny",
    "Swift", "Tawny", "Teal", "Tidal", "Umber", "Velvet", "Violet", "Warm", "Wild", "Willow", "Windy", "Winter",
    "Wise", "Young", "Zesty", "Zinc",
)
ANIMALS = (
    "Badger", "Bee", "Beaver", "Bison", "Crane", "Cricket", "Curlew", "Deer", "Dipper", "Dove", "Eagle", "Eel",
    "Egret", "Elk", "Falcon", "Finch", "Fox", "Gecko", "Goose", "Grebe", "Hare", "Hawk", "Hedgehog", "Heron",
    "Ibis", "Jay", "Kestrel", "Kite", "Lark", "Lynx", "Marten", "Mink", "Moth", "Newt", "Otter", "Owl",
    "Pike", "Plover", "Puffin", "Quail", "Raven", "Robin", "Salmon", "Seal", "Shrike", "Skylark", "Sparrow", "Stoat",
    "Stork", "Swan", "Swift", "Tern", "Thrush", "Toad", "Trout", "Vole", "Wagtail", "Weasel", "Wren", "Yak",
    "Zebu", "Martin", "Pipit", "Teal",
)


def pseudonym(account: str) -> str:
    """Adjective and animal picked by the keccak hash of the address bytes."""
    digest = keccak(to_bytes(hexstr=account))
    return f"{ADJECTIVES[digest[0] % len(ADJECTIVES)]} {ANIMALS[digest[1] % len(ANIMALS)]}"


def pseudonyms(accounts: list[str]) -> dict[str, str]:
    """Pseudonyms of a community's accounts; two that collide get a short hash tag to tell them apart."""
    names = {account: pseudonym(account) for account in accounts}
    taken: dict[str, int] = {}
    for name in names.values():
        taken[name] = taken.get(name, 0) + 1
    return {
        account: name if taken[name] == 1 else f"{name} ·{keccak(to_bytes(hexstr=account))[2:4].hex()}"
        for account, name in names.items()
    }
