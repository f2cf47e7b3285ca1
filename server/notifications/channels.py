"""Per-kind rendering and sending: signed webhook, WeCom / DingTalk / Feishu robots, e-mail.

Rendering is pure (an :class:`Envelope` and a signing time in, an :class:`HttpRequest` or an
e-mail out), so every vendor format can be checked without a network. :func:`send` does the I/O
and raises :class:`DeliveryFailed` with a short reason for anything short of the receiver's
explicit acceptance; the worker turns that into a retry.

Vendor formats, as documented by each vendor:
- WeCom group robot (企业微信群机器人): ``POST <url with key>`` ``{"msgtype": "markdown",
  "markdown": {"content": …}}`` (content ≤ 4096 bytes); no signing — the key in the URL is the
  credential; success is ``errcode == 0``.
- DingTalk custom robot (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
  with 加签, ``sign = urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)))``
  with ``timestamp`` in milliseconds, both as query parameters; success is ``errcode == 0``.
- Feishu / Lark custom bot (飞书自定义机器人): ``{"msg_type": "post", "content": {"post": {"zh_cn":
  {"title", "content": [[…]]}}}}``; with 签名校验, ``sign = base64(HMAC-SHA256(key=timestamp + "\\n"
  + secret, msg=""))`` with ``timestamp`` in seconds, both in the body; success is ``code == 0``.
- Generic webhook: see :func:`render_webhook`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import requests

from server.notifications.message import Message
from server.notifications.models import ChannelKind
from server.posts.models import RiskLevel

USER_AGENT = "Zicha-Notify/1"
WECOM_MAX_BYTES = 4096

_LEVEL_EN = {RiskLevel.RED: "Major risk", RiskLevel.ORANGE: "Significant risk", RiskLevel.YELLOW: "General risk", RiskLevel.BLUE: "Low risk"}
_WORDS = {
    "zh": {"level": "级别", "open": "查看详情", "seq": "编号"},
    "en": {"level": "Level", "open": "Open", "seq": "No."},
}


class DeliveryFailed(Exception):
    """The receiver did not accept the message; ``str(exc)`` is the reason kept in ``last_error``."""


@dataclass(frozen=True)
class Envelope:
    """Everything one send needs: the outbox row, its channel and its enterprise, as plain data."""

    id: str  # the outbox row's uuid: the idempotency id receivers see, the same on every retry
    seq: int
    channel_id: int
    kind: ChannelKind
    language: str
    url: str | None
    secret: str | None
    config: dict
    enterprise_code: str
    message: Message
    created_at: datetime


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def level_label(level: str, language: str) -> str:
    """The risk colour (重大风险 … 低风险) in the channel's language; anything else is a plain notice."""
    try:
        risk = RiskLevel(level)
    except ValueError:
        return "Notice" if language == "en" else "通知"
    return _LEVEL_EN[risk] if language == "en" else risk.zh


