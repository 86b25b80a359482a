"""The offline demo behind `make demo`."""
