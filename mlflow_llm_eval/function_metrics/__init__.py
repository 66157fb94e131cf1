"""Offline function metrics: one small module per metric family, each a pure batch function."""
