"""Options shared by the command-line tools (``zicha …``)."""
from __future__ import annotations

from datetime import datetime, timezone

import click


class Moment(click.ParamType):
    """An ISO 8601 moment with its UTC offset, as an aware UTC datetime.

    A naive time is refused: whose zone would it be — the server's, the enterprise's, the
    operator's? ``--now 2026-11-24T09:00:00+08:00`` says which.
    """

    name = "ISO-8601"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.fail(f"{value!r} is not an ISO 8601 date-time", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset (e.g. 2026-11-24T09:00:00+08:00)", param, ctx)
        return moment.astimezone(timezone.utc)


def now_option(help: str = "Act as of this moment (ISO 8601 with its offset) instead of the clock."):
    """``--now``: replay a moment (the command's parameter ``now`` is None without it)."""
    return click.option("--now", "now", type=Moment(), default=None, help=help)
