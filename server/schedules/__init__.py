"""Schedules (排查计划): a checklist at a post, at a frequency, with a due window."""
