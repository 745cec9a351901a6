"""Model registry and loaders."""
