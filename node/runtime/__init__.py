"""`gridcommons node run`: the node's parts wired together and kept alive."""
