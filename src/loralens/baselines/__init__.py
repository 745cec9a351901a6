"""Baselines scored through the same evaluation path as trained models."""
