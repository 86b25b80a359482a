"""Where the installed plugin lives: beside the interpreter running the tests.

``make test VENV=/any/where`` runs pytest with that venv's python, so the entry
point script is found next to ``sys.executable``; nothing assumes ``<repo>/.venv``.
"""

import sys
from pathlib import Path

VENV = Path(sys.prefix)
# the launcher the docker CLI runs (bin/docker-kolla-plugin: metadata from the shell, the rest
# through the entry point script beside it, ENTRY)
PLUGIN = Path(sys.executable).parent / "docker-kolla-plugin"
ENTRY = Path(sys.executable).parent / "docker-kolla"
