"""The demo enterprise: a realistic Chinese fine-chemicals plant (华东精细化工有限公司).

Everything is declared in the module-level tables below and created only through the service
functions, so the demo obeys exactly the rules the API does (checklist items are validated by
the same ``ItemListSchema`` the checklist endpoint uses). ``load_demo`` only flushes; the
caller commits. Every demo user shares :data:`DEMO_PASSWORD` — this is demo data, never
production data.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.models import Role
from server.accounts.services import create_user, list_users
from server.checklists.services import create_checklist
from server.checks.models import Check
from server.enterprises.models import Enterprise
from server.enterprises.services import create_enterprise, create_site
from server.extensions import db
from server.hazards.models import Hazard
from server.misses.models import MissedCheck
from server.posts.models import Post, RiskLevel
from server.posts.services import create_post, qr_url
from server.reports.models import ReportSettings
from server.reports.services import public_url
from server.schedules.services import create_schedule
from sync.periods import Frequency
from sync.records import ItemListSchema

DEMO_CODE = "demo"
DEMO_PASSWORD = "zicha-demo-2026"  # all demo users share it (demo only)

H = 60          # minutes in an hour: due windows are minutes from the period's start
DAY = 24 * H

ENTERPRISE = {
    "code": DEMO_CODE,
    "name": "华东精细化工有限公司",
    "timezone": "Asia/Shanghai",
    "shifts": ["08:00", "20:00"],  # two 12-hour shifts (白班/夜班), usual in a chemical plant
}

# (key, name, parent key)
SITES = [
    ("warehouse", "危化品仓库", None),
    ("power", "配电室", None),
    ("fire", "消防泵房", None),
    ("confined", "有限空间作业点", None),
    ("workshop", "生产车间", None),
    ("synthesis", "合成工段", "workshop"),
    ("distillation", "精馏工段", "workshop"),
]

# (username, display name, role)
USERS = [
    ("admin", "周建华", Role.ADMIN),
    ("anquan", "李秀梅", Role.SAFETY_MANAGER),
    ("wangjun", "王军", Role.SUPERVISOR),       # 储运及公用工程班组长
    ("chenzq", "陈志强", Role.SUPERVISOR),      # 生产车间主任
    ("zhangwei", "张伟", Role.WORKER),
    ("liuyang", "刘洋", Role.WORKER),
    ("zhaolei", "赵磊", Role.WORKER),
]

# (name, site key, risk level, location, supervisor username)
POSTS = [
    ("液氨储罐区", "warehouse", RiskLevel.RED, "罐区东侧 V-101/V-102", "wangjun"),
    ("甲醇储罐区", "warehouse", RiskLevel.ORANGE, "罐区西侧 V-201", "wangjun"),
    ("甲类危化品库房", "warehouse", RiskLevel.ORANGE, "仓库1号库", "wangjun"),
    ("1号高压配电柜", "power", RiskLevel.ORANGE, "10kV 高压室 AH1", "wangjun"),
    ("2号低压配电柜", "power", RiskLevel.YELLOW, "0.4kV 低压室 AA2", "wangjun"),
    ("消防泵组", "fire", RiskLevel.YELLOW, "消防泵房一层 XBD-1/2", "wangjun"),
    ("稳压泵及气压罐", "fire", RiskLevel.BLUE, "消防泵房一层北侧", "wangjun"),
    ("污水池有限空间入口", "confined", RiskLevel.RED, "污水处理站 调节池人孔", "chenzq"),
    ("事故应急池入口", "confined", RiskLevel.ORANGE, "厂区南侧 事故池检修口", "chenzq"),
    ("反应釜A区", "synthesis", RiskLevel.RED, "合成厂房二层 R-101～R-103", "chenzq"),
    ("反应釜B区", "synthesis", RiskLevel.ORANGE, "合成厂房二层 R-104～R-106", "chenzq"),
    ("精馏塔区", "distillation", RiskLevel.ORANGE, "精馏框架 T-301", "chenzq"),
    ("中控室", "workshop", RiskLevel.BLUE, "综合楼一层 DCS 中控室", "chenzq"),
]


def _yes_no(id, label, label_en, **extra):
    return {"id": id, "kind": "yes_no", "label": label, "label_en": label_en, **extra}


def _number(id, label, label_en, unit, ok, valid, **extra):
    """A reading: ``ok`` = (min, max) of a good reading, ``valid`` = (valid_min, valid_max) of a possible one."""
    return {"id": id, "kind": "number", "label": label, "label_en": label_en, "unit": unit,
            "min": ok[0], "max": ok[1], "valid_min": valid[0], "valid_max": valid[1], **extra}


def _choice(id, label, label_en, options, **extra):
    """``options``: (value, label, label_en, ok) tuples."""
    opts = [{"value": v, "label": zh, "label_en": en, "ok": ok} for v, zh, en, ok in options]
    return {"id": id, "kind": "choice", "label": label, "label_en": label_en, "options": opts, **extra}


def _text(id, label, label_en, required=False, **extra):
    return {"id": id, "kind": "text", "label": label, "label_en": label_en, "required": required, **extra}


_REMARKS = _text("remarks", "其他发现或备注", "Other findings or remarks", max_length=500)

# key -> checklist (name, description, items). Item ids are stable readable slugs.
CHECKLISTS = {
    "warehouse_daily": {
        "name": "危化品仓库日检",
        "description": "危险化学品储存场所每日安全检查（储罐区、库房）",
        "items": [
            _yes_no("fire_extinguisher", "消防器材在位有效（灭火器压力在绿区、未过期）", "Fire extinguishers in place and serviceable"),
            _yes_no("exit_clear", "安全出口、疏散通道畅通", "Emergency exits and escape routes clear"),
            _number("gas_detector_reading", "可燃气体报警器读数", "Combustible gas detector reading", "%LEL",
                    (0, 20), (0, 100), help="读数超过 20%LEL 时拍摄报警控制器显示屏并立即报告班组长"),
            _number("temperature", "库区/罐区温度", "Storage area temperature", "℃", (-10, 30), (-40, 70)),
            _yes_no("explosion_proof", "防爆电气、防爆灯具完好", "Explosion-proof fittings intact"),
            _yes_no("static_grounding", "静电接地装置连接完好", "Static grounding connected and intact"),
            _yes_no("leakage", "有无跑冒滴漏", "Any leak, spill or drip", expected=False),
            _yes_no("segregation", "禁忌物料分区分类存放、标识清楚", "Incompatible materials segregated and labelled"),
            _REMARKS,
        ],
    },
    "power_daily": {
        "name": "配电室巡检",
        "description": "高低压配电室每日巡检",
        "items": [
            _yes_no("insulation_mat", "绝缘垫铺设完好、无破损", "Insulating mats in place and undamaged"),
            _yes_no("cabinet_doors_closed", "配电柜门关闭、闭锁完好", "Cabinet doors closed and locked"),
            _number("room_temperature", "室内温度", "Room temperature", "℃", (5, 35), (-30, 70)),
            _number("room_humidity", "室内相对湿度", "Relative humidity", "%RH", (0, 75), (0, 100)),
            _choice("odor_noise", "有无异味、异响", "Unusual smell or noise", [
                ("none", "无", "None", True),
                ("slight", "轻微异味/异响", "Slight smell or noise", False),
                ("burning", "焦糊味或放电声", "Burning smell or arcing sound", False),
            ]),
            _yes_no("rodent_board", "挡鼠板完好、电缆孔洞封堵", "Rodent boards and cable openings sealed"),
            _yes_no("warning_signs", "“止步，高压危险”等警示标识齐全", "Warning signs in place"),
            _REMARKS,
        ],
    },
    "fire_pump_weekly": {
        "name": "消防泵房周检",
        "description": "消防泵组每周试运行及设施检查",
        "items": [
            _choice("pump_test_run", "泵组试运行", "Pump test run", [
                ("normal", "正常", "Normal", True),
                ("abnormal", "异常", "Abnormal", False),
            ], photo_required=True),
            _number("outlet_pressure", "出口压力", "Outlet pressure", "MPa", (0.6, 1.2), (0, 2.5)),
            _choice("valve_status", "阀门状态", "Valve status", [
                ("open", "常开阀门全开、铅封完好", "Normally-open valves fully open, sealed", True),
                ("partly", "部分关闭", "Partly closed", False),
                ("closed", "关闭", "Closed", False),
            ]),
            _yes_no("control_auto", "控制柜处于“自动”状态", "Control cabinet set to automatic"),
            _yes_no("tank_level", "消防水池/水箱水位正常", "Fire water tank level normal"),
            _yes_no("pump_room_tidy", "泵房无杂物、照明及排水正常", "Pump room tidy, lighting and drainage working"),
            _REMARKS,
        ],
    },
    "confined_monthly": {
        "name": "有限空间月检",
        "description": "有限空间作业点每月安全条件检查",
        "items": [
            _yes_no("warning_sign", "入口警示标识、告知牌完好", "Entry warning signs intact"),
            _yes_no("entry_locked", "入口盖板/人孔已锁闭", "Entry cover or manhole locked"),
            _yes_no("ventilation", "通风设备完好可用", "Ventilation equipment working"),
            _yes_no("gas_detector_calibrated", "气体检测仪在标定有效期内", "Gas detector within calibration date", photo_required=True),
            _number("oxygen_content", "入口处氧含量", "Oxygen content at entry", "%VOL", (19.5, 23.5), (0, 100)),
            _yes_no("rescue_equipment", "救援三脚架、安全绳、空气呼吸器齐全", "Rescue tripod, lifeline and breathing apparatus present"),
            _yes_no("permit_system", "作业审批（先通风、再检测、后作业）落实", "Entry permit procedure followed"),
            _REMARKS,
        ],
    },
    "workshop_shift": {
        "name": "生产车间交接班检查",
        "description": "每班交接时对反应、精馏装置的安全检查",
        "items": [
            _number("reactor_temperature", "反应温度", "Reaction temperature", "℃", (60, 85), (-20, 300)),
            _number("reactor_pressure", "反应压力", "Reaction pressure", "MPa", (0.1, 0.4), (0, 2.5)),
            _choice("dcs_alarms", "DCS 报警情况", "DCS alarms", [
                ("none", "无报警", "No alarms", True),
                ("handled", "有报警已处理", "Alarms handled", True),
                ("open", "有未处理报警", "Unhandled alarms", False),
            ]),
            _yes_no("interlocks_on", "安全联锁全部投用", "All safety interlocks in service"),
            _yes_no("ppe_worn", "劳动防护用品穿戴规范", "PPE worn correctly"),
            _yes_no("leakage", "有无跑冒滴漏", "Any leak, spill or drip", expected=False),
            _text("handover_notes", "交接班事项", "Handover notes"),
        ],
    },
    "emergency_drill_quarterly": {
        "name": "应急预案演练",
        "description": "每季度至少一次综合或专项应急演练",
        "items": [
            _yes_no("drill_held", "本季度已按计划组织演练", "Drill held as planned this quarter", photo_required=True),
            _choice("drill_type", "演练类型", "Drill type", [
                ("comprehensive", "综合演练", "Comprehensive drill", True),
                ("special", "专项演练", "Special drill", True),
                ("onsite", "现场处置方案演练", "On-site response drill", True),
            ]),
            _number("participants", "参演人数", "Participants", "人", (5, None), (0, 2000)),
            _yes_no("evaluation_done", "演练评估及总结已完成", "Drill evaluated and summarised"),
            _text("improvements", "发现问题及改进措施", "Problems found and improvements", required=True),
        ],
    },
    "lightning_yearly": {
        "name": "防雷防静电检测",
        "description": "每年雨季前由有资质单位完成防雷防静电检测",
        "items": [
            _yes_no("report_valid", "检测报告在有效期内", "Inspection report valid", photo_required=True),
            _number("grounding_resistance", "接地电阻", "Grounding resistance", "Ω", (0, 10), (0, 1000)),
            _yes_no("lightning_rod", "避雷针/带无锈蚀、断裂", "Lightning rods and strips intact"),
            _yes_no("bonding_jumpers", "法兰跨接完好", "Flange bonding jumpers intact"),
            _REMARKS,
        ],
    },
}

# (post name, checklist key, frequency, due_start_minutes, due_end_minutes, responsible username or
# None for the post's supervisor)
SCHEDULES = [
    ("液氨储罐区", "warehouse_daily", Frequency.DAILY, 8 * H, 10 * H, None),
    ("液氨储罐区", "lightning_yearly", Frequency.YEARLY, 0, 120 * DAY, "anquan"),  # 雨季前
    ("甲醇储罐区", "warehouse_daily", Frequency.DAILY, 8 * H, 10 * H, None),
    ("甲类危化品库房", "warehouse_daily", Frequency.DAILY, 8 * H, 10 * H, None),
    ("1号高压配电柜", "power_daily", Frequency.DAILY, 9 * H, 11 * H, None),
    ("1号高压配电柜", "lightning_yearly", Frequency.YEARLY, 0, 120 * DAY, "anquan"),
    ("2号低压配电柜", "power_daily", Frequency.DAILY, 14 * H, 16 * H, None),
    ("消防泵组", "fire_pump_weekly", Frequency.WEEKLY, 9 * H, 2 * DAY + 17 * H, None),   # 周一 09:00 – 周三 17:00
    ("稳压泵及气压罐", "fire_pump_weekly", Frequency.WEEKLY, 9 * H, 4 * DAY + 17 * H, None),
    ("污水池有限空间入口", "confined_monthly", Frequency.MONTHLY, 8 * H, 7 * DAY, None),  # 每月第一周
    ("事故应急池入口", "confined_monthly", Frequency.MONTHLY, 8 * H, 7 * DAY, None),
    ("反应釜A区", "workshop_shift", Frequency.SHIFT, 0, 30, None),   # 接班后 30 分钟内
    ("反应釜B区", "workshop_shift", Frequency.SHIFT, 0, 30, None),
    ("精馏塔区", "workshop_shift", Frequency.SHIFT, 0, 30, None),
    ("中控室", "workshop_shift", Frequency.SHIFT, 0, 30, None),
    ("中控室", "emergency_drill_quarterly", Frequency.QUARTERLY, 0, None, "anquan"),
]

ROLE_NAMES = {Role.ADMIN: "企业管理员", Role.SAFETY_MANAGER: "安全管理员", Role.SUPERVISOR: "班组长", Role.WORKER: "一线员工"}

_ITEM_LIST = ItemListSchema()


def demo_exists() -> bool:
    return db.session.scalar(sa.select(Enterprise.id).where(Enterprise.code == DEMO_CODE)) is not None


SET_UP_DAYS_AGO = 60


def load_demo(history: bool = True) -> Enterprise:
    """Create the demo enterprise with its sites, users, posts, checklists and schedules, and
    (``history``) five weeks of its life up to now (flush only).

    It is set up as of ``SET_UP_DAYS_AGO`` days ago, as a real enterprise would have been: a
    device (or the simulator, ``python -m sync simulate``) may then make checks for past days
    without predating the checklist versions they answer. The history — checks, misses, alerts,
    hazards, family reports, phones — is made through the services by
    :func:`server.demo.history.build`; without it the plant is set up and has no past.
    """
    with clock.shifted(timedelta(days=-SET_UP_DAYS_AGO)):
        enterprise = _set_up()
    if history:
        from server.demo.history import build

        build(enterprise)
    return enterprise


def _set_up() -> Enterprise:
    enterprise = create_enterprise(**ENTERPRISE)
    eid = enterprise.id
    users = {u: create_user(eid, u, name, role, DEMO_PASSWORD) for u, name, role in USERS}
    sites: dict = {}
    for key, name, parent in SITES:
        sites[key] = create_site(eid, name, sites[parent].id if parent else None)
    posts = {
        name: create_post(eid, sites[site].id, name, risk, location, users[supervisor].id)
        for name, site, risk, location, supervisor in POSTS
    }
    author = users["anquan"].id
    checklists = {
        key: create_checklist(eid, c["name"], c["description"], _ITEM_LIST.load({"items": c["items"]})["items"], author)
        for key, c in CHECKLISTS.items()
    }
    for post, checklist, frequency, start, end, responsible in SCHEDULES:
        create_schedule(eid, {
            "post_id": posts[post].id,
            "checklist_id": checklists[checklist].id,
            "frequency": frequency,
            "due_start_minutes": start,
            "due_end_minutes": end,
            "responsible_id": users[responsible].id if responsible else None,
        })
    return enterprise


def sign_in_help() -> str:
    """How to try the demo: who signs in with what, where, and two curl examples."""
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.code == DEMO_CODE))
    base = current_app.config["PUBLIC_BASE_URL"]
    post = db.session.scalar(sa.select(Post).where(Post.enterprise_id == enterprise.id, Post.name == POSTS[0][0]))
    worker = next(u for u, _, role in USERS if role is Role.WORKER)
    lines = [
        f"演示企业 Demo enterprise: {enterprise.name}",
        f"  企业代码 Enterprise code: {DEMO_CODE}",
        f"  密码（所有演示用户相同，仅用于演示）Password (all demo users, demo only): {DEMO_PASSWORD}",
        "",
        "用户 Users (用户名 username / 姓名 name / 角色 role / 密码 password):",
    ]
    lines += [f"  {u.username} / {u.display_name} / {ROLE_NAMES[u.role]} ({u.role.value}) / {DEMO_PASSWORD}" for u in list_users(enterprise.id)]
    lines += [
        "",
        f"服务器 Server:  {base}",
        f"管理后台 Dashboard: {base}/manage/  (admin / anquan / wangjun / chenzq)",
        f"接口文档 API docs: {base}/api/v1/docs",
        f"岗位二维码 QR of post “{post.name}”: {qr_url(post.qr_token)}",
    ]
    link = db.session.scalar(sa.select(ReportSettings.link_token).where(ReportSettings.enterprise_id == enterprise.id))
    if link is not None:
        lines.append(f"家属举报页 Family report page: {public_url(link)}")
    checks = db.session.scalar(sa.select(sa.func.count()).select_from(Check).where(Check.enterprise_id == enterprise.id))
    if checks:
        hazards = db.session.scalar(sa.select(sa.func.count()).select_from(Hazard).where(Hazard.enterprise_id == enterprise.id))
        misses = db.session.scalar(sa.select(sa.func.count()).select_from(MissedCheck).where(MissedCheck.enterprise_id == enterprise.id))
        lines.append(f"演示历史 History: {checks} 条检查记录 checks, {misses} 次漏检 missed periods, {hazards} 个隐患 hazards")
    lines += [
        "",
        "登录 Sign in (returns a bearer token):",
        f"  curl -X POST {base}/api/v1/auth/sign-in -H 'Content-Type: application/json' \\",
        f"    -d '{{\"enterprise\": \"{DEMO_CODE}\", \"username\": \"{worker}\", \"password\": \"{DEMO_PASSWORD}\", "
        '"device": {"install_id": "demo-device-0001", "name": "demo phone", "platform": "android"}}\'',
        "",
        "扫码 Scan a post (what is due there now):",
        f"  curl {base}/api/v1/scan/{post.qr_token} -H 'Authorization: Bearer <token>'",
    ]
    return "\n".join(lines)
