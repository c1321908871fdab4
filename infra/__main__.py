"""Entry point that ``pulumi up`` runs (``main: infra/`` in Pulumi.yaml)."""

import sys
from pathlib import Path

# Pulumi runs this file as a script, so the project root is not on sys.path yet; the
# program imports itself as the ``infra`` package like the tests and the offline plan do.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config.loader import load_from_running_program
from infra.stack import build_phase

build_phase(load_from_running_program(pulumi.get_stack()))
