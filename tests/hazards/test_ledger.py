"""The ledger's documents: XLSX and CSV exports, the 重大事故隐患报告 PDF and the statistics —
their contents in Chinese, the listing's filters, formula injection, roles and tenancy."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from server.hazards.ledger import HEADERS, _safe
from tests.hazards.conftest import MAJOR_PLAN

openpyxl = pytest.importorskip("openpyxl")
pypdf = pytest.importorskip("pypdf")

API = "/api/v1/hazards"
EXPORTS = ("export.xlsx", "export.csv")
INJECTION = '=HYPERLINK("http://evil.example/x","点我")'


def _get(client, tenant, path, role="safety_manager"):
    return client.get(f"{API}/{path}", headers=tenant.auth(role))


def _xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["隐患台账"]
    return book["隐患台账"]


def _csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def _by_number(rows):
    return {row[HEADERS.index("隐患编号")]: dict(zip(HEADERS, row)) for row in rows}


@pytest.fixture
def ledger(loop, clock):
    """A known ledger of enterprise A at 2026-11-27 10:00 Shanghai (T0 + 4 days):

    ==========  ========  ==========  ======================================  =================
    name        grade     type        status                                  late?
    ==========  ========  ==========  ======================================  =================
    closed      一般      设备        closed on T0 (deadline T0 + 3 d)         no
    major       重大      设备        assigned, deadline T0 + 3 d             yes, still open
    rejected    —         设备        rejected                                —
    fire        —         消防        reported                                —
    late        一般      电气        rectified on T0 + 4 d (deadline + 3 d)   yes, done late
    new_year    —         安全        reported, found 2026-01-01 00:30 local   —
    old_year    —         安全        reported, found 2025-12-31 23:00 local   —
    ==========  ========  ==========  ======================================  =================
    """
    ids = {
        "closed": loop.to("closed"),
        "major": loop.to("assigned", grade="major"),
        "rejected": loop.to("rejected"),
        "fire": loop.report(type="fire", description=INJECTION)["id"],
        "late": loop.report(type="electrical")["id"],
        # 16:30 UTC on 31 December is already 2026 in Shanghai; 15:00 UTC is still 2025.
        "new_year": loop.report(type="safety", found_at="2025-12-31T16:30:00Z")["id"],
        "old_year": loop.report(type="safety", found_at="2025-12-31T15:00:00Z")["id"],
    }
    assert loop.confirm(ids["late"]).status_code == 200 and loop.assign(ids["late"]).status_code == 200
    clock.advance(days=4)
    assert loop.rectify(ids["late"]).status_code == 200
    numbers = {name: loop.get(h).json["number"] for name, h in ids.items()}
    return ids, numbers


# --------------------------------------------------------------------------- exports


def test_xlsx_has_the_chinese_ledger(client, world, ledger):
    ids, numbers = ledger
    r = _get(client, world.a, "export.xlsx")
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="hazard-ledger-2026-11-27.xlsx"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "隐患台账-2026-11-27.xlsx"
    sheet = _xlsx(r)
    values = list(sheet.iter_rows(values_only=True))
    assert "甲企业" in values[0][0] and "隐患排查治理台账" in values[0][0]
    assert values[1] == HEADERS
    assert sheet.freeze_panes == "C3"
    assert sheet.column_dimensions["G"].width == 40  # 隐患描述
    rows = _by_number(values[2:])
    assert set(rows) == set(numbers.values())
    assert [r[0] for r in values[2:]] == list(range(1, 8))  # 序号
    major = rows[numbers["major"]]
    assert major["隐患等级"] == "重大隐患" and major["状态"] == "整改中" and major["是否逾期"] == "是（逾期未改）"
    assert major["隐患类型"] == "设备" and major["隐患来源"] == "日常" and major["单位/场所"] == "危化品仓库"
    assert major["岗位/位置"].startswith("液氨储罐区") and major["隐患描述"] == "液氨储罐区阀门泄漏"
    assert major["发现时间"] == datetime(2026, 11, 23, 10, 0)  # Shanghai wall time, a real date cell
    assert major["整改期限"] == datetime(2026, 11, 26, 10, 0)
    assert major["整改资金"] == pytest.approx(12000.50) and major["整改措施"] == MAJOR_PLAN["measures"]
    assert major["责任人"] == "甲企业worker" and major["责任部门"] == "设备部" and major["发现人"] == "甲企业worker"
    closed = rows[numbers["closed"]]
    assert closed["状态"] == "已销号" and closed["复查人"] == "甲企业safety_manager" and closed["复查结果"] == "合格：复查合格"
    assert closed["是否逾期"] == "否" and closed["完成时间"] == datetime(2026, 11, 23, 10, 0)
    assert rows[numbers["late"]]["是否逾期"] == "逾期完成" and rows[numbers["late"]]["状态"] == "待验收"
    assert rows[numbers["rejected"]]["状态"] == "不属实" and rows[numbers["rejected"]]["隐患等级"] == "未定级"
    assert rows[numbers["new_year"]]["发现时间"] == datetime(2026, 1, 1, 0, 30)
    # The formula a reporter typed is text, with the apostrophe that keeps it so.
    fire = rows[numbers["fire"]]
    assert fire["隐患描述"] == "'" + INJECTION and fire["隐患类型"] == "消防" and fire["状态"] == "上报"
    cell = next(c for c in sheet.iter_rows(min_row=3) if c[1].value == numbers["fire"])[6]
    assert cell.data_type == "s"
    # The listing's order: the most recently found first.
    listed = [h["number"] for h in client.get(API, headers=world.a.auth("admin")).json]
    assert [r[1] for r in values[2:]] == listed


def test_csv_has_the_same_headers_and_values(client, world, ledger):
    _ids, numbers = ledger
    r = _get(client, world.a, "export.csv", role="admin")
    assert r.mimetype == "text/csv" and r.mimetype_params["charset"] == "utf-8"
    assert unquote(r.headers["Content-Disposition"].split("filename*=UTF-8''")[1]) == "隐患台账-2026-11-27.csv"
    rows = _csv(r)
    assert tuple(rows[0]) == HEADERS
    by_number = _by_number(rows[1:])
    major = by_number[numbers["major"]]
    assert major["发现时间"] == "2026-11-23 10:00" and major["整改期限"] == "2026-11-26 10:00" and major["整改资金"] == "12000.50"
    assert major["隐患等级"] == "重大隐患" and major["是否逾期"] == "是（逾期未改）" and major["序号"].isdigit()
    assert by_number[numbers["fire"]]["隐患描述"] == "'" + INJECTION
    xlsx = list(_xlsx(_get(client, world.a, "export.xlsx")).iter_rows(min_row=3, values_only=True))
    as_text = lambda v: v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else "" if v is None else f"{Decimal(str(v)):.2f}" if isinstance(v, float) else str(v)
    assert [[as_text(v) for v in row] for row in xlsx] == rows[1:]


@pytest.mark.parametrize("value, safe", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("阀门泄漏 =1", "阀门泄漏 =1"), ("", ""), (Decimal("-1.00"), Decimal("-1.00")), (None, None),
])
def test_formula_injection_is_neutralised(value, safe):
    assert _safe(value) == safe


@pytest.mark.parametrize("path", EXPORTS)
def test_exports_take_the_listings_filters(client, world, ledger, path):
    _ids, numbers = ledger
    read = (lambda q: [row[1] for row in list(_xlsx(_get(client, world.a, f"{path}?{q}")).iter_rows(min_row=3, values_only=True))]) \
        if path.endswith("xlsx") else (lambda q: [row[1] for row in _csv(_get(client, world.a, f"{path}?{q}"))[1:]])
    assert read("grade=major") == [numbers["major"]]
    assert read("status=closed") == [numbers["closed"]]
    assert read("overdue=true") == [numbers["major"]]
    assert sorted(read("type=safety")) == sorted([numbers["new_year"], numbers["old_year"]])
    assert read("until=2026-01-01T00:00:00%2B08:00") == [numbers["old_year"]]
    assert read(f"site_id={world.a.other_site_id}") == []
    assert _get(client, world.a, f"{path}?status=nope").status_code == 422
    if path.endswith("xlsx"):  # the title says what was asked for, times in Shanghai
        title = _xlsx(_get(client, world.a, f"{path}?grade=major&since=2026-01-01T00:00:00Z")).cell(1, 1).value
        assert "筛选 grade=major；since=2026-01-01 08:00" in title and "导出时间 2026-11-27 10:00" in title


def test_an_export_of_nothing_has_its_headers(client, world):
    assert _csv(_get(client, world.a, "export.csv")) == [list(HEADERS)]
    assert list(_xlsx(_get(client, world.a, "export.xlsx")).iter_rows(min_row=2, values_only=True)) == [HEADERS]


def test_control_characters_do_not_break_the_workbook(client, world, loop):
    loop.report(description="阀门\x0b泄漏\x1f")
    sheet = _xlsx(_get(client, world.a, "export.xlsx"))
    assert sheet.cell(3, 7).value == "阀门泄漏"


# --------------------------------------------------------------------------- PDF


def _pdf_text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)  # lines wrap anywhere


def test_major_hazard_report_pdf(client, world, loop, ledger):
    ids, numbers = ledger
    r = _get(client, world.a, f"{ids['major']}/report.pdf")
    assert unquote(r.headers["Content-Disposition"].split("filename*=UTF-8''")[1]) == f"重大事故隐患报告-{numbers['major']}.pdf"
    assert f'filename="major-hazard-report-{numbers["major"]}.pdf"' in r.headers["Content-Disposition"]
    text = _pdf_text(r)
    for expected in (
        "重大事故隐患报告", "甲企业", numbers["major"], "液氨储罐区阀门泄漏", "重大隐患", "整改中", "设备", "危化品仓库",
        "《危险化学品安全管理条例》", MAJOR_PLAN["measures"], "12000.50", MAJOR_PLAN["emergency_measures"], "甲企业worker",
        "设备部", "2026-11-26", "2026-11-2310:00",
        # the history: when, who, what
        "上报", "评估定级", "下达整改", "甲企业safety_manager", "上报→已评估", "已评估→整改中",
    ):
        assert expected in text, expected


def test_the_report_follows_a_major_hazard_to_its_end(client, world, loop, clock):
    hid = loop.to("closed", grade="major")
    text = _pdf_text(_get(client, world.a, f"{hid}/report.pdf", role="admin"))
    for expected in ("已销号", "整改完成", "复查验收通过（销号）", "已更换阀门", "800.00", "合格：复查合格"):
        assert expected in text, expected


@pytest.mark.parametrize("status, grade", [("reported", "general"), ("confirmed", "general"), ("closed", "general")])
def test_only_a_major_hazard_has_a_report(client, world, loop, status, grade):
    hid = loop.to(status, grade=grade)
    r = _get(client, world.a, f"{hid}/report.pdf")
    assert r.status_code == 409 and r.json["error"]["code"] == "hazard_not_major"
    assert r.json["error"]["details"] == {"grade": None if status == "reported" else "general"}


# --------------------------------------------------------------------------- statistics


def _cell(found, rectified, overdue):
    return {"found": found, "rectified": rectified, "overdue": overdue, "rectification_rate": None if not found else round(rectified * 100 / found, 1)}


ZERO = _cell(0, 0, 0)


def test_statistics_of_a_year(client, world, ledger, clock):
    r = _get(client, world.a, "statistics?year=2026")
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["year"], body["quarter"], body["period"], body["timezone"]) == (2026, None, "2026", "Asia/Shanghai")
    assert body["start"] == "2025-12-31T16:00:00+00:00" and body["end"] == "2026-12-31T16:00:00+00:00"
    assert body["as_of"] == clock.now().isoformat()
    rows = {row["type"]: row for row in body["rows"]}
    assert list(rows) == ["safety", "process", "electrical", "instrument", "fire", "equipment", "other"]
    assert rows["equipment"]["type_zh"] == "设备"
    assert rows["equipment"]["general"] == _cell(1, 1, 0)  # closed in time
    assert rows["equipment"]["major"] == _cell(1, 0, 1)  # past its deadline, still open
    assert rows["equipment"]["ungraded"] == ZERO and rows["equipment"]["rejected"] == 1  # rejected: nowhere else
    assert rows["equipment"]["total"] == _cell(2, 1, 1)
    assert rows["electrical"]["general"] == _cell(1, 1, 1)  # rectified after its deadline
    assert rows["fire"]["ungraded"] == _cell(1, 0, 0)
    assert rows["safety"]["ungraded"] == _cell(1, 0, 0)  # 2026-01-01 00:30 in Shanghai counts; 2025-12-31 23:00 does not
    assert rows["process"] == {"type": "process", "type_zh": "工艺", "general": ZERO, "major": ZERO, "ungraded": ZERO, "total": ZERO, "rejected": 0}
    total = body["total"]
    assert total["type"] is None and total["type_zh"] == "合计" and total["rejected"] == 1
    assert (total["general"], total["major"], total["ungraded"]) == (_cell(2, 2, 1), _cell(1, 0, 1), _cell(2, 0, 0))
    assert total["total"] == _cell(5, 2, 2) and total["total"]["rectification_rate"] == 40.0


def test_statistics_of_quarters_and_the_default_year(client, world, ledger):
    q4 = _get(client, world.a, "statistics?year=2026&quarter=4").json
    assert q4["period"] == "2026-Q4" and q4["start"] == "2026-09-30T16:00:00+00:00"
    assert q4["total"]["total"] == _cell(4, 2, 2) and q4["total"]["ungraded"] == _cell(1, 0, 0)
    q1 = _get(client, world.a, "statistics?year=2026&quarter=1").json
    assert q1["total"]["total"] == _cell(1, 0, 0) and q1["total"]["rejected"] == 0
    previous = _get(client, world.a, "statistics?year=2025", role="admin").json
    assert previous["total"]["total"] == _cell(1, 0, 0)
    assert _get(client, world.a, "statistics").json["period"] == "2026"  # this year, in Shanghai
    for bad in ("quarter=5", "year=1999", "year=abc", "quarter=0"):
        r = _get(client, world.a, f"statistics?{bad}")
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", bad


def test_overdue_follows_the_clock(client, world, loop, clock):
    hid = loop.to("assigned")  # deadline T0 + 3 days
    overdue = lambda: _get(client, world.a, "statistics").json["total"]["total"]["overdue"]
    clock.advance(days=3, seconds=-1)
    assert overdue() == 0
    clock.advance(seconds=1)
    assert overdue() == 1
    clock.advance(minutes=1)
    assert loop.rectify(hid).status_code == 200  # now rectified late: still counted
    assert overdue() == 1
    on_time = loop.to("assigned")
    clock.advance(days=3)
    assert loop.rectify(on_time).status_code == 200  # at the deadline itself: in time
    assert overdue() == 1


# --------------------------------------------------------------------------- roles and tenancy


@pytest.mark.parametrize("role", ["worker", "supervisor"])
def test_only_managers_get_the_ledgers_documents(client, world, loop, role):
    hid = loop.to("assigned", grade="major")
    loop.report(role=role)  # something the role itself can see in the listing
    for path in (*EXPORTS, "statistics", f"{hid}/report.pdf"):
        r = _get(client, world.a, path, role=role)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", path
        assert client.get(f"{API}/{path}").status_code == 401


def test_another_enterprise_gets_nothing(client, world, ledger):
    ids, numbers = ledger
    b = world.b
    for role in ("safety_manager", "admin"):
        assert _csv(_get(client, b, "export.csv", role=role)) == [list(HEADERS)]
        assert list(_xlsx(_get(client, b, "export.xlsx", role=role)).iter_rows(min_row=3)) == []
        totals = _get(client, b, "statistics?year=2026", role=role).json["total"]
        assert totals["total"] == ZERO and totals["rejected"] == 0
        r = _get(client, b, f"{ids['major']}/report.pdf", role=role)
        assert r.status_code == 404 and r.json == _get(client, b, "987654/report.pdf", role=role).json
    # A's filters naming A's site find nothing for B either.
    assert _csv(_get(client, b, f"export.csv?site_id={world.a.site_id}")) == [list(HEADERS)]


def test_the_new_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/hazards/export.xlsx", "/api/v1/hazards/export.csv", "/api/v1/hazards/statistics", "/api/v1/hazards/{hazard_id}/report.pdf"):
        assert "get" in paths[path], path
    statistics = paths["/api/v1/hazards/statistics"]["get"]
    assert {p["name"] for p in statistics["parameters"]} >= {"year", "quarter"}
    assert "409" in paths["/api/v1/hazards/{hazard_id}/report.pdf"]["get"]["responses"]
    assert {p["name"] for p in paths["/api/v1/hazards/export.csv"]["get"]["parameters"]} >= {"status", "grade", "overdue", "since"}


def test_a_large_ledger_streams_in_batches(app, client, world, clock):
    """More rows than a fetch batch (500) and a CSV piece (200): all of them, in the listing's order."""
    from server.extensions import db
    from server.hazards.models import Hazard

    now = clock.now()
    with app.app_context():
        db.session.execute(sa.insert(Hazard.__table__), [
            {"enterprise_id": world.a.enterprise_id, "number": f"YH-2026-{n:04d}", "status": "reported", "source": "daily", "type": "other",
             "found_at": now - timedelta(minutes=n), "found_by_id": world.a.users["worker"], "description": f"隐患{n}", "created_at": now, "updated_at": now}
            for n in range(1, 602)
        ])
        db.session.commit()
    rows = _csv(_get(client, world.a, "export.csv"))[1:]
    assert [r[1] for r in rows] == [f"YH-2026-{n:04d}" for n in range(1, 602)]
    assert [r[0] for r in rows] == [str(n) for n in range(1, 602)]
    sheet = _xlsx(_get(client, world.a, "export.xlsx"))
    assert sheet.max_row == 603 and sheet.auto_filter.ref == "A2:V603"
