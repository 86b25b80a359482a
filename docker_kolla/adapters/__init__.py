"""Thin adapters to the outside world: registry, git, engine, cache."""
