"""The `vllm` engine: vLLM's OpenAI-compatible server in its own environment and process."""
