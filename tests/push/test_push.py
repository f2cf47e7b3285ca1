"""POST /api/v1/sync/push: one result per record, stored exactly once, whatever goes wrong.

The fault cases of the sync contract that concern records (issue 3), each asserting row counts
and states; they run on SQLite and on PostgreSQL (tests/run-all.sh).
"""
from __future__ import annotations

import gzip
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.checks import ingest
from server.checks.models import Check, CheckConflict, CheckPhoto
from server.extensions import db
from server.push.models import DeviceSeq
from sync.protocol import PushResultSchema
from tests.builders import ITEMS, PHOTO, check_record, good_answers

SHANGHAI = timezone(timedelta(hours=8))
BOOT = "boot-1"


def answers_without_photos() -> list[dict]:
    answers = good_answers()
    answers[2] = {"item_id": "gas_reading", "value": 3.5, "photos": [PHOTO]}
    return answers


class Phone:
    """A device as the push sees it: a boot, an uptime and a record counter (time from the test clock)."""

    def __init__(self, clock, boot_id: str = BOOT, uptime_ms: int = 10_000_000, wall_offset: timedelta = timedelta(0)):
        self.clock = clock
        self.boot_id = boot_id
        self.booted_at = clock.now() - timedelta(milliseconds=uptime_ms)
        self.wall_offset = wall_offset  # how wrong the phone's wall clock is
        self.seq = 0

    def uptime(self) -> int:
        return int((self.clock.now() - self.booted_at) / timedelta(milliseconds=1))

    def wall(self) -> datetime:
        return (self.clock.now() + self.wall_offset).astimezone(SHANGHAI)

    def reboot(self, boot_id: str, wall_offset: timedelta | None = None) -> None:
        self.boot_id = boot_id
        self.booted_at = self.clock.now()
        if wall_offset is not None:
            self.wall_offset = wall_offset

    def check(self, schedule_id: int, version_id: int, answers=None, **extra) -> dict:
        self.seq += 1
        record = check_record(schedule_id, version_id, self.wall(), answers, type="check", device_seq=self.seq, boot_id=self.boot_id, uptime_ms=self.uptime())
        record.update(extra)
        return record

    def envelope(self, records: list[dict], anchors=()) -> dict:
        return {
            "protocol": 1,
            "sent": {"wall": self.wall().isoformat(), "boot_id": self.boot_id, "uptime_ms": self.uptime()},
            "anchors": list(anchors),
            "records": records,
        }


def push(client, tenant, body, role="worker", **headers):
    r = client.post("/api/v1/sync/push", json=body, headers={**tenant.auth(role), **headers})
    if r.status_code == 200:
        PushResultSchema().load(r.json)  # the answer is built by hand: hold it to the documented shape
    return r


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def phone(clock):
    return Phone(clock)


def test_a_batch_is_stored_with_a_result_per_record(app, client, world, clock, phone):
    records = [phone.check(world.a.schedules["daily"], world.a.version_id, answers=answers_without_photos()) for _ in range(3)]
    r = push(client, world.a, phone.envelope(records))
    assert r.status_code == 200, r.json
    results = r.json["results"]
    assert [x["index"] for x in results] == [0, 1, 2]
    assert [x["id"] for x in results] == [rec["id"] for rec in records]
    # The gas reading's photo has not been uploaded: stored, but not complete.
    assert {x["result"] for x in results} == {"awaiting_photos"}
    assert all(x["missing_photos"] == [PHOTO] and x["status"] == "awaiting_photos" for x in results)
    assert results[0]["period_key"] == "2026-11-23" and results[0]["time_quality"] == "monotonic"
    assert r.json["device_seq"] == {"highest": 3, "gaps": []}
    assert r.json["server_time"] == clock.now().isoformat()
    assert count(app, Check) == 3 and count(app, CheckPhoto) == 3
    with app.app_context():
        seqs = db.session.scalars(sa.select(Check.device_seq).order_by(Check.device_seq)).all()
    assert seqs == [1, 2, 3]


