"""The waiting page, rendered from a self-contained template (no external assets)."""
