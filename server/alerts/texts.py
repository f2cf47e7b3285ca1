"""What alerts, escalations, corrections and digests say: Chinese first, English too.

Pure functions from plain values to :class:`server.notifications.message.Message` and to the
alert's stored title and summary, so the wording lives in one place and is tested without a
database. Channel renderers pick the language (``Message.title(lang)``); the in-app inbox shows
the stored zh/en pair.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from server.notifications.message import Message
from server.posts.models import RiskLevel

FREQUENCY_ZH = {"shift": "班检", "daily": "日检", "weekly": "周检", "monthly": "月检", "quarterly": "季检", "yearly": "年检"}
FREQUENCY_EN = {"shift": "per-shift", "daily": "daily", "weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly"}
RISK_EN = {"red": "red, major", "orange": "orange, significant", "yellow": "yellow, general", "blue": "blue, low"}
RISK_SHORT_ZH = {"red": "重大", "orange": "较大", "yellow": "一般", "blue": "低"}
LEVEL_ZH = {0: "岗位负责人", 1: "安全管理员", 2: "企业负责人"}
LEVEL_EN = {0: "the supervisor", 1: "the safety managers", 2: "the enterprise head"}
RISK_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
LIST_LIMIT = 20  # lines per section of a digest; the rest is counted, not listed


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _risk(value: str | RiskLevel) -> RiskLevel:
    return value if isinstance(value, RiskLevel) else RiskLevel(value)


def _duration_zh(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} 天"
    if minutes % 60 == 0:
        return f"{minutes // 60} 小时"
    return f"{minutes} 分钟"


def _duration_en(minutes: int) -> str:
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{minutes} minutes"  # pragma: no cover - 1 divides everything


@dataclass(frozen=True)
class Wording:
    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str


def missed_check_wording(post_name: str, risk: str | RiskLevel, frequency: str, period_key: str, closed_at: datetime, zone: str) -> Wording:
    """Title and summary of an alert for a missed check (漏检)."""
    risk = _risk(risk)
    frequency = getattr(frequency, "value", frequency)
    closed = _local(closed_at, zone)
    return Wording(
        f"漏检：{post_name}（{risk.zh}）",
        f"Missed check: {post_name} ({RISK_EN[risk.value]})",
        f"{post_name}的{FREQUENCY_ZH.get(frequency, frequency)}（周期 {period_key}）在 {closed} 周期结束时没有有效检查记录。",
        f"The {FREQUENCY_EN.get(frequency, frequency)} check of {post_name} for period {period_key} "
        f"had no valid record when the period closed at {closed} ({zone}).",
    )


def failed_item_wording(post_name: str, risk: str | RiskLevel, labels: Sequence[str | dict]) -> Wording:
    """Title and summary of an alert for a check with failed items on a red or orange post."""
    risk = _risk(risk)
    zh = [item.get("label", "") if isinstance(item, dict) else str(item) for item in labels]
    en = [(item.get("label_en") or item.get("label", "")) if isinstance(item, dict) else str(item) for item in labels]
    return Wording(
        f"检查不合格：{post_name}（{risk.zh}）",
        f"Failed items: {post_name} ({RISK_EN[risk.value]})",
        f"{post_name}的检查有 {len(zh)} 项不合格：{'、'.join(zh)}。",
        f"A check at {post_name} found {len(en)} failed item{'' if len(en) == 1 else 's'}: {', '.join(en)}.",
    )


GRADE_ZH = {"major": "重大隐患", "general": "一般隐患"}
GRADE_EN = {"major": "major hazard", "general": "general hazard"}


def overdue_hazard_wording(number: str, grade: str, description: str, post_name: str, deadline: datetime, zone: str) -> Wording:
    """Title and summary of an alert for a hazard past its rectification deadline (隐患逾期未整改)."""
    where_zh = f"（{post_name}）" if post_name else ""
    where_en = f" at {post_name}" if post_name else ""
    due = _local(deadline, zone)
    return Wording(
        f"隐患逾期未整改：{number}（{GRADE_ZH[grade]}）",
        f"Hazard overdue: {number} ({GRADE_EN[grade]})",
        f"{GRADE_ZH[grade]} {number}{where_zh}：{description}。整改期限 {due} 已过，尚未整改完成。",
        f"The {GRADE_EN[grade]} {number}{where_en} ({description}) was due to be rectified by {due} ({zone}) and is not.",
    )


def report_wording(report_id: int) -> Wording:
    """Title and summary of the alert for a new family report (家属举报). Deliberately bland — no
    site, no words of the reporter: a digest may carry it to a group chat, and what the report
    says is read in the report queue, behind its own access rules."""
    return Wording(
        f"新的家属举报待处理：#{report_id}",
        f"New family report to triage: #{report_id}",
        f"收到一条家属举报（#{report_id}），请在举报队列中查看、核实并答复。",
        f"A family report (#{report_id}) has arrived; review, verify and reply to it in the report queue.",
    )


def alert_message(alert, link: str, kind: str | None = None, title_prefix: tuple[str, str] = ("", ""), extra: tuple[str, str] = ("", "")) -> Message:
    """The notification for an alert (new, escalated or corrected): its title, summary and where to act."""
    risk = _risk(alert.risk_level).value
    text_zh = "\n".join(x for x in (alert.summary_zh, extra[0], f"查看并确认：{link}") if x)
    text_en = "\n".join(x for x in (alert.summary_en, extra[1], f"Review and acknowledge: {link}") if x)
    facts = {
        "alert_id": alert.id,
        "alert_kind": alert.kind,
        "enterprise_id": alert.enterprise_id,
        "post_id": alert.post_id,
        "risk_level": risk,
        "level": alert.level,
        "missed_check_id": alert.missed_check_id,
        "check_id": None if alert.check_id is None else str(alert.check_id),
        "schedule_id": alert.schedule_id,
        "period_key": alert.period_key,
    }
    return Message(
        kind=kind or alert.kind,
        title_zh=title_prefix[0] + alert.title_zh,
        title_en=title_prefix[1] + alert.title_en,
        text_zh=text_zh,
        text_en=text_en,
        level=risk,
        link=link,
        facts=facts,
    )


def escalation_message(alert, link: str, minutes: int | None) -> Message:
    """"Not acknowledged in time, now with <level>"."""
    waited_zh = f"{_duration_zh(minutes)}内" if minutes else ""
    waited_en = f" within {_duration_en(minutes)}" if minutes else ""
    return alert_message(
        alert,
        link,
        kind="escalation",
        title_prefix=("【升级】", "[Escalated] "),
        extra=(
            f"该提醒{waited_zh}未被确认，已升级至{LEVEL_ZH[alert.level]}。",
            f"Not acknowledged{waited_en}; escalated to {LEVEL_EN[alert.level]}.",
        ),
    )


def correction_message(alert, link: str, performed_at: datetime | None, received_at: datetime | None, zone: str) -> Message:
    """"The missed check was done after all, and arrived late": the miss stays on record."""
    if performed_at is not None and received_at is not None:
        when_zh = f"检查于 {_local(performed_at, zone)} 完成，{_local(received_at, zone)} 才同步到服务器。"
        when_en = f"The check was done at {_local(performed_at, zone)} and reached the server at {_local(received_at, zone)}."
    else:
        when_zh, when_en = "", ""
    return alert_message(
        alert,
        link,
        kind="late_check",
        title_prefix=("【更正：逾期补录】", "[Correction: done late, synced late] "),
        extra=(
            f"更正：该周期的检查已完成，但同步较晚（逾期补录）。{when_zh}漏检记录保留，该提醒不再升级。",
            f"Correction: the check for this period was done but synced late. {when_en} "
            "The miss stays on record; this alert no longer escalates.".replace("  ", " "),
        ),
    )


# --------------------------------------------------------------------------- the digest


@dataclass
class Tally:
    done: int = 0
    done_late: int = 0
    missed: int = 0
    pending: int = 0  # no check and no miss yet: within the sweep's grace, or paused

    @property
    def due(self) -> int:
        return self.done + self.done_late + self.missed + self.pending

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def zh(self) -> str:
        text = f"应查 {self.due}，按时完成 {self.done}，逾期补录 {self.done_late}，漏检 {self.missed}"
        return text + (f"，待判定 {self.pending}" if self.pending else "")

    def en(self) -> str:
        text = f"due {self.due}, done {self.done}, done late {self.done_late}, missed {self.missed}"
        return text + (f", not yet judged {self.pending}" if self.pending else "")


@dataclass(frozen=True)
class PeriodOutcome:
    """One schedule's period that closed on the digest's day, and what became of it."""

    post_id: int
    post_name: str
    site_name: str
    risk_level: str
    frequency: str
    period_key: str
    outcome: str  # done, done_late, missed, pending


@dataclass
class DigestContent:
    enterprise_name: str
    day: str
    outcomes: list[PeriodOutcome] = field(default_factory=list)
    open_alerts: list = field(default_factory=list)  # Alert rows, not resolved


def _more(count: int, zh: bool) -> list[str]:
    if count <= LIST_LIMIT:
        return []
    return [f"……另有 {count - LIST_LIMIT} 条" if zh else f"… and {count - LIST_LIMIT} more"]


def digest_message(content: DigestContent, locale: str, link: str) -> Message:
    """The daily digest (每日排查日报) for one person: yesterday's completion, misses, open alerts.

    Both languages are filled; ``locale`` ("zh" or "en") is recorded in the facts and decides
    nothing else, since every channel renders by ``Message.title(lang)``.
    """
    total = Tally()
    by_site: dict[str, Tally] = {}
    by_post: dict[tuple, Tally] = {}
    for o in content.outcomes:
        total.add(o.outcome)
        by_site.setdefault(o.site_name, Tally()).add(o.outcome)
        by_post.setdefault((RISK_ORDER[o.risk_level], o.post_name, o.post_id, o.site_name, o.risk_level), Tally()).add(o.outcome)
    misses = sorted((o for o in content.outcomes if o.outcome == "missed"), key=lambda o: (RISK_ORDER[o.risk_level], o.post_name, o.period_key))
    alerts = sorted(content.open_alerts, key=lambda a: (RISK_ORDER[_risk(a.risk_level).value], -a.created_at.timestamp(), a.id))
    colours = {r: sum(1 for a in alerts if _risk(a.risk_level).value == r) for r in RISK_ORDER}
    posts = sorted(by_post.items())

    zh = [f"{content.enterprise_name} · {content.day} 排查完成情况（当日结束的周期）：{total.zh()}"]
    en = [f"{content.enterprise_name} · {content.day} completion (periods that closed that day): {total.en()}"]
    if by_site:
        zh.append("按区域：")
        en.append("By site:")
        for name, tally in sorted(by_site.items())[:LIST_LIMIT]:
            zh.append(f"- {name}：{tally.zh()}")
            en.append(f"- {name}: {tally.en()}")
        zh += _more(len(by_site), True)
        en += _more(len(by_site), False)
        zh.append("按岗位：")
        en.append("By post:")
        for (_order, name, _id, site, risk), tally in posts[:LIST_LIMIT]:
            zh.append(f"- {name}（{site}，{_risk(risk).zh}）：{tally.zh()}")
            en.append(f"- {name} ({site}, {risk}): {tally.en()}")
        zh += _more(len(posts), True)
        en += _more(len(posts), False)
    zh.append(f"漏检 {len(misses)} 项" + ("：" if misses else "。"))
    en.append(f"Missed checks: {len(misses)}" + (":" if misses else "."))
    for o in misses[:LIST_LIMIT]:
        zh.append(f"- {o.post_name} {FREQUENCY_ZH.get(o.frequency, o.frequency)} {o.period_key}（{_risk(o.risk_level).zh}）")
        en.append(f"- {o.post_name} {FREQUENCY_EN.get(o.frequency, o.frequency)} {o.period_key} ({o.risk_level})")
    zh += _more(len(misses), True)
    en += _more(len(misses), False)
    zh.append(
        f"未处理提醒 {len(alerts)} 条（重大 {colours['red']}，较大 {colours['orange']}，一般 {colours['yellow']}，低 {colours['blue']}）"
        + ("：" if alerts else "。")
    )
    en.append(
        f"Open alerts: {len(alerts)} (red {colours['red']}, orange {colours['orange']}, yellow {colours['yellow']}, blue {colours['blue']})"
        + (":" if alerts else ".")
    )
    for a in alerts[:LIST_LIMIT]:
        state_zh = "已确认" if a.status.value == "acknowledged" else f"已至{LEVEL_ZH[a.level]}"
        state_en = "acknowledged" if a.status.value == "acknowledged" else f"with {LEVEL_EN[a.level]}"
        zh.append(f"- {a.title_zh}（{state_zh}）")
        en.append(f"- {a.title_en} ({state_en})")
    zh += _more(len(alerts), True)
    en += _more(len(alerts), False)
    zh.append(f"详情：{link}")
    en.append(f"Details: {link}")
    return Message(
        kind="digest",
        title_zh=f"每日排查日报 {content.day}",
        title_en=f"Daily self-check digest {content.day}",
        text_zh="\n".join(zh),
        text_en="\n".join(en),
        level="info",
        link=link,
        facts={
            "day": content.day,
            "locale": locale,
            "due": total.due,
            "done": total.done,
            "done_late": total.done_late,
            "missed": total.missed,
            "pending": total.pending,
            "open_alerts": len(alerts),
            "open_alerts_by_risk": colours,
        },
    )
