"""The hazard ledger (隐患台账) on paper: spreadsheet exports (XLSX, CSV), the report of one 重大
hazard (PDF), and the figures of a regulator's 隐患排查治理统计表.

Everything here reads through :func:`server.hazards.services.ledger_clauses`, the WHERE the
listing pages through, so an export holds exactly the hazards the caller's listing shows under
the same filters, in the listing's order (:data:`server.hazards.services.LEDGER_ORDER`), and the
statistics count what the ledger holds. Times are shown in the enterprise's zone.

逾期 (overdue) in the ledger's column and in the statistics means either of

* 逾期未改: still being rectified (``assigned``) when the deadline has come — the rule of the
  listing's ``overdue`` filter and of the alert sweep (``services._overdue``), judged now; or
* 逾期完成: rectified after the deadline (``completed_at > deadline``) and now rectified or closed.

So a hazard that ran late stays counted as late after it is closed: a year's table does not
improve because the late ones were finished eventually. Rejected hazards (不属实) are counted
apart and in no other figure.

Spreadsheet cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading apostrophe in both formats (OWASP
"CSV injection"): a description typed by a reporter never becomes a formula on a manager's PC.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import User
from server.enterprises.models import Enterprise, Site
from server.errors import ZichaError
from server.extensions import db
from server.hazards import services
from server.hazards.models import Hazard, HazardGrade, HazardStatus, HazardType
from server.posts.models import Post
from sync.periods import Frequency, period_from_key

# --------------------------------------------------------------------------- words

# (header, column width in characters) of the ledger, in order: one place for both formats.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("隐患编号", 15), ("发现时间", 17), ("发现人", 10), ("单位/场所", 14), ("岗位/位置", 20),
    ("隐患描述", 40), ("隐患等级", 10), ("隐患类型", 9), ("隐患来源", 12), ("排查依据", 24), ("整改措施", 30),
    ("整改资金", 12), ("责任部门", 12), ("责任人", 10), ("整改期限", 17), ("完成时间", 17), ("复查人", 10),
    ("复查时间", 17), ("复查结果", 20), ("状态", 9), ("是否逾期", 10),
)
HEADERS = tuple(header for header, _width in COLUMNS)

# What each step of the history is called (HazardEvent.action).
ACTION_ZH = {
    "reported": "上报", "confirmed": "评估定级", "rejected": "不属实（驳回）", "assigned": "下达整改", "rectified": "整改完成",
    "verified": "复查验收通过（销号）", "verification_failed": "复查验收不通过", "overdue": "逾期提醒", "described": "补充描述",
}
LATENESS_ZH = {0: "否", 1: "逾期完成", 2: "是（逾期未改）"}

DATETIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SHEET_TITLE = "隐患台账"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DONE = (HazardStatus.RECTIFIED, HazardStatus.CLOSED)


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored UTC time as the enterprise's wall time (naive: what a spreadsheet cell holds)."""
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def _text(value: Any) -> str:
    """How a value reads in the CSV and the PDF (the XLSX keeps times and money typed)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _safe(value: Any) -> Any:
    """Text a spreadsheet would take for a formula, with a leading apostrophe; anything else as is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _clean(text: str) -> str:
    """Without the control characters XML 1.0 forbids (an XLSX and reportlab's markup are XML)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _joined(*parts: str | None, sep: str = " / ") -> str:
    return sep.join(p for p in parts if p)


def _verification(passed: bool | None, note: str) -> str:
    if passed is None:
        return ""
    return _joined("合格" if passed else "不合格", note, sep="：")


def download_names(stem_ascii: str, stem_zh: str, extension: str, principal: Principal) -> tuple[str, str]:
    """An ASCII file name (``filename=``) and the Chinese one (``filename*``), dated today in the
    enterprise's zone, e.g. ``hazard-ledger-2026-11-23.xlsx`` and ``隐患台账-2026-11-23.xlsx``."""
    today = clock.now().astimezone(ZoneInfo(principal.timezone)).date().isoformat()
    return f"{stem_ascii}-{today}.{extension}", f"{stem_zh}-{today}.{extension}"


