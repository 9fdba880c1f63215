"""Peer energy exchanges as the node takes part in them: what the mirror says the deals are, and
the agent that accepts offers under a rule, meters delivery and closes finished deals."""
