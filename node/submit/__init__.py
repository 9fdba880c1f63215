"""Getting the household's interval readings onto the chain exactly once, and settling intervals."""
