"""Five weeks of a working plant behind the demo enterprise, so every dashboard page has a past.

What happens: the workers check their posts every shift, day, week and month with their phones —
mostly on time, now and then late, a few times not at all; readings sometimes fail and open
hazard drafts and alerts; phones go offline and sync hours or days later (a miss is recorded by
the sweep and then corrected to *done late*); one phone is lost and revoked; a reactor area is
stopped for maintenance (停产检修) for three days; a checklist gets a second version; the safety
manager triages hazards through the closed loop (one 重大隐患 with its 五到位 plan, one past its
deadline); families report hazards through the public link; supervisors acknowledge and resolve
alerts with notes; the safety manager reviews photo evidence (one check questioned) and enters
the quarterly drill and the lightning test online (``POST /checks``).

How: nothing is written behind the services' backs. Every step is a call to the service the API
or the dashboard calls — phones push through :func:`server.push.services.push` with the
protocol's envelope (device clock readings, boots, anchors, ``device_seq``) and upload photos
through :func:`server.photos.services.ingest`; misses come from the real sweep; hazards and
reports move through their own transitions, their input loaded by the API's own schemas. Each
step runs at the moment it happened: for the duration a :class:`~server.clock.FrozenClock` is
installed as the app's clock and set to each step's time in order (a heap of timed steps; a step
may schedule later ones), and the original clock is put back at the end, whatever happens. Steps
that would fall after "now" are never run, which is what leaves recent things half-way: a draft
found this morning is still ``reported``, yesterday's miss is still open.

People act through a :class:`~server.accounts.auth.Principal` as the services expect: phones
through a real sign-in (device info, a token; again before the token runs out, and once more this
week, so the devices page's "last seen" is recent), the dashboard users (supervisors, the safety
manager, the admin) through a principal naming them (``token_id`` 0: no service reads it) — an
Argon2 check per dashboard session would double the load time and change no data.

Deterministic: one seeded :class:`random.Random` decides everything, record ids included, so two
loads at the same "now" make the same plant. Like the rest of :mod:`server.demo` it only
flushes; the caller commits.

The miss sweep's watermark is global. On a fresh database (README command 1) the history's
misses are recorded as they would have been; on a database whose sweep already ran past these
dates, the sweep does not look back and the history has no misses — everything else is the same.
"""
from __future__ import annotations

import contextlib
import hashlib
import heapq
import io
import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import User
from server.accounts.services import revoke_device, sign_in
from server.alerts import services as alerts
from server.alerts.models import Alert, AlertKind, AlertStatus
from server.alerts.schemas import AckIn, ResolveIn
from server.checklists.models import Checklist
from server.checklists.services import publish_version
from server.checks.follow_up import follow_up
from server.checks.models import Check, CheckPhoto
from server.checks.schemas import CheckReviewIn
from server.checks.services import review_check, submit_check
from server.clock import FrozenClock
from server.enterprises.calendar import enterprise_period
from server.enterprises.models import Enterprise, Site
from server.extensions import db
from server.hazards import services as hazards
from server.hazards.models import Hazard, HazardStatus
from server.hazards.schemas import AssignIn, ConfirmIn, HazardIn, RectifyIn, RejectIn, VerifyIn
from server.misses import services as misses
from server.misses.schemas import PauseIn
from server.photos import services as photos
from server.posts.models import Post, RiskLevel
from server.push.services import push
from server.reports import services as reports
from server.reports.models import FamilyReport
from server.reports.schemas import PayIn, ReportConfirmIn, ReportIn, ReportRejectIn, RewardIn
from server.schedules.models import Schedule
from server.demo.pictures import evidence_jpeg
from sync.client import push_envelope
from sync.periods import Frequency, Period
from sync.protocol import PushSchema, Result
from sync.records import CheckRecordSchema
from sync.timing import Anchor, Reading
from sync.windows import due_window

HISTORY_DAYS = 35
# The phones were handed out a week before the history starts, so the week's first checks
# (a weekly window may open up to six days before) had a phone to be made on.
ROLLOUT_DAYS = HISTORY_DAYS + 7
SEED = 20261123
UTC = timezone.utc

_PUSH = PushSchema()


# --------------------------------------------------------------------------- who and where

# username -> (install id, phone name, platform, camera make and model): the workers' phones
PHONES = {
    "zhangwei": ("demo-zhangwei-mate40", "张伟的华为 Mate 40", "android", ("HUAWEI", "NOH-AN00")),
    "liuyang": ("demo-liuyang-xiaomi13", "刘洋的小米 13", "android", ("Xiaomi", "2211133C")),
    "zhaolei": ("demo-zhaolei-reno7", "赵磊的 OPPO Reno7", "android", ("OPPO", "PFJM10")),
}
ZHAOLEI_NEW_PHONE = ("demo-zhaolei-vivox90", "赵磊的 vivo X90", "android", ("vivo", "V2241A"))

# Minutes after the due window opens when each post is reached on its round (then a few
# minutes' jitter): the warehouse round at 08:00, the shift handover round at 08:00 and 20:00.
ROUND_MINUTES = {
    "液氨储罐区": 5, "甲醇储罐区": 24, "甲类危化品库房": 43,
    "1号高压配电柜": 18, "2号低压配电柜": 25,
    "消防泵组": 24 * 60 + 60, "稳压泵及气压罐": 24 * 60 + 95,            # the Tuesday of the week
    "污水池有限空间入口": 2 * 24 * 60 + 90, "事故应急池入口": 2 * 24 * 60 + 130,  # the 3rd of the month
    "中控室": 2, "反应釜A区": 8, "反应釜B区": 14, "精馏塔区": 20,
}

RISK_COLOURS = {
    RiskLevel.RED: (150, 52, 52), RiskLevel.ORANGE: (170, 96, 32),
    RiskLevel.YELLOW: (128, 110, 24), RiskLevel.BLUE: (44, 92, 150),
}

# A good reading of each number item, and a bad one (outside its limits, still possible).
GOOD = {
    "gas_detector_reading": lambda r: r.choice([0, 0, 0, 1, 1, 2, 3]),
    "temperature": lambda r: round(r.uniform(8, 19), 1),
    "room_temperature": lambda r: round(r.uniform(17, 27), 1),
    "room_humidity": lambda r: r.randint(42, 68),
    "outlet_pressure": lambda r: round(r.uniform(0.72, 0.92), 2),
    "oxygen_content": lambda r: round(r.uniform(20.5, 20.9), 1),
    "reactor_temperature": lambda r: round(r.uniform(72, 81), 1),
    "reactor_pressure": lambda r: round(r.uniform(0.18, 0.32), 2),
    "participants": lambda r: r.randint(16, 34),
    "grounding_resistance": lambda r: round(r.uniform(1.2, 4.6), 1),
}
BAD = {
    "gas_detector_reading": lambda r: r.randint(22, 35),
    "room_humidity": lambda r: r.randint(77, 86),
    "outlet_pressure": lambda r: round(r.uniform(0.42, 0.55), 2),
    "reactor_temperature": lambda r: round(r.uniform(86, 91), 1),
}
HANDOVER_NOTES = [
    "装置运行平稳，无异常交接", "R-101 搅拌电机声音略大，已通知设备员跟踪", "DCS 一处高报已确认消除",
    "精馏塔回流量按工艺员要求调整", "本班完成取样 6 次，分析结果正常", "现场卫生已清理，工具归位",
]

