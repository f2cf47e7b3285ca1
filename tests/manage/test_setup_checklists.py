"""Dashboard set-up pages, part 2: checklists, their versions and the editor.

Roles mirror the API: every dashboard role reads checklists and versions; safety managers and
admins create checklists and publish versions. Publishing makes version n+1 through the API's
service and item rules; the old version stays readable and unchanged; refused items show the
editor again as typed, with the complaint by the row, and store nothing.
"""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from server.checklists.models import Checklist, ChecklistVersion
from server.extensions import db
from tests.builders import ITEMS
from tests.manage.setup_helpers import html

READERS = ["supervisor", "safety_manager", "admin"]
EDITORS = ["safety_manager", "admin"]
FIELD = re.compile(r'name="(items-\d+-\w+)"(?: type="\w+")? value="([^"]*)"')


def versions(app, checklist_id: int) -> list[ChecklistVersion]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(ChecklistVersion).where(ChecklistVersion.checklist_id == checklist_id).order_by(ChecklistVersion.number)))
        db.session.expunge_all()
        return rows


def editor_form(page: str) -> dict:
    """The editor's fields as a browser would send them untouched: inputs with their values,
    each select's selected option, each textarea's text; checkboxes only when ticked."""
    form: dict[str, list[str]] = {}
    for tag in re.finditer(r"<input ([^>]*)>", page):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag[1]))
        name = attrs.get("name", "")
        if not name.startswith("items-") and name not in ("title", "name", "description"):
            continue
        if attrs.get("type") == "checkbox" and "checked" not in tag[1]:
            continue
        form.setdefault(name, []).append(attrs.get("value", ""))
    for select in re.finditer(r'<select name="([^"]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select[2]) or re.search(r'<option value="([^"]*)"', select[2])
        form[select[1]] = [chosen[1]]
    for area in re.finditer(r'<textarea name="(items-[^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        form[area[1]] = [area[2]]
    return form


def row_of(form: dict, item_id: str) -> str:
    """The ``items-<n>-`` prefix of the row holding item ``item_id``."""
    for name, values in form.items():
        if name.endswith("-id") and values == [item_id]:
            return name[: -len("id")]
    raise AssertionError(f"no row for {item_id}")


def blank_rows(form: dict) -> list[str]:
    return [name[: -len("id")] for name, values in form.items() if name.endswith("-id") and values == [""]]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("role", READERS)
def test_every_role_reads_the_checklists(browser_for, world, role):
    page = browser_for(role).get("/manage/checklists/")
    assert page.status_code == 200
    text = html(page)
    assert "危化品仓库日检" in text and "第 1 版" in text
    assert ("新建检查表" in text) is (role != "supervisor")


@pytest.mark.parametrize("role", READERS)
def test_a_checklist_page_shows_its_current_items_and_versions(browser_for, world, role):
    page = browser_for(role).get(f"/manage/checklists/{world.a.checklist_id}")
    assert page.status_code == 200
    text = html(page)
    for item in ITEMS:
        assert item["label"] in text and item["id"] in text
    assert "0 – 20 %LEL" in text and "正常" in text and "异常" in text  # a number's range, a choice's options
    assert f"/manage/checklists/{world.a.checklist_id}/versions/1" not in text  # the current one is not a link to itself
    assert ("编辑并发布新版本" in text) is (role != "supervisor")


@pytest.mark.parametrize("role", READERS)
def test_a_version_reads_by_its_number(browser_for, world, role):
    page = browser_for(role).get(f"/manage/checklists/{world.a.checklist_id}/versions/1")
    assert page.status_code == 200
    assert "消防器材在位有效" in html(page) and "第 1 版" in html(page)
    assert browser_for(role).get(f"/manage/checklists/{world.a.checklist_id}/versions/2").status_code == 404


def test_another_enterprises_checklist_and_versions_are_a_404_page(app, browser_for, world):
    browser = browser_for("admin")
    b = world.b.checklist_id
    assert browser.get(f"/manage/checklists/{b}").status_code == 404
    assert browser.get(f"/manage/checklists/{b}/versions/1").status_code == 404
    assert browser.get(f"/manage/checklists/{b}/edit").status_code == 404
    assert browser.post(f"/manage/checklists/{b}/versions", {"mode": "json", "items_json": json.dumps(ITEMS)}).status_code == 404
    assert len(versions(app, b)) == 1


# --------------------------------------------------------------------------- publishing


@pytest.mark.parametrize("role", EDITORS)
def test_publishing_an_edit_makes_version_2_and_version_1_stays_as_it_was(app, browser_for, world, role):
    browser = browser_for(role)
    page = browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")
    assert page.status_code == 200
    text = html(page)
    assert "发布第 2 版" in text and "编号" in text
    form = editor_form(text)
    exits = row_of(form, "exit_clear")
    form[exits + "label"] = ["安全出口、疏散通道畅通"]
    new = blank_rows(form)[0]
    form.update({new + "id": ["valve_leak"], new + "kind": ["yes_no"], new + "label": ["阀门无泄漏"], new + "label_en": ["No valve leaks"]})
    response = browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form)
    assert response.status_code == 303, html(response)
    assert response.headers["Location"] == f"/manage/checklists/{world.a.checklist_id}"

    first, second = versions(app, world.a.checklist_id)
    assert (first.number, second.number) == (1, 2)
    assert first.items == ITEMS_AS_STORED(app, world.a.version_id)  # untouched
    assert first.retired_at is not None and second.retired_at is None
    assert [i["id"] for i in second.items] == [i["id"] for i in ITEMS] + ["valve_leak"]
    by_id = {i["id"]: i for i in second.items}
    assert by_id["exit_clear"]["label"] == "安全出口、疏散通道畅通"
    assert by_id["valve_leak"] == {"id": "valve_leak", "kind": "yes_no", "label": "阀门无泄漏", "label_en": "No valve leaks", "required": True, "photo_required": False}
    # everything else survived the round trip through the form exactly
    for item in first.items:
        if item["id"] != "exit_clear":
            assert by_id[item["id"]] == item
    with app.app_context():
        assert db.session.get(Checklist, world.a.checklist_id).current_version_id == second.id

    shown = html(browser.get(f"/manage/checklists/{world.a.checklist_id}"))
    assert "已发布第 2 版" in shown and "阀门无泄漏" in shown and "安全出口、疏散通道畅通" in shown
    old = html(browser.get(f"/manage/checklists/{world.a.checklist_id}/versions/1"))
    assert "安全出口畅通" in old and "阀门无泄漏" not in old and "停用" in old


