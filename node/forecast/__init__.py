"""Hourly forecasts of the next 24 h of consumption and production, for a household and its community.

See docs/forecast.md for the method and how its error is measured.
"""
