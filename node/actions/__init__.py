"""What the operator asks the node to do from the DApp: a persistent queue of actions, and the runner
that sends the chain actions through the node's one transaction sender."""
