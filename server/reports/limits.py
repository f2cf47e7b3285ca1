"""The rate limits of the public report side, shared by the HTML page (``/r/…``) and the public
JSON endpoints (``/api/v1/public/…``): a client cannot double its budget by switching door.

=========================  ==============================  ====================================
limit (setting)            counts                          keyed by
=========================  ==============================  ====================================
submit per client          every POST of a report          the client (server/ratelimits.py)
submit per link            reports actually stored         the enterprise's link token
status per client          every receipt look-up           the client
form per client            every GET of the form           the client
=========================  ==============================  ====================================

A client over its limit gets 429 and its request is not counted against the enterprise, nor is
a honeypot hit or a refused form: spam never spends the enterprise's budget, which is generous
and only stops a flood spread over many addresses.
"""
from __future__ import annotations

from flask import g, request

from server.extensions import limiter
from server.ratelimits import configured


def link_key() -> str:
    return f"link:{(request.view_args or {}).get('token', '')}"


def count_stored_report() -> None:
    """Tell the per-link limit that this request stored a report (only those count)."""
    g.zicha_report_stored = True


def _stored(_response) -> bool:
    return bool(g.get("zicha_report_stored"))


submit_per_client = limiter.shared_limit(configured("REPORT_LIMIT_SUBMIT_PER_CLIENT"), scope="report-submit")
submit_per_link = limiter.shared_limit(configured("REPORT_LIMIT_SUBMIT_PER_LINK"), scope="report-link", key_func=link_key, deduct_when=_stored)
status_per_client = limiter.shared_limit(configured("REPORT_LIMIT_STATUS_PER_CLIENT"), scope="report-status")
form_per_client = limiter.shared_limit(configured("REPORT_LIMIT_FORM_PER_CLIENT"), scope="report-form")
