"""Enterprises (the tenants) and their sites."""