# Per checklist: items that now and then fail, with the bad answer (a callable: a reading) and
# what the worker wrote.
FAILURES = {
    "warehouse_daily": [
        ("fire_extinguisher", False, "1 具干粉灭火器压力指针在红区，已更换备用灭火器"),
        ("exit_clear", False, "疏散通道临时堆放空托盘，已通知叉车班清理"),
        ("static_grounding", False, "装卸区静电接地夹锈蚀、接触不良"),
        ("gas_detector_reading", BAD["gas_detector_reading"], "报警器读数偏高，现场有轻微刺激性气味，已开启排风"),
        ("leakage", True, "阀门填料处有滴漏，已用接液盘收集"),
    ],
    "power_daily": [
        ("insulation_mat", False, "绝缘垫边缘开裂"),
        ("rodent_board", False, "挡鼠板未复位，电缆沟盖板有缝隙"),
        ("room_humidity", BAD["room_humidity"], "连续阴雨，湿度偏高，已开启除湿机"),
    ],
    "fire_pump_weekly": [
        ("control_auto", False, "控制柜处于手动位置，已恢复自动"),
        ("valve_status", "partly", "出水管检修阀未全开，已打开并铅封"),
    ],
    "confined_monthly": [
        ("rescue_equipment", False, "空气呼吸器气瓶压力不足，已送充装"),
        ("warning_sign", False, "警示告知牌褪色，字迹不清"),
    ],
    "workshop_shift": [
        ("ppe_worn", False, "取样时未戴防护面罩，已现场纠正"),
        ("dcs_alarms", "open", "温度高报警未消除，已通知工艺员"),
        ("leakage", True, "机泵机封有滴漏，已用接液盘收集"),
        ("reactor_temperature", BAD["reactor_temperature"], "反应温度超上限，已减少进料"),
        ("interlocks_on", False, "温度联锁临时旁路未及时恢复，已恢复投用"),
    ],
}
# The hazard type a failed item is graded as.
ITEM_TYPES = {
    "gas_detector_reading": "process", "temperature": "process", "leakage": "process", "reactor_temperature": "process",
    "reactor_pressure": "process", "dcs_alarms": "process", "interlocks_on": "instrument",
    "fire_extinguisher": "fire", "exit_clear": "fire", "control_auto": "fire", "valve_status": "fire", "outlet_pressure": "fire",
    "insulation_mat": "electrical", "cabinet_doors_closed": "electrical", "odor_noise": "electrical", "rodent_board": "electrical",
    "room_humidity": "electrical", "static_grounding": "electrical", "explosion_proof": "electrical",
}
MEASURES = {
    "process": "查明原因并处理，处理后复测确认；班组加强巡检",
    "instrument": "恢复联锁投用，按联锁管理制度办理旁路审批，仪表班复核",
    "fire": "恢复消防设施完好状态，纳入消防设施月度检查",
    "electrical": "更换或修复损坏部件，电工复核后恢复",
    "safety": "现场纠正并开展班组安全教育，班组长跟踪落实",
    "other": "按要求整改并复查",
}

MISS_ACKS = [
    "已电话联系当班人员，了解原因后安排补检", "已收到，正在核实原因", "当班人员临时处理设备故障，已安排补做",
    "已提醒当班人员，今后按时完成",
]
MISS_RESOLUTIONS = [
    "已补做检查，情况正常", "已对当班人员进行提醒教育，纳入班组考核", "已核实交接班记录，现场无异常",
]
FAILED_ACKS = ["已到现场查看，正在处理", "收到，已安排人员处理", "已通知当班人员采取措施"]
FAILED_RESOLUTIONS = ["现场已处理，隐患已登记按闭环流程跟踪", "已处理完毕，复测正常", "已整改，见隐患台账"]
DRAFT_REJECTIONS = [
    "复测读数正常，系仪表瞬时波动，不构成隐患",
    "经核实为录入错误，现场无异常",
]
RECTIFICATIONS = [
    "已按要求整改完毕，现场复查正常", "已更换损坏部件并复测合格", "已处理并对相关人员进行了教育",
]


# --------------------------------------------------------------------------- phones


@dataclass
class Phone:
    """A worker's phone as the sync protocol sees it: boots, a wall clock that may be wrong,
    time anchors learned from the server, a ``device_seq`` counter, an outbox and photos."""

    owner: str
    install_id: str
    name: str
    platform: str
    camera: tuple[str, str]
    boots: list[tuple[datetime, str]] = field(default_factory=list)
    offline: list[tuple[datetime, datetime]] = field(default_factory=list)
    clock_errors: list[tuple[datetime, datetime, timedelta]] = field(default_factory=list)
    skip_seq_after: datetime | None = None  # a record lost on the phone: the server sees a gap
    principal: Principal | None = None
    seq: int = 0
    anchors: dict[str, Anchor] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    photos: dict[str, bytes] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # photos not uploaded yet (weak signal)

    def boot(self, at: datetime) -> tuple[datetime, str]:
        return [b for b in self.boots if b[0] <= at][-1]

    def reading(self, at: datetime) -> Reading:
        started, boot_id = self.boot(at)
        return Reading(boot_id, int((at - started).total_seconds() * 1000), self.wall(at))

    def wall(self, at: datetime) -> datetime:
        """What the phone's own clock says at the true moment ``at``."""
        error = next((e for start, end, e in self.clock_errors if start <= at < end), timedelta(0))
        return at + error

    def back_online(self, at: datetime) -> datetime | None:
        """``at`` if the phone has a connection then, else when it gets one (None: never)."""
        for start, end in self.offline:
            if start <= at < end:
                return end
        return at

    def next_seq(self, at: datetime) -> int:
        self.seq += 1
        if self.skip_seq_after is not None and at >= self.skip_seq_after:
            self.seq += 1  # the record numbered before this one never left the phone
            self.skip_seq_after = None
        return self.seq


class _Office:
    """The safety manager's own camera, for checks entered from the office: its clock is right."""

    camera = ("Apple", "iPhone 13")

    @staticmethod
    def wall(at: datetime) -> datetime:
        return at


OFFICE_CAMERA = _Office()


@dataclass
class Visit:
    """One planned check: a schedule's period, who checks it and when, and what goes wrong."""

    schedule: Schedule
    key: str  # the checklist's key in data.CHECKLISTS
    period: Period
    user: str
    at: datetime
    failures: dict[str, tuple] = field(default_factory=dict)  # item id -> (value, note)
    hazard: dict | None = None  # a hazard the worker raises from a failed item on the phone
    hold_photo: bool = False


# --------------------------------------------------------------------------- the clock


@contextlib.contextmanager
def frozen_clock(at: datetime) -> Iterator[FrozenClock]:
    """Install a FrozenClock at ``at`` as the app's clock for the block; restore the original."""
    extensions = current_app.extensions
    original = extensions["zicha.clock"]
    frozen = FrozenClock(at)
    extensions["zicha.clock"] = frozen
    try:
        yield frozen
    finally:
        extensions["zicha.clock"] = original


def build(enterprise: Enterprise) -> None:
    """Give the freshly set-up demo ``enterprise`` its five weeks of history, ending now."""
    now = clock.now().replace(microsecond=0)
    with frozen_clock(now) as frozen:
        story = Story(enterprise, now, frozen)
        story.plan()
        story.run()


# --------------------------------------------------------------------------- the story


