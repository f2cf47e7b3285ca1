"""Hazards (隐患) and their closed loop: reported → confirmed and graded → assigned → rectified →
verified and closed (or rejected), every step on an append-only record (``hazard_events``)."""
