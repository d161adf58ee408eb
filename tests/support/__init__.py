"""Helpers and golden data shared by several test modules (importable because pytest puts tests/ on the path)."""
