"""``python -m siting``: the command line."""

from siting.cli.main import app

app(prog_name="siting")
