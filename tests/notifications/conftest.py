"""Real local receivers for the delivery tests: an HTTP server and an SMTP server on 127.0.0.1.

The HTTP receiver checks what each kind of receiver checks in real life — the webhook's HMAC,
DingTalk's and Feishu's signatures, each robot's message format — independently of the code
under test (the signatures are recomputed here from the vendors' documented recipes), and
answers the way the vendor does. It can be told to fail a number of times first.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.extensions import db
from server.notifications.message import Message

API = "/api/v1"
WEBHOOK_SECRET = "whsec-甲-0123456789abcdef"
ROBOT_SECRET = "SEC0123456789abcdefROBOT"


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What arrived, per path; ``fail[path] = n`` makes the next n requests to path fail."""

    base: str
    received: list[Received] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    hold: threading.Event | None = None  # when set, a request waits for it before answering
    arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def _check_webhook(req: Received) -> str | None:
    ts, sig = req.headers.get("X-Zicha-Timestamp", ""), req.headers.get("X-Zicha-Signature", "")
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + req.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, expected):
        return "bad webhook signature"
    body = req.json
    if set(body) != {"id", "seq", "channel", "enterprise", "kind", "level", "title", "text", "link", "facts", "created_at"}:
        return f"webhook body keys {sorted(body)}"
    if str(body["seq"]) != req.headers.get("X-Zicha-Seq") or body["id"] != req.headers.get("X-Zicha-Id"):
        return "seq/id headers do not match the body"
    return None


def _check_wecom(req: Received) -> str | None:
    body = req.json
    if "key" not in req.query:
        return "WeCom URL lost its key"
    if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown", {}).get("content"), str):
        return f"WeCom body {body}"
    if len(body["markdown"]["content"].encode()) > 4096:
        return "WeCom content over 4096 bytes"
    return None


def _check_dingtalk(req: Received) -> str | None:
    # 加签: sign = urlencode(base64(HmacSHA256(key=secret, "timestamp\nsecret"))), both in the query.
    ts, sign = req.query.get("timestamp"), req.query.get("sign")
    if not ts or not sign or req.query.get("access_token") != "dt-token":
        return f"DingTalk query {req.query}"
    expected = base64.b64encode(hmac.new(ROBOT_SECRET.encode(), f"{ts}\n{ROBOT_SECRET}".encode(), hashlib.sha256).digest()).decode()
    if sign != expected or len(ts) != 13:
        return "bad DingTalk sign"
    body = req.json
    if body.get("msgtype") != "markdown" or not body["markdown"].get("title") or not body["markdown"].get("text"):
        return f"DingTalk body {body}"
    return None


