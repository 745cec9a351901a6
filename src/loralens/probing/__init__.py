"""Fixed probe sets and per-layer pooled representation capture."""
