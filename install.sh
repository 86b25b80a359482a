#!/usr/bin/env bash
# Install docker-kolla into its own virtual environment and link it as a Docker CLI plugin.
#   ./install.sh            -> venv in .venv, plugin link in ${DOCKER_CONFIG:-~/.docker}/cli-plugins
#   VENV=/opt/docker-kolla ./install.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${VENV:-$here/.venv}"
python="${PYTHON:-python3}"
extras="${EXTRAS:-}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here${extras:+[$extras]}"
# Compile the bytecode now: with PYTHONDONTWRITEBYTECODE=1 (common in containers and CI)
# Python would otherwise recompile the package on every command (+0.3 s each).
"$venv/bin/python" -m compileall -q "$here/docker_kolla"
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
# the launcher: answers docker's metadata probe from the shell, then runs $venv/bin/docker-kolla
ln -sf "$venv/bin/docker-kolla-plugin" "$plugins/docker-kolla"
echo "installed: $plugins/docker-kolla -> $venv/bin/docker-kolla-plugin"
if command -v docker >/dev/null 2>&1; then
  docker kolla --help >/dev/null && echo "check: \`docker kolla --help\` works"
fi
