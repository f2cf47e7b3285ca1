"""The limiter's name for a client: a keyed hash of its address under a key that changes daily."""
from __future__ import annotations

import pytest

from server.ratelimits import DayKeys, client_key, client_network


def _key(app, addr: str, forwarded: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/r/x", environ_base={"REMOTE_ADDR": addr}, headers=headers):
        return client_key()


def test_a_client_key_hides_the_address_and_changes_with_the_day(app, clock):
    today = _key(app, "203.0.113.77")
    assert today.startswith("client:") and len(today) == len("client:") + 32
    assert "203.0.113" not in today and today == _key(app, "203.0.113.77")
    assert today != _key(app, "203.0.113.78")
    clock.advance(days=1)
    assert _key(app, "203.0.113.77") != today


@pytest.mark.parametrize(
    "address, network",
    [
        ("203.0.113.77", "203.0.113.77"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.77", "203.0.113.77"),
        ("not an address", "not an address"),
    ],
)
def test_an_ipv6_client_is_its_64(address, network):
    assert client_network(address) == network


def test_one_ipv6_home_is_one_client(app):
    assert _key(app, "2001:db8:1:2::1") == _key(app, "2001:db8:1:2:ffff::9") != _key(app, "2001:db8:1:3::1")


def test_forwarded_for_counts_only_behind_trusted_proxies(app, monkeypatch):
    # Directly connected, a client cannot pick its own name with a header.
    assert _key(app, "198.51.100.1", forwarded="1.1.1.1") == _key(app, "198.51.100.1", forwarded="2.2.2.2")
    monkeypatch.setitem(app.config, "RATELIMIT_TRUSTED_PROXIES", 1)
    behind = _key(app, "127.0.0.1", forwarded="spoofed, 203.0.113.77")
    assert behind == _key(app, "203.0.113.77") and behind != _key(app, "127.0.0.1", forwarded="203.0.113.78")
    assert _key(app, "127.0.0.1") == _key(app, "127.0.0.1", forwarded="")  # no header: the peer


def test_day_keys_are_random_per_process_unless_shared():
    config = {"RATELIMIT_STORAGE_URI": "memory://", "SECRET_KEY": "s" * 40}
    one, two = DayKeys.for_config(config), DayKeys.for_config(config)
    assert one.key("2026-11-23") == one.key("2026-11-23") != two.key("2026-11-23")
    first = one.key("2026-11-23")
    assert one.key("2026-11-24") != first and one.key("2026-11-23") != first  # a past day's key is gone for good
    shared = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "SECRET_KEY": "s" * 40}
    a, b = DayKeys.for_config(shared), DayKeys.for_config(shared)
    assert a.key("2026-11-23") == b.key("2026-11-23") != a.key("2026-11-24")
