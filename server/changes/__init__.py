"""Changes: the per-enterprise change log that drives the sync pull.

Every transaction that changes what a device keeps offline (the enterprise, its sites, posts,
checklists, checklist versions, schedules) numbers its changes from a per-enterprise counter row
that it updates itself (:mod:`server.changes.log`), so the numbering follows commit order; the
pull (:mod:`server.changes.services`) pages through that log from an opaque cursor, or through
a snapshot when the cursor cannot be served.
"""