def test_a_check_without_photos_is_accepted_complete(app, client, world, phone):
    answers = [a for a in good_answers() if a["item_id"] != "gas_reading"]
    answers.append({"item_id": "gas_reading", "value": 2})
    with app.app_context():
        # No photo required on this version: publish one where the reading needs none.
        from server.checklists import services as checklists

        items = [dict(i, photo_required=False) for i in ITEMS]
        version = checklists.publish_version(world.a.enterprise_id, world.a.checklist_id, items, None)
        db.session.commit()
        version_id = version.id
    r = push(client, world.a, phone.envelope([phone.check(world.a.schedules["daily"], version_id, answers)]))
    assert r.json["results"][0]["result"] == "accepted"
    assert r.json["results"][0]["status"] == "complete"
    assert "missing_photos" not in r.json["results"][0]


def test_response_lost_after_commit_then_retried(app, client, world, phone):
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(5)])
    first = push(client, world.a, body)
    assert first.status_code == 200
    # The answer never reached the phone; it sends the very same batch again.
    again = push(client, world.a, body)
    assert again.status_code == 200
    assert [x["result"] for x in again.json["results"]] == ["duplicate"] * 5
    for before, after in zip(first.json["results"], again.json["results"]):
        assert after["period_key"] == before["period_key"] and after["performed_at"] == before["performed_at"]
        assert after["missing_photos"] == [PHOTO]
    assert count(app, Check) == 5 and count(app, CheckPhoto) == 5 and count(app, CheckConflict) == 0


def test_same_id_with_other_content_is_a_conflict_kept_aside(app, client, world, phone):
    record = phone.check(world.a.schedules["daily"], world.a.version_id)
    push(client, world.a, phone.envelope([record]))
    changed = dict(record, note="改过的备注")
    r = push(client, world.a, phone.envelope([changed]))
    assert r.json["results"][0]["result"] == "conflict"
    assert r.json["results"][0]["code"] == "id_conflict"
    assert count(app, Check) == 1 and count(app, CheckConflict) == 1
    with app.app_context():
        assert db.session.get(Check, uuid.UUID(record["id"])).note == ""
        kept = db.session.scalars(sa.select(CheckConflict)).one()
        assert kept.payload["note"] == "改过的备注" and kept.device_id == world.a.device_id


def test_the_same_id_twice_in_one_batch(app, client, world, phone):
    record = phone.check(world.a.schedules["daily"], world.a.version_id)
    other = dict(record, note="second thoughts")
    r = push(client, world.a, phone.envelope([record, dict(record), other]))
    assert [x["result"] for x in r.json["results"]] == ["awaiting_photos", "duplicate", "conflict"]
    assert count(app, Check) == 1 and count(app, CheckConflict) == 1


def test_one_bad_record_in_fifty(app, client, world, phone):
    records = [phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(50)]
    records[17]["answers"][2]["value"] = 250  # gas reading above the possible maximum
    r = push(client, world.a, phone.envelope(records))
    assert r.status_code == 200
    results = r.json["results"]
    assert len(results) == 50
    assert results[17]["result"] == "rejected" and results[17]["code"] == "answers_invalid"
    assert results[17]["id"] == records[17]["id"]
    assert "gas_reading" in results[17]["details"]
    assert sum(x["result"] == "awaiting_photos" for x in results) == 49
    assert count(app, Check) == 49
    # The refused record's number still counts as received: no gap for it.
    assert r.json["device_seq"] == {"highest": 50, "gaps": []}


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda r: r.pop("answers"), "validation_failed"),
        (lambda r: r.update(id="not-a-uuid"), "validation_failed"),
        (lambda r: r.update(type="hazard_report_v9"), "validation_failed"),
        (lambda r: r.update(schedule_id=999_999), "not_found"),
        (lambda r: r.update(checklist_version_id=999_999), "validation_failed"),
        (lambda r: r.update(performed_at="2026-11-23T10:00:00"), "validation_failed"),  # no offset
        (lambda r: r.update(device_seq=0), "validation_failed"),
        (lambda r: r.update(uptime_ms=-5), "validation_failed"),
        (lambda r: r.update(uptime_ms=2**70), "validation_failed"),  # no database holds it
        (lambda r: r.update(schedule_id=2**63), "validation_failed"),
        (lambda r: r.update(schedule_id=2**31), "validation_failed"),  # past a row id (PostgreSQL integer): not even comparable
        (lambda r: r.update(checklist_version_id=2**31), "validation_failed"),
        (lambda r: r.update(schedule_id=2**63, note=None), "validation_failed"),  # the same, when the schema decides
    ],
)
def test_each_kind_of_bad_record_is_rejected_alone(app, client, world, phone, mutate, code):
    good = phone.check(world.a.schedules["daily"], world.a.version_id)
    bad = phone.check(world.a.schedules["daily"], world.a.version_id)
    mutate(bad)
    r = push(client, world.a, phone.envelope([bad, good]))
    assert r.status_code == 200, r.json
    assert r.json["results"][0]["result"] == "rejected" and r.json["results"][0]["code"] == code
    assert r.json["results"][0]["message"]
    assert r.json["results"][1]["result"] == "awaiting_photos"
    assert count(app, Check) == 1