def ITEMS_AS_STORED(app, version_id):
    with app.app_context():
        return db.session.get(ChecklistVersion, version_id).items


def test_removing_an_item_and_reordering(app, browser_for, world):
    browser = browser_for("admin")
    form = editor_form(html(browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")))
    form[row_of(form, "remarks") + "remove"] = ["false", "true"]
    form[row_of(form, "pump_state") + "order"] = ["1"]
    assert browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form).status_code == 303
    latest = versions(app, world.a.checklist_id)[-1]
    assert [i["id"] for i in latest.items] == ["pump_state", "extinguisher", "exit_clear", "gas_reading"]


def test_a_supervisor_may_not_edit_or_publish(app, browser_for, world):
    browser = browser_for("supervisor")
    assert browser.get(f"/manage/checklists/{world.a.checklist_id}/edit").status_code == 403
    assert browser.get("/manage/checklists/new").status_code == 403
    assert browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", {"mode": "json", "items_json": json.dumps(ITEMS)}).status_code == 403
    assert browser.post("/manage/checklists/", {"name": "新表", "mode": "json", "items_json": json.dumps(ITEMS)}).status_code == 403
    assert len(versions(app, world.a.checklist_id)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Checklist).where(Checklist.name == "新表")) == 0


def test_an_invalid_item_shows_the_editor_again_as_typed_and_stores_nothing(app, browser_for, world):
    browser = browser_for("safety_manager")
    form = editor_form(html(browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")))
    form[row_of(form, "exit_clear") + "label"] = ["改过的出口标签"]
    new = blank_rows(form)[0]
    form.update({new + "id": ["valve_state"], new + "kind": ["choice"], new + "label": ["阀门状态"], new + "options": ["open | 开"]})
    response = browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form)
    assert response.status_code == 422
    text = html(response)
    assert "输入校验失败" in text and "a choice item needs at least two options" in text
    assert 'value="改过的出口标签"' in text and 'value="阀门状态"' in text and "open | 开</textarea>" in text
    assert f'id="row-{new.split("-")[1]}" class="failed"' in text  # the complaint sits by its row
    assert len(versions(app, world.a.checklist_id)) == 1


def test_a_number_range_the_wrong_way_round_is_refused(app, browser_for, world):
    browser = browser_for("admin")
    form = editor_form(html(browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")))
    gas = row_of(form, "gas_reading")
    form[gas + "min"], form[gas + "max"] = ["30"], ["abc"]
    response = browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form)
    assert response.status_code == 422 and "Not a valid number" in html(response)
    assert len(versions(app, world.a.checklist_id)) == 1


def test_an_old_id_with_a_new_kind_is_refused_by_the_service(app, browser_for, world):
    browser = browser_for("admin")
    form = editor_form(html(browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")))
    form[row_of(form, "remarks") + "kind"] = ["number"]
    response = browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form)
    assert response.status_code == 422
    assert "was text, now number: use a new item id" in html(response)
    assert len(versions(app, world.a.checklist_id)) == 1


def test_duplicate_ids_are_refused(app, browser_for, world):
    browser = browser_for("admin")
    form = editor_form(html(browser.get(f"/manage/checklists/{world.a.checklist_id}/edit")))
    new = blank_rows(form)[0]
    form.update({new + "id": ["exit_clear"], new + "kind": ["yes_no"], new + "label": ["重复"]})
    response = browser.post(f"/manage/checklists/{world.a.checklist_id}/versions", form)
    assert response.status_code == 422 and "item ids must be unique within a version" in html(response)
    assert len(versions(app, world.a.checklist_id)) == 1


def test_the_advanced_json_form_publishes_through_the_same_rules(app, browser_for, world):
    browser = browser_for("admin")
    url = f"/manage/checklists/{world.a.checklist_id}/versions"
    bad = browser.post(url, {"mode": "json", "items_json": "[{"})
    assert bad.status_code == 422 and "不是有效的 JSON" in html(bad) and "[{</textarea>" in html(bad)
    clash = [{**ITEMS[0], "kind": "text"}]
    refused = browser.post(url, {"mode": "json", "items_json": json.dumps(clash)})
    assert refused.status_code == 422 and "use a new item id" in html(refused)
    assert len(versions(app, world.a.checklist_id)) == 1
    items = [ITEMS[0], {"id": "new_one", "kind": "text", "label": "新的一项"}]
    assert browser.post(url, {"mode": "json", "items_json": json.dumps(items, ensure_ascii=False), "title": "危化品仓库日检"}).status_code == 303
    latest = versions(app, world.a.checklist_id)[-1]
    assert latest.number == 2 and [i["id"] for i in latest.items] == ["extinguisher", "new_one"]


# --------------------------------------------------------------------------- creating


@pytest.mark.parametrize("role", EDITORS)
def test_creating_a_checklist_publishes_version_1(app, browser_for, world, role):
    browser = browser_for(role)
    form = editor_form(html(browser.get("/manage/checklists/new")))
    first, second = blank_rows(form)[:2]
    form.update({
        "name": ["配电室周检"], "description": ["每周一上午"],
        first + "id": ["cabinet_temp"], first + "kind": ["number"], first + "label": ["柜内温度"], first + "unit": ["℃"],
        first + "min": ["0"], first + "max": ["45"], first + "photo_required": ["false", "true"],
        second + "id": ["door_state"], second + "kind": ["choice"], second + "label": ["柜门状态"],
        second + "options": ["closed | 关闭\r\nopen | 打开 | Open | fail"],
    })
    response = browser.post("/manage/checklists/", form)
    assert response.status_code == 303, html(response)
    with app.app_context():
        checklist = db.session.scalar(sa.select(Checklist).where(Checklist.name == "配电室周检"))
        assert checklist.enterprise_id == world.a.enterprise_id and checklist.description == "每周一上午"
        items = checklist.current_version.items
        assert checklist.current_version.number == 1
    assert items == [
        {"id": "cabinet_temp", "kind": "number", "label": "柜内温度", "required": True, "photo_required": True, "min": 0.0, "max": 45.0, "unit": "℃"},
        {"id": "door_state", "kind": "choice", "label": "柜门状态", "required": True, "photo_required": False,
         "options": [{"value": "closed", "label": "关闭", "ok": True}, {"value": "open", "label": "打开", "label_en": "Open", "ok": False}]},
    ]
    assert response.headers["Location"] == f"/manage/checklists/{checklist.id}"


def test_a_new_checklist_without_items_or_name_stores_nothing(app, browser_for, world):
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Checklist))
    browser = browser_for("admin")
    response = browser.post("/manage/checklists/", {"name": "", "description": "说明"})
    assert response.status_code == 422
    text = html(response)
    assert "name" in text and "items" in text and 'value="说明"' in text
    # a valid name but an invalid item: the service had begun, and it is all rolled back
    response = browser.post("/manage/checklists/", {"name": "半成品", "items-0-id": "x", "items-0-kind": "yes_no", "items-0-label": ""})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Checklist)) == before
