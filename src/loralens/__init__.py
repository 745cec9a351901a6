"""loralens: drift, deployment cost and sparsity of LoRA against full fine-tuning."""

__version__ = "0.1.0"
