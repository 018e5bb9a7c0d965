"""`python -m bondkd` runs the CLI."""

from bondkd.cli import run

run()
