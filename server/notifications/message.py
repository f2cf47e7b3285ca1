"""What is said when something must reach a person: one message, in Chinese and English.

Alerts, escalations and digests build a :class:`Message`; ``server.notifications.services.enqueue``
writes it to the transactional outbox (in the caller's transaction) for every channel of the
enterprise and for each recipient's in-app inbox; the delivery worker renders it per channel
(WeCom / DingTalk / Feishu robots, signed webhooks, email) in the channel's or the recipient's
language.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    kind: str  # missed_check, late_check, failed_item, escalation, digest, test …
    title_zh: str
    title_en: str
    text_zh: str  # plain text, a few lines; robots and email show it as is
    text_en: str
    level: str = "info"  # a risk colour (red / orange / yellow / blue) or "info"
    link: str | None = None  # where a person acts on it (dashboard or API URL)
    facts: dict = field(default_factory=dict)  # machine-readable ids and keys, for webhooks

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_zh
