"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py server.wsgi:app``.

No ``preload_app``: each worker builds the app after the fork, so database connections (and
SQLite file handles) are never shared across processes.
"""
import multiprocessing
import os

bind = os.environ.get("ZICHA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ZICHA_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
preload_app = False
timeout = 30
graceful_timeout = 30
# Phones on bad links send slowly; keep-alive lets a sync session reuse its connection.
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Writes "-" for the address, browser and referer of requests to the public report paths (/r/,
# /api/v1/public/), whatever access_log_format says: no log names a reporter (server/accesslog.py).
logger_class = "server.accesslog.GunicornLogger"
forwarded_allow_ips = os.environ.get("ZICHA_FORWARDED_ALLOW_IPS", "127.0.0.1")
