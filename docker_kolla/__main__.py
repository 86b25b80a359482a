"""``python -m docker_kolla`` runs the plugin entry point."""

from docker_kolla.cli.plugin import entry

raise SystemExit(entry())
