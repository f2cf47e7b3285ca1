"""Periodic work (the missed-check sweep, escalation, delivery, digests, housekeeping), run once
however many processes serve: each job is claimed through a lease row in the database."""
