"""Studies: expand a config into content-keyed stages, run them (local or Ray), cache results."""