@pytest.mark.parametrize("junk", [{}, "junk", 42, None, [1, 2], True, {"id": "x", "type": None}])
def test_a_record_that_is_not_an_object_is_rejected_alone(app, client, world, phone, junk):
    # A client bug that puts null (or a string, a number…) among the records must not refuse the
    # batch: the same batch would then be refused on every retry, and the good records with it.
    first = phone.check(world.a.schedules["daily"], world.a.version_id)
    body = phone.envelope([first, junk, phone.check(world.a.schedules["daily"], world.a.version_id)])
    r = push(client, world.a, body)
    assert r.status_code == 200, r.json
    assert [x["result"] for x in r.json["results"]] == ["awaiting_photos", "rejected", "awaiting_photos"]
    assert r.json["results"][1]["code"] == "validation_failed" and r.json["results"][1]["index"] == 1
    assert count(app, Check) == 2
    assert r.json["device_seq"]["highest"] == 2


def test_a_lone_surrogate_is_stored_as_a_replacement_character(app, client, world, phone):
    # A phone cut a note between the two halves of an emoji. JSON can carry the half ("\\ud83d"),
    # UTF-8 and both databases cannot: the check is kept, with U+FFFD where the half was —
    # refusing it would refuse the whole batch on every retry.
    cut = phone.check(world.a.schedules["daily"], world.a.version_id, note="压力表读数正常😀"[:-1] + "\ud83d")
    cut["answers"][0]["note"] = "\ude00"
    other = phone.check(world.a.schedules["daily"], world.a.version_id)
    body = json.dumps(phone.envelope([cut, other]))  # ensure_ascii: the halves travel as \\uXXXX escapes
    assert "\\ud83d" in body
    headers = {**world.a.auth(), "Content-Type": "application/json"}
    r = client.post("/api/v1/sync/push", data=body, headers=headers)
    assert r.status_code == 200, r.json
    assert [x["result"] for x in r.json["results"]] == ["awaiting_photos", "awaiting_photos"]
    with app.app_context():
        stored = db.session.get(Check, uuid.UUID(cut["id"]))
        assert stored.note == "压力表读数正常\ufffd"
        assert stored.answers[0]["note"] == "\ufffd"
    again = client.post("/api/v1/sync/push", data=body, headers=headers)
    assert [x["result"] for x in again.json["results"]] == ["duplicate", "duplicate"]
    assert count(app, Check) == 2 and count(app, CheckConflict) == 0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(protocol=2),
        lambda b: b.pop("sent"),
        lambda b: b.update(records=[]),
        lambda b: b.update(records=[{}] * 201),
        lambda b: b.update(records="nope"),
        lambda b: b["sent"].update(uptime_ms="soon"),
    ],
)
def test_a_malformed_envelope_is_refused_whole(app, client, world, phone, mutate):
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id)])
    mutate(body)
    r = push(client, world.a, body)
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"
    assert count(app, Check) == 0


