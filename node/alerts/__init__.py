"""Alerts the household sees in its DApp: consumption anomalies learnt from its own history, a silent
meter, a stalled chain and a growing outbox, judged by pure functions of data and an injected now."""
