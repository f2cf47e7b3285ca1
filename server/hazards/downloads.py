"""The ledger's files as HTTP answers, for both doors (the API's ``/api/v1/hazards/export.*`` and
the dashboard's ``/manage/hazards/export.*``): the same bytes, names and headers — attachments
with a Chinese file name, never cached, never sniffed."""
from __future__ import annotations

from flask import Response, stream_with_context

from server.accounts.auth import Principal
from server.hazards import ledger

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _download(body, mimetype: str, names: tuple[str, str]) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = ledger.content_disposition(*names)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def ledger_xlsx(principal: Principal, filters: dict) -> Response:
    """The hazard ledger (隐患台账) as an XLSX workbook, under ``filters`` and in the listing's order."""
    body = ledger.xlsx_bytes(ledger.export_rows(principal, filters), principal, filters)
    return _download(body, XLSX, ledger.download_names("hazard-ledger", "隐患台账", "xlsx", principal))


def ledger_csv(principal: Principal, filters: dict) -> Response:
    """The hazard ledger as CSV (UTF-8 with a BOM, for Excel), streamed."""
    chunks = ledger.csv_chunks(ledger.export_rows(principal, filters))
    return _download(stream_with_context(chunks), CSV, ledger.download_names("hazard-ledger", "隐患台账", "csv", principal))


def major_report(principal: Principal, hazard_id: int) -> Response:
    """重大事故隐患报告 of a hazard graded 重大, as a PDF attachment."""
    body, number = ledger.major_report(principal, hazard_id)
    return _download(body, "application/pdf", (f"major-hazard-report-{number}.pdf", f"重大事故隐患报告-{number}.pdf"))
