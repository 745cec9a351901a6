"""Forgetting: what a fine-tuned model lost of the base model's capabilities, on data no run saw."""
