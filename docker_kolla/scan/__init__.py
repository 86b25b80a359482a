"""Pure parsers over file bytes (package databases) and layer streams."""
