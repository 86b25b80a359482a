"""One module per verb: glue core and adapters, return result objects."""
