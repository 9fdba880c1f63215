"""A local, reorg-safe copy of the community contracts' events, so the DApp reads locally."""
