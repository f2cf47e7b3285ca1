"""Access logs that name no reporter.

A family report must leave no trace of who sent it, and an access log line is a trace: the
address, the browser and the page it came from. For the public report paths (:data:`PRIVATE`)
both servers write ``-`` instead:

- gunicorn (production, ``zicha serve``): :class:`GunicornLogger`, set as ``logger_class`` in
  ``deploy/gunicorn.conf.py`` and by ``zicha serve``; any ``access_log_format`` is safe, request
  headers that carry an address or a browser (``%({x-forwarded-for}i)s`` …) included.
- werkzeug's development server (``flask run``, the tests' live server):
  :func:`hide_reporters_in_dev_server_log` puts a filter on its logger.

Other paths are logged as usual. A reverse proxy in front keeps its own log: configure it the
same way for ``/r/`` and ``/api/v1/public/``.
"""
from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

PRIVATE = ("/r/", "/r?", "/api/v1/public/")
_HIDDEN_ATOMS = ("h", "a", "f")  # remote address, user agent, referer
_HIDDEN_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded", "true-client-ip", "cf-connecting-ip", "user-agent", "referer", "cookie")


def is_private(path: str) -> bool:
    """Whether a request path (or a raw URI) is one of the public report paths."""
    return path == "/r" or path.startswith(PRIVATE)


class GunicornLogger(Logger):
    """gunicorn's logger, writing ``-`` for who sent a request to a public report path."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if is_private(environ.get("PATH_INFO") or "") or is_private(environ.get("RAW_URI") or ""):
            for name in _HIDDEN_ATOMS:
                atoms[name] = "-"
            for header in _HIDDEN_HEADERS:
                if "{%s}i" % header in atoms:
                    atoms["{%s}i" % header] = "-"
        return atoms


# werkzeug writes f"{address} - - [{date}] {message}" with the request line as the first argument.
_ADDRESS = re.compile(r"^\S+ - - ")
_REQUEST_LINE = re.compile(r"^(?:\x1b\[[\d;]*m)*[A-Z]+ (\S+)")  # maybe coloured


class _DevServerFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        line = _REQUEST_LINE.match(args[0]) if args and isinstance(args[0], str) else None
        if line and is_private(line.group(1)) and isinstance(record.msg, str):
            record.msg = _ADDRESS.sub("- - - ", record.msg, count=1)
        return True


_DEV_SERVER_FILTER = _DevServerFilter()


def hide_reporters_in_dev_server_log() -> None:
    """Make werkzeug's request log write ``-`` for the address of public report requests (idempotent)."""
    logging.getLogger("werkzeug").addFilter(_DEV_SERVER_FILTER)
