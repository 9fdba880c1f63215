"""The node's chain client: the embedded anvil, and later the community PoA network."""
