"""The ticket-drop benchmark: starts a real boxoffice stack and drives it over HTTP.

Run it with `uv run python -m bench <scenario> [--quick]`; see `bench/README.md`.
"""
