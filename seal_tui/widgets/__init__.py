"""The session screen's parts, one widget per module."""
