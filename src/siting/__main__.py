"""``python -m siting``: the command line."""

from siting.cli import app

app(prog_name="siting")
