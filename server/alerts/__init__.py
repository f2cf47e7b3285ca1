"""Alerts (提醒): the inbox, escalation along the chain by risk colour, and the daily digest."""
