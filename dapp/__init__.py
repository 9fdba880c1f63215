"""The household's local web app (Flask)."""
