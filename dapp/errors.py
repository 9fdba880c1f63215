"""The DApp's exception hierarchy."""

from node.errors import NodeError


class DappError(NodeError):
    """Base of every error the DApp raises on purpose."""


class BadRequest(DappError):
    """A form or query the DApp refuses; the message says what to change."""


class PeerRefused(DappError):
    """Another member's node refused or could not answer a data request; `status` is its HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RequestRefused(DappError):
    """This node refuses another node's data request; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class NotAvailable(DappError):
    """The page needs something the node does not have right now (chain, signing key, peers)."""
