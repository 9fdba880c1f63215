"""The grid operator's (DSO's) figures: imported into the node's own SQLite file and checked, interval
by interval, against the household's meter and what the chain settled (docs/dso.md)."""