def _words(language: str) -> dict[str, str]:
    return _WORDS["en" if language == "en" else "zh"]


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body`` (the Stripe/Slack pattern: the
    timestamp is signed so a captured request cannot be replayed later with a new one)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def render_webhook(env: Envelope, signed_at: datetime) -> HttpRequest:
    """The generic webhook: a JSON body, signed, numbered.

    Headers: ``X-Zicha-Id`` (idempotency id: the same on retries and replays, so a receiver can
    drop what it already has), ``X-Zicha-Seq`` (the channel's gap-free number: a receiver that
    sees a jump asks for ``/replay``), ``X-Zicha-Timestamp`` (Unix seconds) and
    ``X-Zicha-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")``.
    """
    m, lang = env.message, env.language
    body = _json(
        {
            "id": env.id,
            "seq": env.seq,
            "channel": env.channel_id,
            "enterprise": env.enterprise_code,
            "kind": m.kind,
            "level": m.level,
            "title": m.title(lang),
            "text": m.text(lang),
            "link": m.link,
            "facts": m.facts,
            "created_at": env.created_at.isoformat(),
        }
    )
    timestamp = str(int(signed_at.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Zicha-Id": env.id,
        "X-Zicha-Seq": str(env.seq),
        "X-Zicha-Timestamp": timestamp,
        "X-Zicha-Signature": webhook_signature(env.secret or "", timestamp, body),
    }
    return HttpRequest(env.url or "", headers, body)


def _markdown(env: Envelope, heading: str) -> str:
    """The robots' shared markdown: title, level, text, link, and the number for reference."""
    m, lang, w = env.message, env.language, _words(env.language)
    lines = [f"{heading} {m.title(lang)}", f"> {w['level']}: **{level_label(m.level, lang)}**", ""]
    lines += m.text(lang).splitlines()
    if m.link:
        lines += ["", f"[{w['open']}]({m.link})"]
    lines += ["", f"{w['seq']} #{env.seq}"]
    return "\n".join(lines)


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def render_wecom(env: Envelope, signed_at: datetime) -> HttpRequest:
    """WeCom group robot: markdown, at most 4096 UTF-8 bytes; the URL's key authenticates."""
    content = _truncate_utf8(_markdown(env, "###"), WECOM_MAX_BYTES)
    return HttpRequest(env.url or "", _json_headers(env), _json({"msgtype": "markdown", "markdown": {"content": content}}))


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk 加签: base64 of HMAC-SHA256 keyed by the secret over "timestamp\\nsecret" (not yet URL-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def render_dingtalk(env: Envelope, signed_at: datetime) -> HttpRequest:
    """DingTalk custom robot: markdown; with a secret, ``timestamp`` (ms) and ``sign`` in the query."""
    m = env.message
    body = _json({"msgtype": "markdown", "markdown": {"title": m.title(env.language), "text": _markdown(env, "####")}})
    url = env.url or ""
    if env.secret:
        timestamp = str(int(signed_at.timestamp() * 1000))
        query = urllib.parse.urlencode({"timestamp": timestamp, "sign": dingtalk_sign(env.secret, timestamp)})
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    return HttpRequest(url, _json_headers(env), body)


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu 签名校验: base64 of HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def render_feishu(env: Envelope, signed_at: datetime) -> HttpRequest:
    """Feishu / Lark custom bot: a rich-text ``post`` in the channel's language; signed in the body."""
    m, lang, w = env.message, env.language, _words(env.language)
    rows = [[{"tag": "text", "text": f"{w['level']}: {level_label(m.level, lang)}"}]]
    rows += [[{"tag": "text", "text": line}] for line in m.text(lang).splitlines()]
    if m.link:
        rows.append([{"tag": "a", "text": w["open"], "href": m.link}])
    rows.append([{"tag": "text", "text": f"{w['seq']} #{env.seq}"}])
    data: dict = {}
    if env.secret:
        timestamp = str(int(signed_at.timestamp()))
        data.update(timestamp=timestamp, sign=feishu_sign(env.secret, timestamp))
    locale = "en_us" if lang == "en" else "zh_cn"
    data.update(msg_type="post", content={"post": {locale: {"title": m.title(lang), "content": rows}}})
    return HttpRequest(env.url or "", _json_headers(env), _json(data))


def _json_headers(env: Envelope) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, "X-Zicha-Id": env.id}


def render_email(env: Envelope, sender: str, signed_at: datetime) -> EmailMessage:
    """A plain-text UTF-8 mail; the Message-ID is the idempotency id, so a mail sent twice
    (a crash between send and commit) threads as one in mail clients."""
    m, lang, w = env.message, env.language, _words(env.language)
    mail = EmailMessage()
    mail["Subject"] = f"[{level_label(m.level, lang)}] {m.title(lang)}"
    mail["From"] = sender
    mail["To"] = ", ".join(env.config.get("to", []))
    mail["Date"] = format_datetime(signed_at)
    mail["Message-ID"] = f"<{env.id}@zicha>"
    mail["X-Zicha-Seq"] = str(env.seq)
    lines = [m.text(lang)]
    if m.link:
        lines += ["", f"{w['open']}: {m.link}"]
    lines += ["", f"{w['seq']} #{env.seq}"]
    mail.set_content("\n".join(lines), charset="utf-8")
    return mail


_RENDERERS = {
    ChannelKind.WEBHOOK: render_webhook,
    ChannelKind.WECOM: render_wecom,
    ChannelKind.DINGTALK: render_dingtalk,
    ChannelKind.FEISHU: render_feishu,
}


def send(env: Envelope, signed_at: datetime, settings: dict) -> None:
    """Deliver one envelope or raise :class:`DeliveryFailed`. ``settings`` is the app config
    (timeouts, SMTP relay)."""
    if env.kind is ChannelKind.EMAIL:
        _send_email(env, signed_at, settings)
        return
    request = _RENDERERS[env.kind](env, signed_at)
    timeout = settings["NOTIFY_TIMEOUT_SECONDS"]
    try:
        # No redirects: a 3xx to somewhere else is not an acceptance, and following it would
        # send the signed body to a place the admin never configured.
        answer = requests.post(request.url, data=request.body, headers=request.headers, timeout=(timeout, timeout), allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"HTTP {answer.status_code}: {answer.text[:200]}")
    if env.kind is not ChannelKind.WEBHOOK:
        _check_robot_answer(env.kind, answer)


def _check_robot_answer(kind: ChannelKind, answer: requests.Response) -> None:
    """The robots answer HTTP 200 even when they refuse; the JSON says whether it was accepted."""
    try:
        data = answer.json()
    except ValueError as exc:
        raise DeliveryFailed(f"answer is not JSON: {answer.text[:200]}") from exc
    if not isinstance(data, dict):
        raise DeliveryFailed(f"unexpected answer: {answer.text[:200]}")
    if kind is ChannelKind.FEISHU:
        code = data.get("code", data.get("StatusCode"))
        reason = data.get("msg", data.get("StatusMessage"))
    else:  # WeCom and DingTalk share errcode/errmsg
        code, reason = data.get("errcode"), data.get("errmsg")
    if code != 0:
        raise DeliveryFailed(f"{kind.value} refused: code={code} {reason}")


def _send_email(env: Envelope, signed_at: datetime, settings: dict) -> None:
    host = settings.get("SMTP_HOST")
    if not host:
        raise DeliveryFailed("SMTP is not configured (ZICHA_SMTP_HOST)")
    mail = render_email(env, settings["SMTP_FROM"], signed_at)
    security = (settings.get("SMTP_SECURITY") or "none").lower()
    if security not in ("none", "starttls", "ssl"):
        # Never fall back to plain text because of a typo in the setting.
        raise DeliveryFailed(f"SMTP_SECURITY must be none, starttls or ssl, not {security!r}")
    timeout = settings["NOTIFY_TIMEOUT_SECONDS"]
    try:
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, settings["SMTP_PORT"], timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, settings["SMTP_PORT"], timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.get("SMTP_USERNAME"):
                smtp.login(settings["SMTP_USERNAME"], settings.get("SMTP_PASSWORD") or "")
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from exc
