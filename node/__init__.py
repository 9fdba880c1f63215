"""The household node: meter reader, local store, chain client and relays."""
