"""Pure logic: no network, disk, git, engine, clock or environment reads."""