def test_database_failure_mid_batch_then_retry(app, client, world, phone, monkeypatch):
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(10)])
    original = ingest._fill_missing_photos

    def fail_after_the_inserts(*args, **kwargs):
        # The checks and their slots are written (not committed) when the database goes away.
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(ingest, "_fill_missing_photos", fail_after_the_inserts)
    r = push(client, world.a, body)
    assert r.status_code == 503 and r.json["error"]["code"] == "service_unavailable"
    assert r.headers["Retry-After"]
    assert count(app, Check) == 0 and count(app, CheckPhoto) == 0 and count(app, DeviceSeq) == 0
    monkeypatch.setattr(ingest, "_fill_missing_photos", original)
    again = push(client, world.a, body)
    assert again.status_code == 200
    assert [x["result"] for x in again.json["results"]] == ["awaiting_photos"] * 10
    assert count(app, Check) == 10


def test_two_concurrent_pushes_of_one_id(app, clock, world, monkeypatch):
    """Both requests have judged the record as new before either inserts; exactly one row results."""
    phone = Phone(clock)
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id)])
    both_read = threading.Barrier(2, timeout=30)
    original = ingest.slots.present  # the last read before the insert
    first_read = threading.local()

    def read_then_wait(*args):
        rows = original(*args)
        if not getattr(first_read, "done", False):
            first_read.done = True
            both_read.wait()
        return rows

    monkeypatch.setattr(ingest.slots, "present", read_then_wait)
    answers = {}

    def send(role):
        # Supervisor and safety manager tokens have no device: nothing serialises the two
        # requests before their inserts, so the race is real on both databases.
        answers[role] = app.test_client().post("/api/v1/sync/push", json=body, headers=world.a.auth(role))

    threads = [threading.Thread(target=send, args=(role,)) for role in ("supervisor", "safety_manager")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    results = sorted(a.json["results"][0]["result"] for a in answers.values())
    assert results == ["awaiting_photos", "duplicate"]
    assert count(app, Check) == 1 and count(app, CheckPhoto) == 1


def test_another_enterprises_id_is_refused_without_trace(app, client, world, phone):
    record = phone.check(world.a.schedules["daily"], world.a.version_id)
    push(client, world.a, phone.envelope([record]))
    theirs = dict(record, schedule_id=world.b.schedules["daily"], checklist_version_id=world.b.version_id)
    r = push(client, world.b, phone.envelope([theirs]))
    assert r.json["results"][0]["result"] == "conflict"
    assert set(r.json["results"][0]) == {"index", "id", "result", "code"}  # nothing of A's check
    assert count(app, CheckConflict) == 0 and count(app, Check) == 1


def test_another_enterprises_schedule_is_not_found(app, client, world, phone):
    r = push(client, world.a, phone.envelope([phone.check(world.b.schedules["daily"], world.b.version_id)]))
    assert r.json["results"][0]["code"] == "not_found"
    assert count(app, Check) == 0


# -- time ---------------------------------------------------------------------------------------


def test_device_clock_at_2017_with_an_anchor(app, client, world, clock):
    """The phone's wall clock says 2017; its monotonic clock and an anchor date the check."""
    phone = Phone(clock, boot_id="boot-a", wall_offset=datetime(2017, 3, 1, tzinfo=timezone.utc) - clock.now())
    # At 10:00 the phone talked to the server and kept an anchor on this boot.
    anchor = {"boot_id": "boot-a", "uptime_ms": phone.uptime(), "server_time": clock.now().isoformat()}
    clock.advance(hours=1)
    record = phone.check(world.a.schedules["daily"], world.a.version_id)
    made_at = clock.now()
    clock.advance(days=2)
    phone.reboot("boot-b")  # the anchor's boot is gone; only the anchor can date the record
    r = push(client, world.a, phone.envelope([record], anchors=[anchor]))
    result = r.json["results"][0]
    assert result["time_quality"] == "anchored"
    assert result["performed_at"] == made_at.isoformat()
    assert result["period_key"] == "2026-11-23"
    assert result["flags"] == ["device_clock_wrong"]
    with app.app_context():
        check = db.session.get(Check, uuid.UUID(record["id"]))
        assert check.device_time.year == 2017  # what the phone said is kept as evidence


def test_device_clock_at_2017_without_anything_better(client, world, clock):
    phone = Phone(clock, boot_id="boot-a", wall_offset=datetime(2017, 3, 1, tzinfo=timezone.utc) - clock.now())
    record = phone.check(world.a.schedules["daily"], world.a.version_id)
    phone.reboot("boot-b")
    r = push(client, world.a, phone.envelope([record]))
    result = r.json["results"][0]
    assert result["time_quality"] == "server_receipt" and result["flags"] == ["clock_behind"]
    assert result["performed_at"] == clock.now().isoformat()


def test_reboot_offline_with_a_wrong_clock(client, world, clock):
    """Made on one boot with a right clock; rebooted to 2017; made another; synced later."""
    phone = Phone(clock, boot_id="boot-1")
    first = phone.check(world.a.schedules["daily"], world.a.version_id)
    first_made = clock.now()
    clock.advance(days=1)
    phone.reboot("boot-2", wall_offset=datetime(2017, 1, 1, tzinfo=timezone.utc) - clock.now())
    clock.advance(hours=2)
    second = phone.check(world.a.schedules["daily"], world.a.version_id)
    second_made = clock.now()
    clock.advance(days=1)
    r = push(client, world.a, phone.envelope([first, second]))
    one, two = r.json["results"]
    # The first has no monotonic link to now, but its wall time was right and is possible.
    assert one["time_quality"] == "device" and one["performed_at"] == first_made.isoformat() and one["period_key"] == "2026-11-23"
    # The second is on the sending boot: dated by the monotonic clock, whatever the wall said.
    assert two["time_quality"] == "monotonic" and two["performed_at"] == second_made.isoformat()
    assert two["period_key"] == "2026-11-24" and two["flags"] == ["device_clock_wrong"]


@pytest.mark.parametrize(
    "schedule, made_local, synced_local, key",
    [
        ("weekly", datetime(2026, 11, 29, 23, 50, tzinfo=SHANGHAI), datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI), "2026-W48"),
        ("daily", datetime(2026, 11, 29, 23, 50, tzinfo=SHANGHAI), datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI), "2026-11-29"),
        ("daily", datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI), "2026-12-31"),
        ("weekly", datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), datetime(2027, 1, 4, 8, 0, tzinfo=SHANGHAI), "2026-W53"),
        ("monthly", datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), datetime(2027, 1, 2, 8, 0, tzinfo=SHANGHAI), "2026-12"),
    ],
)
def test_late_sync_counts_for_the_period_it_was_done_in(app, client, world, clock, schedule, made_local, synced_local, key):
    from server.accounts.models import ApiToken

    with app.app_context():  # tokens last 30 days; these syncs are weeks after sign-in
        db.session.execute(sa.update(ApiToken).values(expires_at=datetime(2027, 6, 1, tzinfo=timezone.utc)))
        db.session.commit()
    clock.set(made_local.astimezone(timezone.utc))
    phone = Phone(clock)
    record = phone.check(world.a.schedules[schedule], world.a.version_id)
    clock.set(synced_local.astimezone(timezone.utc))
    r = push(client, world.a, phone.envelope([record]))
    result = r.json["results"][0]
    assert result["period_key"] == key
    assert result["performed_at"] == made_local.astimezone(timezone.utc).isoformat()