def content_disposition(ascii_name: str, name: str) -> str:
    """``attachment`` with both names (RFC 6266): old clients take the ASCII one, browsers the UTF-8 one."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --------------------------------------------------------------------------- overdue


def _done_late() -> sa.ColumnElement[bool]:
    return sa.and_(Hazard.status.in_(_DONE), Hazard.completed_at > Hazard.deadline)


def _lateness(now: datetime) -> sa.ColumnElement[int]:
    """2: still being rectified past the deadline now; 1: rectified after the deadline; 0: not late
    (see the module's docstring)."""
    return sa.case((services._overdue(now), 2), (_done_late(), 1), else_=0)


# --------------------------------------------------------------------------- ledger rows


def export_rows(principal: Principal, filters: Mapping) -> Iterator[tuple]:
    """The ledger's rows under ``filters`` (those of the listing, :class:`HazardQuery`), one tuple
    of values per hazard in the order of :data:`COLUMNS`, in the listing's order. One query with
    the names joined in; its rows are fetched in batches (``yield_per``: a server-side cursor on
    PostgreSQL), so an export of any size holds a batch in memory, not the ledger.

    A generator: the query runs when the first row is asked for. A streamed response asks only
    after Flask has torn the view's session down (Flask 3.1 re-pushes the contexts for
    ``stream_with_context``), so the rows must be read in the session of that moment, not one
    opened in the view — whose cursor would be gone.

    Times are the enterprise's wall time (naive datetimes), money a :class:`~decimal.Decimal`,
    labels Chinese; nothing is neutralised here — each format does that (:func:`_safe`)."""
    zone = ZoneInfo(principal.timezone)
    # Aliases everywhere: the supervisor's visibility clause holds a subquery on posts, which a
    # plain join of posts would correlate away.
    found_by, responsible, verifier, site, post = aliased(User), aliased(User), aliased(User), aliased(Site), aliased(Post)
    query = (
        sa.select(
            Hazard.number, Hazard.found_at, found_by.display_name.label("found_by"), site.name.label("site"),
            post.name.label("post"), Hazard.location, Hazard.description, Hazard.grade, Hazard.type, Hazard.source,
            Hazard.basis, Hazard.measures, Hazard.funds, Hazard.responsible_department,
            responsible.display_name.label("responsible"), Hazard.deadline, Hazard.completed_at,
            verifier.display_name.label("verifier"), Hazard.verified_at, Hazard.verification_passed,
            Hazard.verification_note, Hazard.status, _lateness(clock.now()).label("lateness"),
        )
        .join(found_by, found_by.id == Hazard.found_by_id)
        .outerjoin(responsible, responsible.id == Hazard.responsible_id)
        .outerjoin(verifier, verifier.id == Hazard.verifier_id)
        .outerjoin(site, site.id == Hazard.site_id)
        .outerjoin(post, post.id == Hazard.post_id)
        .where(*services.ledger_clauses(principal, filters))
        .order_by(*services.LEDGER_ORDER)
        .execution_options(yield_per=500)
    )
    for n, r in enumerate(db.session.execute(query), 1):
        yield (
            n, r.number, _local(r.found_at, zone), r.found_by, r.site or "", _joined(r.post, r.location), r.description,
            r.grade.zh if r.grade else "未定级", r.type.zh, r.source.zh, r.basis, r.measures, r.funds,
            r.responsible_department, r.responsible or "", _local(r.deadline, zone), _local(r.completed_at, zone),
            r.verifier or "", _local(r.verified_at, zone), _verification(r.verification_passed, r.verification_note),
            r.status.zh, LATENESS_ZH[r.lateness],
        )


def csv_chunks(rows: Iterable[tuple], batch: int = 200) -> Iterator[str]:
    """The ledger as CSV, in pieces to stream: UTF-8 with a BOM (Excel then reads the Chinese
    right), the headers, then ``rows``; every text cell guarded against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(HEADERS)
    for n, row in enumerate(rows, 1):
        writer.writerow([_safe(_text(value)) for value in row])
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(rows: Iterable[tuple], principal: Principal, filters: Mapping) -> bytes:
    """The ledger as an XLSX workbook with one sheet, 隐患台账: a title row (enterprise, when
    exported, the filters), the header row, the rows; panes frozen below the headers and right
    of the number, an auto-filter on the headers, fixed column widths. Written in openpyxl's
    write-only mode, which streams rows to a temporary file instead of keeping cells in memory.
    Times are real date cells (sortable), money a number; text is guarded against formulas."""
    enterprise = db.session.get(Enterprise, principal.enterprise_id)
    zone = ZoneInfo(principal.timezone)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    for index, (_header, width) in enumerate(COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C3"

    def cell(value: Any, **style: Any) -> WriteOnlyCell:
        c = WriteOnlyCell(sheet, value=_safe(_clean(value)) if isinstance(value, str) else value)
        for name, setting in style.items():
            setattr(c, name, setting)
        return c

    def shown(value: Any) -> str:
        return _text(_local(value, zone) if isinstance(value, datetime) else getattr(value, "value", value))

    conditions = "；".join(f"{name}={shown(value)}" for name, value in filters.items())
    title = f"{enterprise.name} 隐患排查治理台账（导出时间 {shown(clock.now())}{'；筛选 ' + conditions if conditions else ''}）"
    sheet.append([cell(title, font=Font(bold=True, size=14))])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.append([cell(h, font=Font(bold=True), fill=header_fill, alignment=centred) for h in HEADERS])
    count = 0
    for row in rows:
        count += 1
        sheet.append([
            cell(v, number_format=XLSX_DATETIME_FORMAT) if isinstance(v, datetime)
            else cell(v, number_format="#,##0.00") if isinstance(v, Decimal) else cell(v)
            for v in row
        ])
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{count + 2}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- 重大事故隐患报告 (PDF)


def major_report(principal: Principal, hazard_id: int) -> tuple[bytes, str]:
    """The 重大事故隐患报告 of one hazard graded 重大, as a PDF, and its number: the enterprise,
    every field of the hazard, its 五到位 plan (measures, funds, responsible person, deadline,
    emergency measures), the rectification and verification, and its whole history (when, who,
    what, note). The hazard is looked up as the caller's ledger would (another tenant's id, or
    one the caller may not see, is ``not_found``); one not graded 重大 is ``hazard_not_major``."""
    hazard = services.get_hazard(principal, hazard_id)
    if hazard.grade is not HazardGrade.MAJOR:
        raise ZichaError("hazard_not_major", {"grade": None if hazard.grade is None else hazard.grade.value})
    zone = ZoneInfo(principal.timezone)
    ids = {hazard.found_by_id, hazard.responsible_id, hazard.rectified_by_id, hazard.verifier_id, *(e.actor_id for e in hazard.events)}
    names = dict(db.session.execute(
        sa.select(User.id, User.display_name).where(User.id.in_(ids - {None}), User.enterprise_id == principal.enterprise_id)
    ).all())
    site = db.session.get(Site, hazard.site_id) if hazard.site_id else None
    post = db.session.get(Post, hazard.post_id) if hazard.post_id else None
    enterprise = db.session.get(Enterprise, principal.enterprise_id)

    def when(moment: datetime | None) -> str:
        return _text(_local(moment, zone))

    sections = [
        ("隐患基本情况", [
            ("隐患编号", hazard.number), ("隐患等级", hazard.grade.zh), ("隐患类型", hazard.type.zh), ("隐患来源", hazard.source.zh),
            ("状态", hazard.status.zh), ("发现时间", when(hazard.found_at)), ("发现人", names.get(hazard.found_by_id, "")),
            ("单位/场所", site.name if site else ""), ("岗位/位置", _joined(post.name if post else None, hazard.location)),
            ("隐患描述", hazard.description), ("排查依据", hazard.basis),
        ]),
        ("整改方案（五到位）", [
            ("整改措施", hazard.measures), ("整改资金（元）", _text(hazard.funds)), ("责任部门", hazard.responsible_department),
            ("责任人", names.get(hazard.responsible_id, "")), ("整改时限", when(hazard.deadline)),
            ("应急预案/措施", hazard.emergency_measures), ("整改方式", hazard.mode.zh if hazard.mode else ""),
        ]),
        ("整改与复查验收", [
            ("整改人", names.get(hazard.rectified_by_id, "")), ("整改情况", hazard.rectification_note),
            ("完成时间", when(hazard.completed_at)), ("实际费用（元）", _text(hazard.cost)),
            ("复查人", names.get(hazard.verifier_id, "")), ("复查时间", when(hazard.verified_at)),
            ("复查结果", _verification(hazard.verification_passed, hazard.verification_note)),
        ]),
    ]
    history = [
        (when(e.at), names.get(e.actor_id, "系统"), ACTION_ZH.get(e.action, e.action),
         _joined(_status_zh(e.from_status), _status_zh(e.to_status), sep=" → "), e.note)
        for e in hazard.events
    ]
    return _render_report(enterprise.name, sections, history, when(clock.now())), hazard.number


def _status_zh(value: str | None) -> str:
    return HazardStatus(value).zh if value else ""


def _render_report(enterprise_name: str, sections: list, history: list[tuple], made_at: str) -> bytes:
    """Lay the report out on A4 with reportlab's platypus, in the bundled CJK font (registered
    once, shared with the QR labels) and CJK line breaking."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from server.posts.labels import pdf_font_name

    font = pdf_font_name()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK")
    label = ParagraphStyle("label", parent=body, textColor=colors.HexColor("#333333"))
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=17, spaceBefore=8, spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=4)
    subtitle = ParagraphStyle("subtitle", parent=body, fontSize=11, leading=15, alignment=TA_CENTER, spaceAfter=8)
    shade = colors.HexColor("#EEF3FA")
    lines = [("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")), ("VALIGN", (0, 0), (-1, -1), "TOP")]

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(_clean(text or "")).replace("\n", "<br/>"), style)

    width = A4[0] - 36 * mm
    story: list = [para("重大事故隐患报告", title), para(enterprise_name, subtitle)]
    for name, fields in sections:
        story.append(para(name, heading))
        table = Table([[para(k, label), para(v)] for k, v in fields], colWidths=[32 * mm, width - 32 * mm])
        table.setStyle(TableStyle([*lines, ("BACKGROUND", (0, 0), (0, -1), shade)]))  # the labels' column
        story.append(table)
    story.append(para("处理记录（全过程）", heading))
    rows = [[para(h, label) for h in ("时间", "操作人", "操作", "状态", "说明")]] + [[para(v) for v in event] for event in history]
    table = Table(rows, colWidths=[28 * mm, 22 * mm, 30 * mm, 30 * mm, width - 110 * mm], repeatRows=1)
    table.setStyle(TableStyle([*lines, ("BACKGROUND", (0, 0), (-1, 0), shade)]))  # the header row
    story += [table, Spacer(1, 6 * mm), para(f"生成时间：{made_at}", label)]

    def footer(canvas, doc) -> None:
        canvas.setFont(font, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{enterprise_name} · 重大事故隐患报告 · 第 {doc.page} 页")

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=18 * mm,
                            title="重大事故隐患报告", author=enterprise_name)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# --------------------------------------------------------------------------- 隐患排查治理统计表


