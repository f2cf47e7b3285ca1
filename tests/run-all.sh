#!/usr/bin/env bash
# The whole test suite, twice: on SQLite (the embedded default), then on a real PostgreSQL
# server started here for the run (a throwaway cluster on 127.0.0.1, removed afterwards).
# Extra arguments go to pytest, e.g. `bash tests/run-all.sh -x -k scan`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The project with its dev extras.
python -m pip install -q --disable-pip-version-check -e ".[dev]"
# What the suite needs from Debian: PostgreSQL's server, poppler (PDF test), Chromium (browser tests).
if { ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || ! command -v chromium >/dev/null; } \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql poppler-utils chromium fonts-wqy-microhei >/dev/null
fi

echo "== SQLite =="
python -m pytest -q -p no:cacheprovider "$@"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ]; then
  echo "PostgreSQL server binaries not found (Debian package postgresql); install them to run the PostgreSQL half" >&2
  exit 1
fi
work=$(mktemp -d /tmp/zicha-pg.XXXXXX)
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work"   # initdb refuses to run as root
  as_pg=(runuser -u postgres --)
fi
cleanup() { "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${as_pg[@]}" "$PGBIN/initdb" -D "$work/data" -U zicha --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$work -c fsync=on -c synchronous_commit=on" start >/dev/null
"${as_pg[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U zicha zicha

echo "== PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') =="
ZICHA_TEST_DATABASE_URL="postgresql+psycopg://zicha@127.0.0.1:$port/zicha" python -m pytest -q -p no:cacheprovider "$@"
