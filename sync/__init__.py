"""Offline-sync protocol: record shapes, cursors, merge rules and period arithmetic."""