GRADE_COLUMNS = ("general", "major", "ungraded")  # 一般 / 重大 / 未定级 (reported, not yet assessed)


def _cell(found: int = 0, rectified: int = 0, overdue: int = 0) -> dict:
    rate = None if not found else round(rectified * 100 / found, 1)
    return {"found": found, "rectified": rectified, "overdue": overdue, "rectification_rate": rate}


def _add(cells: Iterable[dict]) -> dict:
    cells = list(cells)
    return _cell(*(sum(c[k] for c in cells) for k in ("found", "rectified", "overdue")))


def statistics(principal: Principal, year: int | None = None, quarter: int | None = None) -> dict:
    """The 隐患排查治理统计表 of a year, or of one quarter of it, in the enterprise's calendar
    (default: this year): one row per hazard type (安全, 工艺, 电气, 仪表, 消防, 设备, 其他) and a
    合计 row; per row, for 一般, 重大, 未定级 and 合计, the hazards found (found in the period,
    rejected ones aside), rectified (now rectified or closed), overdue (see the module's
    docstring; judged now) and the rectification rate 整改率 (rectified ÷ found, in per cent,
    one decimal; ``None`` when none were found); and the rejected (不属实) per type.

    The caller's ledger is what is counted (``ledger_clauses`` with the period as ``since`` and
    ``until``), in one ``GROUP BY type, grade`` query: at most 7 × 3 groups come back, whatever
    the number of hazards."""
    zone = principal.timezone
    now = clock.now()
    year = year or now.astimezone(ZoneInfo(zone)).year
    period = (
        period_from_key(Frequency.QUARTERLY, f"{year}-Q{quarter}", zone) if quarter
        else period_from_key(Frequency.YEARLY, str(year), zone)
    )

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    groups = db.session.execute(
        sa.select(
            Hazard.type, Hazard.grade,
            count(Hazard.status != HazardStatus.REJECTED).label("found"),
            count(Hazard.status.in_(_DONE)).label("rectified"),
            count(_lateness(now) > 0).label("overdue"),
            count(Hazard.status == HazardStatus.REJECTED).label("rejected"),
        )
        .where(*services.ledger_clauses(principal, {"since": period.start, "until": period.end}))
        .group_by(Hazard.type, Hazard.grade)
    ).all()
    table = {t: {g: _cell() for g in GRADE_COLUMNS} for t in HazardType}
    rejected = dict.fromkeys(HazardType, 0)
    for g in groups:
        table[g.type][g.grade.value if g.grade else "ungraded"] = _cell(g.found, g.rectified, g.overdue)
        rejected[g.type] += g.rejected
    rows = [
        {"type": t.value, "type_zh": t.zh, **cells, "total": _add(cells.values()), "rejected": rejected[t]}
        for t, cells in table.items()
    ]
    total = {g: _add(r[g] for r in rows) for g in (*GRADE_COLUMNS, "total")}
    return {
        "year": year, "quarter": quarter, "period": period.key, "start": period.start, "end": period.end,
        "timezone": zone, "as_of": now, "rows": rows,
        "total": {"type": None, "type_zh": "合计", **total, "rejected": sum(rejected.values())},
    }