# -- versions -----------------------------------------------------------------------------------


def test_new_checklist_version_while_the_device_holds_the_old(app, client, world, clock, phone):
    from server.checklists import services as checklists

    offline_record = phone.check(world.a.schedules["daily"], world.a.version_id)
    clock.advance(hours=1)
    with app.app_context():
        checklists.publish_version(world.a.enterprise_id, world.a.checklist_id, ITEMS[:2], None)
        db.session.commit()
    clock.advance(hours=5)
    r = push(client, world.a, phone.envelope([offline_record]))
    result = r.json["results"][0]
    assert result["result"] == "awaiting_photos"
    assert result["flags"] == ["version_retired"]
    assert count(app, Check) == 1


# -- device_seq ---------------------------------------------------------------------------------


def test_gaps_in_device_seq_open_close_and_show_to_managers(app, client, world, clock, phone):
    records = [phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(6)]
    r = push(client, world.a, phone.envelope([records[0], records[1], records[4]]))
    assert r.json["device_seq"] == {"highest": 5, "gaps": [[3, 4]]}
    clock.advance(hours=1)
    r = push(client, world.a, phone.envelope([records[2], records[5]]))
    assert r.json["device_seq"] == {"highest": 6, "gaps": [[4, 4]]}

    listing = client.get("/api/v1/sync/gaps", headers=world.a.auth("safety_manager"))
    assert listing.status_code == 200
    [entry] = listing.json
    assert entry["device"]["id"] == world.a.device_id and entry["highest"] == 6
    assert entry["gaps"] == [{"first": 4, "last": 4, "count": 1, "opened_at": (clock.now() - timedelta(hours=1)).isoformat()}]
    recent = client.get("/api/v1/sync/gaps", query_string={"opened_before": (clock.now() - timedelta(hours=2)).isoformat()}, headers=world.a.auth("admin"))
    assert recent.json == []
    assert client.get("/api/v1/sync/gaps", headers=world.b.auth("safety_manager")).json == []
    assert client.get("/api/v1/sync/gaps", headers=world.a.auth("worker")).status_code == 403

    push(client, world.a, phone.envelope([records[3]]))
    assert client.get("/api/v1/sync/gaps", headers=world.a.auth("safety_manager")).json == []



