"""Where the installed plugin lives: beside the interpreter running the tests.

``make test VENV=/any/where`` runs pytest with that venv's python, so the entry
point script is found next to ``sys.executable``; nothing assumes ``<repo>/.venv``.
"""

import sys
from pathlib import Path

VENV = Path(sys.prefix)
PLUGIN = Path(sys.executable).parent / "docker-kolla"
