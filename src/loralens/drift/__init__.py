"""Drift of fine-tuned representations from the base model, with controls."""
