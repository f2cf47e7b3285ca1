"""Checklists (检查表) and their immutable published versions."""