def test_device_seq_in_step_and_out_of_step(app, client, world, phone):
    """A push that carries straight on from the highest number takes one conditional UPDATE;
    anything else (the device's first push, a jump, a number seen before) the full bookkeeping —
    and both leave the same row."""
    records = [phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(12)]

    def state():
        with app.app_context():
            row = db.session.get(DeviceSeq, world.a.device_id)
            return row.highest, row.gaps, row.open_gaps

    def seq_statements(batch):
        with app.app_context():
            engine = db.engine
        seen = []

        def note(conn, cursor, statement, *args):
            if "device_seqs" in statement:
                seen.append(statement.split()[0])

        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            answer = push(client, world.a, phone.envelope(batch)).json["device_seq"]
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        return answer, seen

    assert seq_statements(records[0:2])[0] == {"highest": 2, "gaps": []}  # first push: the row is made
    assert seq_statements(records[2:5]) == ({"highest": 5, "gaps": []}, ["UPDATE"])  # in step: one statement
    answer, seen = seq_statements(records[6:8])  # contiguous, but 6 never came: a gap opens
    assert answer == {"highest": 8, "gaps": [[6, 6]]} and len(seen) > 1
    assert state()[0] == 8 and state()[2] == 1
    answer, seen = seq_statements(records[8:10])  # in step, but a gap is open: the full path keeps it
    assert answer == {"highest": 10, "gaps": [[6, 6]]} and len(seen) > 1
    assert seq_statements([records[5]])[0] == {"highest": 10, "gaps": []}  # the gap closes
    assert seq_statements(records[3:5])[0] == {"highest": 10, "gaps": []}  # resent numbers change nothing
    assert seq_statements(records[10:12]) == ({"highest": 12, "gaps": []}, ["UPDATE"])
    highest, gaps, open_gaps = state()
    assert (highest, gaps, open_gaps) == (12, [], 0)

# -- the wire -----------------------------------------------------------------------------------


