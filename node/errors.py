"""The node package's exception hierarchy: every error a node raises on purpose is a NodeError."""


class NodeError(Exception):
    """Base of every error the node raises on purpose."""


class ChainError(NodeError):
    """The chain client could not be started, reached or used."""


class ToolchainMissing(ChainError):
    """A tool installed by `make setup` (anvil, solc) is not where it should be."""


class AllocationError(NodeError):
    """Allocation inputs are inconsistent (negative energy, unknown key, coefficients over 100%)."""
