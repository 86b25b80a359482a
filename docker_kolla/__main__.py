"""``python -m docker_kolla`` runs the plugin entry point."""

from docker_kolla.cli.plugin import main

raise SystemExit(main())
