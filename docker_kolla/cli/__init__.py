"""The command line: the only place that prints for humans and exits."""
