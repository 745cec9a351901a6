"""Full fine-tuning and LoRA variants on the HF Trainer and PEFT."""
