"""results.json: built by the study's analysis stage from its artifacts; read by the report."""