def _check_feishu(req: Received) -> str | None:
    # 签名校验: sign = base64(HmacSHA256(key="timestamp\nsecret", msg="")), both in the body.
    body = req.json
    ts, sign = body.get("timestamp"), body.get("sign")
    expected = base64.b64encode(hmac.new(f"{ts}\n{ROBOT_SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
    if not isinstance(ts, str) or len(ts) != 10 or sign != expected:
        return "bad Feishu sign"
    if body.get("msg_type") != "post":
        return f"Feishu msg_type {body.get('msg_type')}"
    post = body["content"]["post"]
    (locale, content), = post.items()
    if locale not in ("zh_cn", "en_us") or not content["title"] or not all(isinstance(row, list) for row in content["content"]):
        return f"Feishu post {post}"
    return None


_CHECKS = {"/webhook": _check_webhook, "/wecom": _check_wecom, "/dingtalk": _check_dingtalk, "/feishu": _check_feishu}


def _answer(path: str, ok: bool) -> tuple[int, dict]:
    """Answer as each vendor does: robots say no with HTTP 200 and a code in the JSON."""
    if path in ("/wecom", "/dingtalk"):
        return 200, {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
    if path == "/feishu":
        return 200, {"code": 0, "msg": "success", "data": {}} if ok else {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
    return (200, {"ok": True}) if ok else (503, {"ok": False})


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            r: Receiver = state["receiver"]
            parts = urllib.parse.urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            req = Received(parts.path, dict(urllib.parse.parse_qsl(parts.query)), dict(self.headers), body)
            r.received.append(req)
            r.arrived.set()
            if r.hold is not None:
                r.hold.wait(timeout=30)
            problem = _CHECKS.get(parts.path, lambda _r: None)(req)
            if problem:
                r.problems.append(problem)
            failing = r.fail.get(parts.path, 0) > 0
            if failing:
                r.fail[parts.path] -= 1
            status, answer = _answer(parts.path, not failing and not problem)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def _self_signed(folder):
    """A certificate for 127.0.0.1 and its key, for the TLS mail server (trusted via SSL_CERT_FILE)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start.replace(year=2099))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(params=["none"])
def smtp(request, app, monkeypatch, tmp_path):
    """aiosmtpd on 127.0.0.1, with the app's SMTP settings pointing at it. Plain by default;
    parametrize indirectly with "starttls" or "ssl" for a TLS server the client must verify."""
    import socket
    import ssl

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 Message accepted for delivery"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    security = request.param
    options: dict = {}
    if security != "none":
        cert, key = _self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options = {"tls_context": context, "require_starttls": True} if security == "starttls" else {"ssl_context": context}
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what ssl.create_default_context() trusts
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": security, "SMTP_FROM": "zicha@example.cn"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield inbox
    controller.stop()


def channel_body(kind: str, receiver: Receiver | None = None, **extra) -> dict:
    """A valid create body for each kind, aimed at the local receiver."""
    body = {"kind": kind, "name": f"{kind} 渠道"}
    if kind == "webhook":
        body.update(url=receiver.url("/webhook"), secret=WEBHOOK_SECRET)
    elif kind == "wecom":
        body.update(url=receiver.url("/wecom?key=wecom-key-693a91f6"))
    elif kind == "dingtalk":
        body.update(url=receiver.url("/dingtalk?access_token=dt-token"), secret=ROBOT_SECRET)
    elif kind == "feishu":
        body.update(url=receiver.url("/feishu"), secret=ROBOT_SECRET)
    elif kind == "email":
        body.update(recipients=["anquan@example.cn", "boss@example.cn"])
    body.update(extra)
    return body


def create_channel(client, tenant, kind: str, receiver: Receiver | None = None, **extra) -> int:
    r = client.post(f"{API}/notification-channels", json=channel_body(kind, receiver, **extra), headers=tenant.auth("admin"))
    assert r.status_code == 201, r.json
    return r.json["id"]


def message(n: int = 1, level: str = "red") -> Message:
    return Message(
        kind="missed_check",
        title_zh=f"漏检：液氨储罐区 第{n}条",
        title_en=f"Missed check: ammonia tank area #{n}",
        text_zh=f"液氨储罐区日检未按时完成（第{n}条）。\n请班组长立即处理。",
        text_en=f"The daily check of the ammonia tank area was not done (#{n}).\nSupervisor, act now.",
        level=level,
        link=f"https://zicha.example.cn/api/v1/alerts/{n}",
        facts={"n": n, "schedule_id": 7},
    )


def notify(app, tenant, *messages: Message, recipients: tuple[str, ...] = ("supervisor",)) -> None:
    """Enqueue messages for a tenant as an alert would, each in its own committed transaction."""
    from server.notifications.services import enqueue

    with app.app_context():
        for m in messages:
            enqueue(tenant.enterprise_id, m, [tenant.users[r] for r in recipients], alert_id=m.facts.get("n"))
            db.session.commit()
        db.session.remove()


def run_delivery(app, **kwargs):
    from server.notifications.delivery import deliver

    with app.app_context():
        try:
            return deliver(**kwargs)
        finally:
            db.session.remove()