class Story:
    def __init__(self, enterprise: Enterprise, now: datetime, frozen: FrozenClock):
        from server.demo.data import CHECKLISTS, DEMO_CODE, DEMO_PASSWORD

        self.enterprise = enterprise
        self.eid = enterprise.id
        self.zone = ZoneInfo(enterprise.timezone)
        self.shifts = tuple(enterprise.shifts)
        self.now = now
        self.today = now.astimezone(self.zone).date()
        self.start = self.local(-HISTORY_DAYS, 0, 0)
        self.frozen = frozen
        self.code, self.password = DEMO_CODE, DEMO_PASSWORD
        self.rng = random.Random(SEED)
        self._queue: list = []
        self._running = False
        self._order = itertools.count()

        self.users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.enterprise_id == self.eid))}
        self.posts = {p.name: p for p in db.session.scalars(sa.select(Post).where(Post.enterprise_id == self.eid))}
        self.sites = {s.name: s for s in db.session.scalars(sa.select(Site).where(Site.enterprise_id == self.eid))}
        names = {c["name"]: key for key, c in CHECKLISTS.items()}
        self.checklists = {names[c.name]: c for c in db.session.scalars(sa.select(Checklist).where(Checklist.enterprise_id == self.eid))}
        self.key_of = {c.id: key for key, c in self.checklists.items()}
        self.schedules = list(db.session.scalars(sa.select(Schedule).where(Schedule.enterprise_id == self.eid).order_by(Schedule.id)))
        self.desk = {u.username: self._desk(u) for u in self.users.values()}

        self.phones: dict[str, Phone] = {}
        self.zhaolei_switch = self.local(-16, 17, 30)  # his new phone from then on
        self.visits: list[Visit] = []
        self.miss_notes: dict[tuple[int, str], tuple[str | None, str | None]] = {}
        self.hazard_ids: dict[str, int] = {}  # a phone's hazard record id -> the hazard
        self.hazard_script: dict[str, str] = {}  # a scripted phone hazard -> its record id
        self.triaged: set[int] = set()  # drafts the safety manager has on her list
        self.pause = (self.local(-17, 8, 0), self.local(-14, 8, 0))
        lookback = timedelta(days=current_app.config["MISS_LOOKBACK_DAYS"])
        grace = timedelta(minutes=current_app.config["MISS_GRACE_MINUTES"])
        # The first sweep ever looks back MISS_LOOKBACK_DAYS: run then, it starts exactly at the
        # history's beginning (before that the plant had no records to judge).
        self.first_sweep = self.start + lookback + grace
        self.grace = grace

    # ----------------------------------------------------------------- helpers

    def local(self, days: int, hour: int, minute: int = 0) -> datetime:
        """``days`` from today (negative: before) at ``hour:minute`` in the plant's zone, as UTC."""
        moment = datetime.combine(self.today + timedelta(days=days), time(hour, minute), self.zone)
        return moment.astimezone(UTC)

    def day_of(self, moment: datetime) -> int:
        return (moment.astimezone(self.zone).date() - self.today).days

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(self.rng.uniform(low, high) * 60))

    def office(self, moment: datetime, low: float, high: float) -> datetime:
        """``moment`` plus ``low``–``high`` minutes, moved to the next morning if that is at night."""
        return self._within_hours(moment, low, high, 7, 22, time(7, 40), 50)

    def working(self, moment: datetime, low: float, high: float) -> datetime:
        """``moment`` plus ``low``–``high`` minutes, moved into office hours (08:30–17:00)."""
        return self._within_hours(moment, low, high, 8, 17, time(8, 30), 60)

    def _within_hours(self, moment: datetime, low: float, high: float, opens: int, closes: int, start: time, spread: float) -> datetime:
        """``moment`` plus ``low``–``high`` minutes; outside ``opens``–``closes`` o'clock local, moved
        to ``start`` (plus up to ``spread`` minutes) of that morning or the next."""
        at = moment + self.minutes(low, high)
        local = at.astimezone(self.zone)
        if local.hour < opens or local.hour >= closes:
            morning = local.date() + timedelta(days=1 if local.hour >= closes else 0)
            at = datetime.combine(morning, start, self.zone).astimezone(UTC) + self.minutes(0, spread)
        return at

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _desk(self, user: User) -> Principal:
        """Someone working in the dashboard (no phone)."""
        return Principal(user.id, self.eid, user.role, None, 0, self.enterprise.timezone, self.shifts)

    def at(self, moment: datetime, step: Callable, *args) -> None:
        """Run ``step(*args)`` at ``moment`` (with the clock there); never if that is after now."""
        moment = moment.replace(microsecond=0)
        if moment > self.now:
            return
        if self._running and moment < self.frozen.now():
            moment = self.frozen.now()  # a follow-up never happens before what caused it
        heapq.heappush(self._queue, (moment, next(self._order), step, args))

    def run(self) -> None:
        self._running = True
        while self._queue:
            moment, _, step, args = heapq.heappop(self._queue)
            self.frozen.set(moment)  # steps come off the heap in time order: the clock only moves on
            step(*args)
        self.frozen.set(self.now)
        self.tick()  # what the job runner does first when the server starts

    # ----------------------------------------------------------------- the plan

    def plan(self) -> None:
        self.plan_phones()
        self.plan_checks()
        self.plan_last_sign_ins()
        self.plan_ticks()
        self.plan_people()
        self.plan_hazards()
        self.plan_reports()

    def plan_phones(self) -> None:
        rollout = self.local(-ROLLOUT_DAYS, 9, 0)
        for username, spec in PHONES.items():
            phone = Phone(username, *spec)
            self.phones[username] = phone
            self.at(rollout + timedelta(minutes=7 * len(self.phones)), self.sign_in, phone)
        new = Phone("zhaolei", *ZHAOLEI_NEW_PHONE)
        self.phones["zhaolei-new"] = new
        self.at(self.zhaolei_switch, self.sign_in, new)
        # Tokens live TOKEN_TTL_DAYS: the apps sign in again before theirs run out.
        renewal = rollout + timedelta(days=current_app.config["TOKEN_TTL_DAYS"] - 1)
        for username in ("zhangwei", "liuyang"):
            self.at(renewal + timedelta(hours=-2, minutes=len(username)), self.sign_in, self.phones[username])
        for phone in self.phones.values():
            first = rollout - timedelta(days=2) if phone is not new else self.zhaolei_switch - timedelta(hours=1)
            phone.boots.append((first, self._boot_id()))
            moment = first
            while moment < self.now:
                moment = datetime.combine((moment + timedelta(days=self.rng.randint(4, 9))).astimezone(self.zone).date(), time(3), self.zone)
                moment = moment.astimezone(UTC) + self.minutes(0, 120)
                phone.boots.append((moment, self._boot_id()))
        zhaolei, liuyang = self.phones["zhaolei"], self.phones["liuyang"]
        # 赵磊's data plan ran out for three nights (and the battery died once in between).
        zhaolei.offline.append((self.local(-26, 19, 0), self.local(-23, 7, 40)))
        zhaolei.boots.append((self.local(-25, 4, 12), self._boot_id()))
        zhaolei.boots.sort()
        # …and on the night of day -17 the phone was lost with that night's checks on it.
        zhaolei.offline.append((self.local(-17, 19, 45), self.now + timedelta(days=1)))
        # 刘洋 left his phone in the locker for a day and a half.
        liuyang.offline.append((self.local(-9, 7, 50), self.local(-8, 19, 10)))
        liuyang.clock_errors.append((self.local(-20, 0), self.local(-10, 0), timedelta(minutes=11)))  # set by hand, 11 min fast
        liuyang.skip_seq_after = self.local(-6, 0)
        for phone in (self.phones["zhangwei"], liuyang, self.phones["zhaolei-new"]):
            for day in self.rng.sample(range(-HISTORY_DAYS + 1, -1), 3):
                hour = self.rng.choice([8, 14, 20])
                begins = self.local(day, hour, 0)
                phone.offline.append((begins, begins + self.minutes(180, 540)))  # weak signal: synced hours later

    def plan_last_sign_ins(self) -> None:
        """An app update this week asked everyone to sign in again: the phones' last sign-in
        (and so what the devices page shows as last seen) is their last round."""
        for username in ("zhangwei", "liuyang", "zhaolei"):
            rounds = [v.at for v in self.visits if v.user == username and v.at > self.now - timedelta(days=2)]
            if rounds:
                moment = max(rounds) - timedelta(minutes=2)
                self.at(moment, self.sign_in, self.phone_of(username, moment))

    def _boot_id(self) -> str:
        return f"boot-{self.rng.getrandbits(64):016x}"

    def phone_of(self, username: str, moment: datetime) -> Phone:
        if username == "zhaolei" and moment >= self.zhaolei_switch:
            return self.phones["zhaolei-new"]
        return self.phones[username]

    def plan_checks(self) -> None:
        for schedule in self.schedules:
            key = self.key_of[schedule.checklist_id]
            period = enterprise_period(self.enterprise.timezone, self.shifts, schedule.frequency, self.start)
            while period.start < self.now:
                visit = self._visit(schedule, key, period)
                if visit is not None:
                    self.visits.append(visit)
                period = enterprise_period(self.enterprise.timezone, self.shifts, schedule.frequency, period.end)
        self._script_visits()
        for visit in self.visits:
            self.at(visit.at, self.check, visit)

    def _visit(self, schedule: Schedule, key: str, period: Period) -> Visit | None:
        post = schedule.post.name
        opens, closes = due_window(period, schedule.due_start_minutes, schedule.due_end_minutes)
        day = self.day_of(period.start)
        if post == "反应釜B区" and period.start < self.pause[1] and period.end > self.pause[0]:
            return None  # 停产检修
        if self._scripted_miss(schedule, period, post, day):
            return None
        frequency = schedule.frequency
        if frequency is Frequency.YEARLY:
            if post != "液氨储罐区":
                return None  # 1号高压配电柜's lightning test is still to do (overdue)
            at = self.local(-20, 14, 30)
        elif frequency is Frequency.QUARTERLY:
            at = self.local(-18, 14, 0)
            if not period.start <= at < period.end:
                at = opens + (min(closes, self.now) - opens) * 0.5
        else:
            at = opens + timedelta(minutes=ROUND_MINUTES[post])
            if frequency is Frequency.SHIFT:
                at += self.minutes(0, 4)
                if self.rng.random() < 0.05:
                    at = opens + self.minutes(35, 95)  # held up at the handover: late, still this shift
            elif frequency is Frequency.DAILY:
                at += self.minutes(0, 12)
                if self.rng.random() < 0.04:
                    at = closes + self.minutes(10, 150)  # past the window, still today
            else:
                at += self.minutes(0, 120)
            if period.end > self.first_sweep - self.grace and -1 >= day and frequency in (Frequency.SHIFT, Frequency.DAILY):
                if self.rng.random() < 0.02:
                    return None  # simply not done
        if not period.start <= at < min(period.end, self.now - timedelta(minutes=10)) or at < self.local(-ROLLOUT_DAYS, 12):
            return None
        user = self._performer(key, period)
        visit = Visit(schedule, key, period, user, at)
        if self.rng.random() < 0.03 and key in FAILURES:
            item, value, note = self.rng.choice(FAILURES[key])
            visit.failures[item] = (value(self.rng) if callable(value) else value, note)
        return visit

    def _performer(self, key: str, period: Period) -> str:
        if key == "workshop_shift":
            return "liuyang" if period.key.endswith("S1") else "zhaolei"
        if key in ("lightning_yearly", "emergency_drill_quarterly"):
            return "anquan"
        return "zhangwei"

    def _scripted_miss(self, schedule: Schedule, period: Period, post: str, day: int) -> bool:
        """The misses the story needs, with what the supervisor said about each."""
        notes = None
        if post == "甲类危化品库房" and day == -1:
            notes = (None, None)  # nobody has answered yet: the alert is open and climbing
        elif post == "2号低压配电柜" and day == -15:
            notes = ("张伟当天下午参加公司安全培训，未安排替班", "已通报排班疏漏，今后培训期间由班组长替班检查")
        elif post == "稳压泵及气压罐" and period.contains(self.local(-21, 12)):
            notes = ("本周泵房检修，漏排周检", "下周一已补做并恢复正常；周检纳入检修期间的交接内容")
        if notes is None:
            return False
        self.miss_notes[(schedule.id, period.key)] = notes
        return True

    def _script_visits(self) -> None:
        """Failed readings the story needs, on visits already planned."""
        def find(post: str, day: int | None, predicate=lambda v: True) -> Visit | None:
            found = [v for v in self.visits if v.schedule.post.name == post and (day is None or self.day_of(v.at) == day) and predicate(v)]
            return found[-1] if found else None

        ammonia = find("液氨储罐区", -20, lambda v: v.key == "warehouse_daily")
        if ammonia:
            ammonia.failures = {"gas_detector_reading": (26, "V-101 出口法兰处有氨味，报警器读数 26%LEL，已关闭根部阀并报告班组长")}
            ammonia.hazard = {"description": "V-101 出口法兰垫片渗漏，有明显氨味，已关闭根部阀", "hazard_type": "process", "item": "gas_detector_reading"}
        power = find("1号高压配电柜", -9)
        if power:
            power.failures = {"odor_noise": ("slight", "AH1 柜内有轻微焦糊味，已报告班组长")}
        column = find("精馏塔区", -5, lambda v: v.period.key.endswith("S2"))
        if column:
            column.failures = {"leakage": (True, "T-301 回流泵 P-303 机封滴漏，已用接液盘收集")}
        reactor = find("反应釜A区", -1, lambda v: v.period.key.endswith("S1"))
        if reactor:
            reactor.failures = {"reactor_temperature": (87.5, "冷却水量不足导致超温，已加大冷却水并降低进料，10 分钟后恢复 78℃")}
        pumps = find("消防泵组", None, lambda v: v.at < self.now - timedelta(hours=20))
        if pumps:
            pumps.failures = {"pump_test_run": ("abnormal", "2 号泵启动后出口压力上不去，疑似叶轮磨损")}
            pumps.hazard = {"description": "消防泵组 2 号泵试运行出口压力不足，疑似叶轮磨损", "hazard_type": "fire", "item": "pump_test_run", "script": "pump"}
            self.at(min(self.office(pumps.at, 18 * 60, 22 * 60), self.now), self.confirm_pump)
        latest = find("甲醇储罐区", None, lambda v: v.key == "warehouse_daily")
        if latest:
            latest.hold_photo = True  # its photo is still on the phone, waiting for a signal

    def plan_ticks(self) -> None:
        """The periodic jobs, at the moments their work falls due: misses two hours after a
        period closes (shift ends 08:00 and 20:00, days at midnight), escalations, overdue hazards."""
        self.at(self.first_sweep, self.tick)
        for day in range(-HISTORY_DAYS, 1):
            for hour in (2, 10, 22):
                moment = self.local(day, hour, 5)
                if moment > self.first_sweep:
                    self.at(moment, self.tick)

    def plan_people(self) -> None:
        """The dashboard work that is not about one hazard: a pause, a new checklist version, a lost phone."""
        self.at(self.local(-17, 7, 40), self.pause_post)
        self.at(self.local(-14, 10, 30), self.new_checklist_version)
        self.at(self.local(-16, 9, 40), self.revoke_lost_phone)
        self.at(self.local(-10, 15, 10), self.doubt_a_reading)

    # ----------------------------------------------------------------- phones at work

    def sign_in(self, phone: Phone) -> None:
        signed = sign_in(self.code, phone.owner, self.password, {"install_id": phone.install_id, "name": phone.name, "platform": phone.platform})
        user = signed.user
        phone.principal = Principal(user.id, self.eid, user.role, signed.device.id, signed.api_token.id, self.enterprise.timezone, self.shifts)

    def check(self, visit: Visit) -> None:
        """A worker makes a check on the phone (offline or not): a record in its outbox."""
        now = clock.now()
        if visit.user not in PHONES:
            return self.check_online(visit)
        phone = self.phone_of(visit.user, now)
        version = self.checklists[visit.key].current_version
        answers, pictures = self._answers(phone, visit, version.items, now)
        made = phone.reading(now)
        record_id = self.uuid()
        phone.outbox.append({
            "type": "check", "id": str(record_id), "device_seq": phone.next_seq(now), "schedule_id": visit.schedule.id,
            "checklist_version_id": version.id, "performed_at": self._iso(phone.wall(now)), "boot_id": made.boot_id,
            "uptime_ms": made.uptime_ms, "answers": answers, "note": "",
        })
        phone.photos.update(pictures)
        if visit.hold_photo:
            phone.held.update(pictures)
        if visit.hazard:
            self.at(now + timedelta(minutes=3), self.raise_on_phone, phone, visit, record_id)
        self._sync_later(phone, now)

    def check_online(self, visit: Visit) -> None:
        """The safety manager enters a check from the office (``POST /checks``): photos first."""
        now = clock.now()
        principal = self.desk[visit.user]
        version = self.checklists[visit.key].current_version
        answers, pictures = self._answers(OFFICE_CAMERA, visit, version.items, now)
        for digest, data in pictures.items():
            self.upload(principal, digest, data)
        record = CheckRecordSchema().load({
            "id": str(self.uuid()), "schedule_id": visit.schedule.id, "checklist_version_id": version.id,
            "performed_at": self._iso(now), "answers": answers,
        })
        submit_check(principal, record)
        self.after_checks([record["id"]])

    def raise_on_phone(self, phone: Phone, visit: Visit, check_id: uuid.UUID) -> None:
        """The worker raises a hazard from the check's failed item, with a photo of it."""
        spec = visit.hazard
        record_id = self._hazard_record(phone, visit.schedule.post, spec["description"], spec["hazard_type"],
                                        {"check_id": str(check_id), "check_item_id": spec["item"]})
        if spec.get("script"):
            self.hazard_script[spec["script"]] = record_id

    def report_on_phone(self, username: str, post: str, description: str, hazard_type: str, handle: dict) -> None:
        """A worker reports a hazard seen on the round, from the phone, with a photo."""
        handle["record"] = self._hazard_record(self.phone_of(username, clock.now()), self.posts[post], description, hazard_type, {})

    def _hazard_record(self, phone: Phone, post: Post, description: str, hazard_type: str, link: dict) -> str:
        """A hazard record in the phone's outbox (the sync protocol's ``hazard`` type); its id."""
        now = clock.now()
        picture = evidence_jpeg(post.name, [description[:18], description[18:36]], phone.wall(now).astimezone(self.zone),
                                RISK_COLOURS[post.risk_level], phone.camera)
        digest = hashlib.sha256(picture).hexdigest()
        phone.photos[digest] = picture
        made = phone.reading(now)
        record_id = str(self.uuid())
        phone.outbox.append({
            "type": "hazard", "id": record_id, "device_seq": phone.next_seq(now), "found_at": self._iso(phone.wall(now)),
            "boot_id": made.boot_id, "uptime_ms": made.uptime_ms, "description": description, "hazard_type": hazard_type,
            "source": "daily", "post_id": post.id, "photos": [digest], **link,
        })
        self._sync_later(phone, now)
        return record_id

    def _sync_later(self, phone: Phone, now: datetime) -> None:
        online = phone.back_online(now)
        if online is not None and online <= self.now:
            self.at(online + self.minutes(25, 45), self.sync, phone)  # once the round is done

    def sync(self, phone: Phone) -> None:
        """The phone pushes its outbox, learns the server's time, then uploads its photos."""
        now = clock.now()
        if not phone.outbox:
            return
        if phone.back_online(now) != now:
            return self._sync_later(phone, now)  # lost its connection since: later
        records, phone.outbox = phone.outbox[:200], phone.outbox[200:]
        sent = phone.reading(now)
        envelope = _PUSH.load(push_envelope(records, sent, list(phone.anchors.values())[-20:]))
        answer = push(phone.principal, envelope)
        phone.anchors[sent.boot_id] = Anchor(sent.boot_id, sent.uptime_ms, answer.server_time)
        check_ids = []
        for record, result in zip(records, answer.results):
            if result["result"] not in (Result.ACCEPTED, Result.AWAITING_PHOTOS):
                raise RuntimeError(f"demo record refused: {result}")
            if record["type"] == "check":
                check_ids.append(uuid.UUID(record["id"]))
            else:
                self.hazard_ids[record["id"]] = result["hazard_id"]
                if record["id"] in self.hazard_script.values():
                    self.triaged.add(result["hazard_id"])  # the story decides what becomes of it
        for digest in [d for d in phone.photos if d not in phone.held]:
            self.upload(phone.principal, digest, phone.photos.pop(digest))
        if check_ids:
            self.after_checks(check_ids)
        if phone.outbox:
            self.at(now + timedelta(minutes=1), self.sync, phone)

    def upload(self, principal: Principal, digest: str, data: bytes) -> None:
        with photos.received_body(io.BytesIO(data), digest) as path:
            photos.ingest(principal, digest, path)

    def _iso(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).isoformat(timespec="seconds")

    def _answers(self, phone: Phone | _Office, visit: Visit, items: list[dict], now: datetime) -> tuple[list[dict], dict[str, bytes]]:
        """What the worker answered, item by item, with a photo where one is needed (and of
        what failed, most of the time)."""
        rng, post = self.rng, visit.schedule.post
        answers, pictures = [], {}
        taken = phone.wall(now).astimezone(self.zone)
        who = self.users[visit.user].display_name
        for item in items:
            item_id, kind = item["id"], item["kind"]
            note = ""
            if item_id in visit.failures:
                value, note = visit.failures[item_id]
            elif kind == "yes_no":
                value = item.get("expected", True)
            elif kind == "number":
                value = GOOD[item_id](rng) if item_id in GOOD else item["min"]
            elif kind == "choice":
                fine = [o["value"] for o in item["options"] if o.get("ok", True)]
                value = fine[0] if len(fine) == 1 or rng.random() < 0.8 else rng.choice(fine)
            elif item_id == "handover_notes":
                value = rng.choice(HANDOVER_NOTES)
            elif item_id == "improvements":
                value = "部分员工佩戴空气呼吸器不熟练，下月组织专项培训；应急广播音量偏小，已报修"
            else:
                value = None if rng.random() < 0.92 else "无"
            if value is None:
                continue
            answer = {"item_id": item_id, "value": value, "note": note, "photos": []}
            # Required photos; most failed items (evidence of what is wrong); now and then a
            # reading photographed anyway.
            if item.get("photo_required") or (note and rng.random() < 0.7) or (item_id == "gas_detector_reading" and (visit.hold_photo or rng.random() < 0.12)):
                shown = self._shown(item, value)
                picture = evidence_jpeg(post.name, [item["label"][:16], shown, who], taken, RISK_COLOURS[post.risk_level], phone.camera)
                digest = hashlib.sha256(picture).hexdigest()
                pictures[digest] = picture
                answer["photos"] = [digest]
            answers.append(answer)
        return answers, pictures

    @staticmethod
    def _shown(item: dict, value) -> str:
        if item["kind"] == "number":
            return f"读数 {value} {item.get('unit', '')}".strip()
        if item["kind"] == "choice":
            return next(o["label"] for o in item["options"] if o["value"] == value)
        if item["kind"] == "yes_no":
            return "是" if value else "否"
        return str(value)[:20]

    # ----------------------------------------------------------------- consequences

    def after_checks(self, check_ids: list[uuid.UUID]) -> None:
        """What newly stored checks set off (drafts and alerts, raised by the jobs runner's next
        tick — here at once) gets its answer: supervisors answer the alerts, the safety manager
        triages the drafts."""
        now = clock.now()
        follow_up(check_ids)
        drafts = db.session.scalars(sa.select(Hazard.id).where(Hazard.check_id.in_(check_ids)).order_by(Hazard.id)).all()
        for hazard_id in drafts:
            if hazard_id not in self.triaged:
                self.triaged.add(hazard_id)
                self.at(self.working(now, 60, 300), self.triage, hazard_id)
        for alert in db.session.scalars(sa.select(Alert).where(Alert.check_id.in_(check_ids), Alert.kind == AlertKind.FAILED_ITEM.value)):
            self.answer_alert(alert, self.rng.choice(FAILED_ACKS), self.rng.choice(FAILED_RESOLUTIONS) if self.rng.random() < 0.7 else None)
        # The safety manager looks at photo evidence now and then.
        with_photos = db.session.scalars(sa.select(CheckPhoto.check_id).where(CheckPhoto.check_id.in_(check_ids)).distinct()).all()
        for check_id in sorted(with_photos):
            if self.rng.random() < 0.5:
                self.at(self.working(now, 20 * 60, 40 * 60), self.review, check_id, "reviewed", "照片清晰，记录完整")

    def review(self, check_id: uuid.UUID, verdict: str, note: str) -> None:
        data = CheckReviewIn().load({"verdict": verdict, "note": note})
        review_check(self.desk["anquan"], check_id, data["verdict"], data["note"])

    def doubt_a_reading(self) -> None:
        """The safety manager questions a check whose phone clock was wrong (the server dated it
        by the phone's monotonic clock and flagged it), so the worker gets the clock fixed."""
        checks = db.session.scalars(
            sa.select(Check).where(Check.enterprise_id == self.eid, Check.user_id == self.users["liuyang"].id, Check.performed_at < clock.now())
            .order_by(Check.performed_at.desc()).limit(40)
        ).all()
        flagged = next((c for c in checks if "device_clock_wrong" in (c.flags or [])), None)
        if flagged is not None:
            self.review(flagged.id, "questionable", "手机时间比服务器快约 11 分钟（记录已按服务器时间校正），请刘洋打开手机自动校时后再检查")

    def tick(self) -> None:
        """One turn of the periodic jobs (server/jobs/tasks.py), in their order."""
        now = clock.now()
        new = misses.sweep(now)
        for alert_id in alerts.raise_for_misses(new):
            alert = db.session.get(Alert, alert_id)
            self.answer_alert(alert, *self._miss_notes(alert))
        for alert_id in hazards.overdue(now):
            # The person responsible answers: why it is late, and what holds meanwhile.
            hazard = db.session.scalar(sa.select(Hazard).where(Hazard.overdue_alert_id == alert_id))
            note = "防爆风机备件未到货，已催采购，预计本周内到货；期间开门窗通风并每 2 小时检测一次" if "EF-03" in hazard.description else "整改延误，已落实临时管控措施，尽快完成"
            self.at(self.office(now, 40, 120), self.acknowledge, alert_id, db.session.get(User, hazard.responsible_id).username, note)
        alerts.escalate(now)

    def _miss_notes(self, alert: Alert) -> tuple[str | None, str | None]:
        """What the supervisor says about a miss: the story's words where it has them."""
        scripted = self.miss_notes.get((alert.schedule_id, alert.period_key))
        if scripted is not None:
            return scripted
        if alert.period_key.endswith(("-S1", "-S2")):
            day = (date.fromisoformat(alert.period_key[:10]) - self.today).days
            night = alert.period_key.endswith("-S2")
            if night and day in (-26, -25):
                return "赵磊反映手机流量用完，检查已按时完成，恢复网络后上传", "记录已同步，检查按时完成"
            if night and day == -17:
                return "赵磊的手机昨夜丢失，检查已做但记录未能上传", "已核对交接班记录本，检查已按时完成；丢失手机已注销"
            if not night and day == -9:
                return "刘洋手机落在更衣柜，检查已按时完成，待上传", "记录已同步，检查按时完成"
        if alert.period_key.count("-") == 1 and len(alert.period_key) == 7:  # a month
            opens = enterprise_period(self.enterprise.timezone, self.shifts, Frequency.MONTHLY, alert.created_at - timedelta(days=2)).start
            if opens < self.local(-ROLLOUT_DAYS, 9):
                return "该月检查在系统上线前完成，为纸质记录，未录入系统", "已核对纸质检查记录，检查已完成"
        return self.rng.choice(MISS_ACKS), (self.rng.choice(MISS_RESOLUTIONS) if self.rng.random() < 0.6 else None)

    def answer_alert(self, alert: Alert, ack: str | None, resolution: str | None) -> None:
        supervisor = db.session.get(User, alert.post.supervisor_id) if alert.post and alert.post.supervisor_id else self.users["anquan"]
        if ack is None:
            return
        acked = self.office(alert.created_at, 5, 50)
        self.at(acked, self.acknowledge, alert.id, supervisor.username, ack)
        if resolution is not None:
            self.at(acked + self.minutes(60, 600), self.resolve, alert.id, supervisor.username, resolution)

    def acknowledge(self, alert_id: int, username: str, note: str) -> None:
        if db.session.get(Alert, alert_id).status is AlertStatus.OPEN:
            alerts.acknowledge(self.desk[username], alert_id, AckIn().load({"note": note})["note"])

    def resolve(self, alert_id: int, username: str, note: str) -> None:
        alerts.resolve(self.desk[username], alert_id, ResolveIn().load({"note": note})["note"])

    # ----------------------------------------------------------------- the dashboard's work

    def pause_post(self) -> None:
        data = PauseIn().load({
            "post_id": self.posts["反应釜B区"].id, "reason": "停产检修：R-104～R-106 年度检修（计划 3 天）",
            "starts_at": self.pause[0].isoformat(), "ends_at": self.pause[1].isoformat(),
        })
        misses.create_pause(self.desk["chenzq"], data)

    def new_checklist_version(self) -> None:
        """The safety manager adds an item to the warehouse daily check (version 2)."""
        checklist = self.checklists["warehouse_daily"]
        items = [dict(i) for i in checklist.current_version.items]
        items.insert(-1, {"id": "emergency_kit", "kind": "yes_no", "label": "应急物资（防毒面具、洗眼器、吸附棉）齐全有效",
                          "label_en": "Emergency kit (gas masks, eyewash, absorbent) complete and usable"})
        publish_version(self.eid, checklist.id, items, self.users["anquan"].id)

    def revoke_lost_phone(self) -> None:
        device_id = self.phones["zhaolei"].principal.device_id
        revoke_device(self.eid, device_id, self.users["admin"].id)

    # ----------------------------------------------------------------- hazards

    def hid(self, handle: dict) -> int | None:
        """The hazard a scripted step is about (None: a phone's record that has not arrived yet)."""
        if "id" not in handle and handle.get("record") in self.hazard_ids:
            handle["id"] = self.hazard_ids[handle["record"]]
        return handle.get("id")

    def triage(self, hazard_id: int) -> None:
        """The safety manager looks at a draft from a failed item: not a hazard, or confirmed,
        assigned to the post's supervisor, fixed (on the spot or by a deadline) and verified."""
        hazard = db.session.get(Hazard, hazard_id)
        if hazard.status is not HazardStatus.REPORTED:
            return
        now = clock.now()
        if self.rng.random() < 0.15:
            hazards.reject(self.desk["anquan"], hazard_id, RejectIn().load({"reason": self.rng.choice(DRAFT_REJECTIONS)}))
            return
        kind = ITEM_TYPES.get(hazard.check_item_id or "", "safety")
        hazards.confirm(self.desk["anquan"], hazard_id, ConfirmIn().load({"grade": "general", "type": kind, "note": "现场核实属实，一般隐患"}))
        handle = {"id": hazard_id}
        supervisor = db.session.get(Post, hazard.post_id).supervisor.username
        on_the_spot = self.rng.random() < 0.6
        assigned = self.working(now, 10, 50)
        if on_the_spot:
            deadline = None
            fixed = assigned + self.minutes(60, 240)
        else:
            due_day = self.day_of(assigned) + self.rng.randint(2, 5)
            deadline = self.local(due_day, 17, 0)
            fixed = self.office(assigned, 20 * 60, 44 * 60)
            fixed = min(fixed, deadline - timedelta(hours=2))
        self.at(assigned, self.assign, handle, supervisor, deadline, MEASURES[kind])
        self.at(fixed, self.rectify, handle, supervisor, self.rng.choice(RECTIFICATIONS), self.rng.random() < 0.5)
        passed = self.rng.random() < 0.85
        verified = self.office(fixed, 120, 20 * 60)
        self.at(verified, self.verify, handle, passed, "复查合格，同意销号" if passed else "整改不彻底，退回重新整改",
                None if passed else self.local(self.day_of(verified) + 2, 17, 0))
        if not passed:
            again = self.office(verified, 120, 18 * 60)
            self.at(again, self.rectify, handle, supervisor, "已按复查意见重新整改", True)
            self.at(self.office(again, 120, 12 * 60), self.verify, handle, True, "复查合格，同意销号", None)

    def report(self, handle: dict, username: str, data: dict) -> None:
        handle["id"] = hazards.report(self.desk[username], HazardIn().load(data)).id

    def confirm(self, handle: dict, data: dict) -> None:
        hazards.confirm(self.desk["anquan"], self.hid(handle), ConfirmIn().load(data))

    def reject(self, handle: dict, reason: str) -> None:
        if self.hid(handle) is not None:
            hazards.reject(self.desk["anquan"], self.hid(handle), RejectIn().load({"reason": reason}))

    def assign(self, handle: dict, responsible: str, deadline: datetime | None, measures: str, extra: dict | None = None) -> None:
        data = {"responsible_id": self.users[responsible].id, "measures": measures, "mode": "by_deadline" if deadline else "on_the_spot"}
        if deadline is not None:
            data["deadline"] = deadline.isoformat()
        data.update(extra or {})
        hazards.assign(self.desk["anquan"], self.hid(handle), AssignIn().load(data))

    def rectify(self, handle: dict, username: str, description: str, with_photo: bool, cost: str | None = None) -> None:
        hazard = db.session.get(Hazard, self.hid(handle))
        if hazard.status is not HazardStatus.ASSIGNED:
            return
        data: dict = {"description": description}
        if with_photo:
            principal = self.desk[username]
            place = hazard.location or (db.session.get(Post, hazard.post_id).name if hazard.post_id else "")
            picture = evidence_jpeg(place[:14] or "整改现场", ["整改后", description[:18], self.users[username].display_name],
                                    clock.now().astimezone(self.zone), (46, 120, 80), ("HUAWEI", "ELS-AN00"))
            digest = hashlib.sha256(picture).hexdigest()
            self.upload(principal, digest, picture)
            data["photos"] = [digest]
        if cost is not None:
            data["cost"] = cost
        hazards.rectify(self.desk[username], hazard.id, RectifyIn().load(data))

    def verify(self, handle: dict, passed: bool, note: str, deadline: datetime | None) -> None:
        hazard = db.session.get(Hazard, self.hid(handle))
        if hazard.status is not HazardStatus.RECTIFIED:
            return
        data = {"passed": passed, "note": note}
        if deadline is not None:
            data["deadline"] = deadline.isoformat()
        hazards.verify(self.desk["anquan"], hazard.id, VerifyIn().load(data))

    def plan_hazards(self) -> None:
        """Hazards found outside the checklists, one for each place in the closed loop."""
        L = self.local

        # 重大隐患, assigned with its whole 五到位 plan; the deadline is still ahead.
        major: dict = {}
        self.at(L(-21, 10, 30), self.report, major, "chenzq", {
            "post_id": self.posts["反应釜A区"].id, "type": "process", "source": "specialized",
            "description": "R-102 紧急切断阀 XV-1021 联锁测试关闭时间 8 秒，超过设计要求的 2 秒；SIS 联锁回路存在失效风险",
            "basis": "SIS 联锁回路年度测试记录；紧急切断阀应满足设计关闭时间",
        })
        self.at(L(-20, 9, 30), self.confirm, major, {"grade": "major", "note": "经设备科、仪表班共同确认，判定为重大隐患，已报告主要负责人"})
        self.at(L(-20, 11, 0), self.assign, major, "chenzq", L(5, 17, 0),
                "更换 XV-1021 执行机构并重新进行联锁回路测试；整改期间 R-102 降负荷运行，现场巡检加密至每 2 小时一次",
                {"funds": "48000.00", "responsible_department": "生产车间、设备科",
                 "emergency_measures": "整改期间手动切断阀旁专人值守；修订 R-102 超温超压现场处置方案并组织班组演练"})

        # Past its deadline, nobody rectified it: the overdue sweep raises its alert.
        overdue: dict = {}
        self.at(L(-16, 14, 10), self.report, overdue, "wangjun", {
            "post_id": self.posts["甲类危化品库房"].id, "type": "equipment", "source": "daily",
            "description": "库房东墙防爆轴流风机 EF-03 轴承损坏停转，库内机械通风不足",
        })
        self.at(L(-15, 9, 20), self.confirm, overdue, {"grade": "general", "basis": "甲类库房应保持良好通风，通风设施完好有效"})
        self.at(L(-15, 10, 0), self.assign, overdue, "wangjun", L(-4, 17, 0), "更换 EF-03 轴承（或整机），修复前开启门窗自然通风并加强可燃气体检测")

        # Rectified, waiting for the safety manager's verification.
        mat: dict = {}
        self.at(L(-6, 15, 0), self.report, mat, "anquan", {
            "post_id": self.posts["1号高压配电柜"].id, "type": "electrical", "source": "comprehensive",
            "description": "10kV 高压室 AH1 柜前绝缘垫破损约 20cm",
        })
        self.at(L(-6, 15, 10), self.confirm, mat, {"grade": "general"})
        self.at(L(-6, 15, 20), self.assign, mat, "wangjun", L(-2, 17, 0), "更换柜前绝缘垫（10kV，5mm）")
        self.at(L(-3, 11, 0), self.rectify, mat, "wangjun", "已更换 10kV 绝缘垫（5mm 厚），铺设平整", True, "680.00")

        # Closed after one failed verification.
        guard: dict = {}
        self.at(L(-13, 9, 50), self.report, guard, "chenzq", {
            "post_id": self.posts["精馏塔区"].id, "type": "equipment", "source": "daily",
            "description": "塔底泵 P-302 联轴器防护罩缺失",
        })
        self.at(L(-13, 11, 0), self.confirm, guard, {"grade": "general"})
        self.at(L(-13, 11, 20), self.assign, guard, "chenzq", L(-10, 17, 0), "恢复联轴器防护罩并紧固")
        self.at(L(-11, 15, 0), self.rectify, guard, "chenzq", "已加装联轴器防护罩", True, "350.00")
        self.at(L(-10, 9, 30), self.verify, guard, False, "防护罩固定螺栓缺 2 颗，退回重新整改", L(-8, 17, 0))
        self.at(L(-9, 14, 0), self.rectify, guard, "chenzq", "已补齐固定螺栓并紧固", True)
        self.at(L(-8, 10, 0), self.verify, guard, True, "复查合格，同意销号", None)

        # Closed on the spot.
        spray: dict = {}
        self.at(L(-25, 9, 15), self.report, spray, "wangjun", {
            "post_id": self.posts["液氨储罐区"].id, "type": "fire", "source": "daily",
            "description": "喷淋水幕 3 个喷头堵塞，试喷时出水不均",
        })
        self.at(L(-25, 10, 0), self.confirm, spray, {"grade": "general"})
        self.at(L(-25, 10, 10), self.assign, spray, "wangjun", None, "疏通或更换堵塞喷头并试喷")
        self.at(L(-25, 15, 30), self.rectify, spray, "wangjun", "已拆洗 2 个、更换 1 个喷头，试喷均匀", True, "260.00")
        self.at(L(-24, 9, 0), self.verify, spray, True, "试喷复查合格，同意销号", None)

        # Reported from a phone and found not to be a hazard.
        sign: dict = {}
        self.at(L(-11, 9, 40), self.report_on_phone, "liuyang", "污水池有限空间入口", "污水池人孔旁警示牌看不清", "safety", sign)
        self.at(L(-10, 10, 0), self.reject, sign, "现场核实警示牌完好、字迹清晰，系照片反光所致")

        # Reported from a phone yesterday: nobody has looked at it yet.
        rail: dict = {}
        self.at(L(-1, 15, 20), self.report_on_phone, "liuyang", "精馏塔区", "T-301 三层平台护栏一处焊缝开裂", "safety", rail)


    def confirm_pump(self) -> None:
        """The hazard raised on the phone from the failed pump test run (a yellow post: no
        automatic draft) is confirmed the next day — or as soon as it has arrived."""
        record = self.hazard_script.get("pump")
        if record not in self.hazard_ids:
            self.at(clock.now() + timedelta(minutes=30), self.confirm_pump)
            return
        hazards.confirm(self.desk["anquan"], self.hazard_ids[record], ConfirmIn().load({"grade": "general", "note": "已联系泵厂家来检修"}))

    # ----------------------------------------------------------------- family reports

    def plan_reports(self) -> None:
        L = self.local
        fixed, fixing, rumour, blocked = {}, {}, {}, {}
        site = self.sites
        self.at(L(-40, 9, 0), self.open_report_link)
        self.at(L(-26, 20, 15), self.family_report, fixed, {
            "description": "厂区南门外围墙边堆放了很多空的化学品桶，有刺鼻气味，下雨时有液体流到路边",
            "location": "南门外围墙边（靠近公交站）", "anonymous": True,
        }, True)
        self.at(L(-25, 9, 10), self.confirm_report, fixed, "safety", "感谢您的举报！经核实，该处为废包装桶临时堆放点，已安排清运并设置围堰和警示标识。")
        self.at(L(-25, 9, 40), self.assign, fixed, "wangjun", L(-20, 17, 0), "废包装桶清运至危废暂存间，原地设置围堰，雨水沟清理")
        self.at(L(-23, 16, 0), self.rectify, fixed, "wangjun", "废桶已全部清运入危废暂存间，堆放点已清理并设置警示标识", True, "1200.00")
        self.at(L(-22, 10, 0), self.verify, fixed, True, "现场复查已清理干净，同意销号", None)
        self.at(L(-22, 10, 30), self.reward, fixed, "200.00")
        self.at(L(-20, 15, 0), self.pay_reward, fixed)

        self.at(L(-10, 21, 30), self.family_report, fixing, {
            "description": "我爱人在合成工段上夜班，他说有时候取样没有戴防护面罩，我很担心他的安全，希望厂里管一管。",
            "site_id": site["合成工段"].id, "contact": "王女士 13800001234（赵磊爱人）",
        }, False)
        self.at(L(-9, 9, 0), self.confirm_report, fixing, "safety", "您好，已收到。车间正在组织夜班取样作业专项检查，并为各取样点配备防护面罩，感谢您的关心。")
        self.at(L(-9, 10, 0), self.assign, fixing, "chenzq", L(3, 17, 0), "取样点配备防护面罩；夜班取样作业专项检查；班组安全教育")

        self.at(L(-7, 12, 5), self.family_report, rumour, {
            "description": "听说配电室经常有老鼠，会不会引起短路着火？", "site_id": site["配电室"].id, "anonymous": True,
        }, False)
        self.at(L(-6, 9, 30), self.reject_report, rumour, "经核查，配电室挡鼠板和电缆孔洞封堵完好，近一个月巡检均未发现鼠迹。感谢您的关心，欢迎继续监督。")

        self.at(L(-1, 21, 40), self.family_report, blocked, {
            "description": "厂区东侧消防通道晚上经常停着货车，把通道堵死了", "location": "东门进去右手边的消防通道", "anonymous": True,
        }, True)

    def open_report_link(self) -> None:
        reports.settings_of(self.eid)  # the public link, printed on the notices at the gates

    def family_report(self, handle: dict, data: dict, with_photo: bool) -> None:
        token = reports.settings_of(self.eid).link_token
        files = []
        if with_photo:
            files.append(io.BytesIO(evidence_jpeg("家属拍摄", [data["description"][:16], data["description"][16:32]],
                                                  clock.now().astimezone(self.zone), (90, 90, 96), ("Apple", "iPhone 12"))))
        reports.submit(token, ReportIn().load(data), files)
        handle["report"] = db.session.scalar(sa.select(sa.func.max(FamilyReport.id)).where(FamilyReport.enterprise_id == self.eid))

    def confirm_report(self, handle: dict, hazard_type: str, reply: str) -> None:
        report = reports.confirm(self.desk["anquan"], handle["report"], ReportConfirmIn().load({"type": hazard_type, "reply": reply}))
        handle["id"] = report.hazard_id
        hazards.confirm(self.desk["anquan"], report.hazard_id, ConfirmIn().load({"grade": "general", "note": "家属举报，经核实属实"}))

    def reject_report(self, handle: dict, reply: str) -> None:
        reports.reject(self.desk["anquan"], handle["report"], ReportRejectIn().load({"reply": reply}))

    def reward(self, handle: dict, amount: str) -> None:
        reports.grant_reward(self.desk["anquan"], handle["report"], RewardIn().load({"amount": amount, "note": "举报属实，按《安全生产举报奖励办法》发放"}))

    def pay_reward(self, handle: dict) -> None:
        report = reports.get_report(self.desk["anquan"], handle["report"])
        reports.pay_reward(self.desk["anquan"], report.id, report.rewards[0].id, PayIn().load({"note": "已通过南门保安室转交"}))
