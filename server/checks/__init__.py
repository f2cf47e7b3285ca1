"""Checks (检查记录): one filled checklist for one schedule and period."""
