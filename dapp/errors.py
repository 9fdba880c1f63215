"""The DApp's exception hierarchy."""

from node.errors import NodeError


class DappError(NodeError):
    """Base of every error the DApp raises on purpose."""


class BadRequest(DappError):
    """A form or query the DApp refuses; the message says what to change."""


class PeerRefused(DappError):
    """Another member's node refused or could not answer a data request."""


class NotAvailable(DappError):
    """The page needs something the node does not have right now (chain, signing key, peers)."""
