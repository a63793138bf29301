"""Reverse-mode rule templates, grouped by where the primitive comes from."""