def test_a_gzip_body_is_accepted_and_the_answer_compressed(app, client, world, phone):
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id) for _ in range(20)])
    raw = json.dumps(body).encode()
    packed = gzip.compress(raw)
    assert len(packed) < len(raw) / 3
    r = client.post(
        "/api/v1/sync/push",
        data=packed,
        headers={**world.a.auth(), "Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
    )
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    answer = json.loads(gzip.decompress(r.data))
    assert len(answer["results"]) == 20 and count(app, Check) == 20


def test_a_gzip_bomb_is_refused(app, client, world):
    bomb = gzip.compress(b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"}")
    assert len(bomb) < 10_000
    r = client.post(
        "/api/v1/sync/push", data=bomb, headers={**world.a.auth(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "data, encoding, status",
    [(b"not gzip at all", "gzip", 400), (gzip.compress(b'{"protocol": 1}')[:-12], "gzip", 400), (b"{}", "br", 415)],
)
def test_broken_or_unknown_encodings_are_clear_errors(app, client, world, data, encoding, status):
    r = client.post(
        "/api/v1/sync/push", data=data, headers={**world.a.auth(), "Content-Type": "application/json", "Content-Encoding": encoding}
    )
    assert r.status_code == status, r.json
    assert count(app, Check) == 0


def test_push_needs_a_live_token(client, world, phone):
    body = phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id)])
    assert client.post("/api/v1/sync/push", json=body).status_code == 401


# -- photos before and after their check ----------------------------------------------------------


def _jpeg(color) -> tuple[bytes, str]:
    import hashlib
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    data = out.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def _put_photo(client, tenant, data, digest):
    return client.put(f"/api/v1/photos/{digest}", data=data, headers={**tenant.auth(), "Content-Type": "image/jpeg"})


def test_a_photo_that_arrived_before_its_check(app, client, world, phone, photo_dirs):
    data, digest = _jpeg((200, 30, 30))
    assert _put_photo(client, world.a, data, digest).status_code == 201
    answers = good_answers()
    answers[2]["photos"] = [digest]
    r = push(client, world.a, phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id, answers)]))
    result = r.json["results"][0]
    assert result["result"] == "accepted" and result["status"] == "complete" and "missing_photos" not in result
    assert count(app, CheckPhoto) == 1


def test_photos_after_their_check_complete_it_one_by_one(app, client, world, phone, photo_dirs):
    (first, first_digest), (second, second_digest) = _jpeg((200, 30, 30)), _jpeg((30, 30, 200))
    answers = good_answers()
    answers[2]["photos"] = [first_digest, second_digest]
    answers[0]["photos"] = [first_digest]  # the same photo named twice is one slot
    record = phone.check(world.a.schedules["daily"], world.a.version_id, answers)
    r = push(client, world.a, phone.envelope([record]))
    assert r.json["results"][0]["missing_photos"] == [first_digest, second_digest]
    assert count(app, CheckPhoto) == 2

    assert _put_photo(client, world.a, first, first_digest).status_code == 201
    again = push(client, world.a, phone.envelope([record]))  # the device asks again what is missing
    assert again.json["results"][0]["result"] == "duplicate"
    assert again.json["results"][0]["missing_photos"] == [second_digest]
    assert client.get(f"/api/v1/checks/{record['id']}", headers=world.a.auth()).json["status"] == "awaiting_photos"

    assert _put_photo(client, world.a, second, second_digest).status_code == 201
    assert client.get(f"/api/v1/checks/{record['id']}", headers=world.a.auth()).json["status"] == "complete"
    final = push(client, world.a, phone.envelope([record]))
    assert final.json["results"][0]["status"] == "complete" and "missing_photos" not in final.json["results"][0]


def test_another_enterprises_photo_does_not_complete_a_check(app, client, world, phone, photo_dirs):
    data, digest = _jpeg((10, 200, 10))
    assert _put_photo(client, world.b, data, digest).status_code == 201
    answers = good_answers()
    answers[2]["photos"] = [digest]
    r = push(client, world.a, phone.envelope([phone.check(world.a.schedules["daily"], world.a.version_id, answers)]))
    assert r.json["results"][0]["result"] == "awaiting_photos"
