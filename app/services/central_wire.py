"""The central interface's values as JSON, for the central service and its HTTP client.

Both ends are Origin Desk, so the format is ours and exact: bytes travel as base64,
datetimes and dates as ISO text, decimals as text (nothing is rounded). A pull's rows
travel column-wise typed: each table names the type of each column once (``b`` bytes,
``t`` datetime, ``d`` date, ``n`` decimal, ``""`` as JSON has it) and its rows are plain
arrays, which keeps a 10,000-application pull cheap to encode and decode.

Every ``*_from_wire`` function checks what it reads and raises :class:`WireError` with one
line naming the field; the service answers such a request 422, the desk treats it as a
broken answer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from app.errors import UserFacingError
from app.services.central import ApplicationState, CertificateStatusInfo
from app.services.central_issuing import RecordedIssue, Reservation
from app.store.link import CentralInfo, PullBatch
from app.store.operations import Operation, OperationResult
from app.store.pull_sql import ApplicationFilter

MAX_IDS = 100_000


class WireError(UserFacingError):
    """A value on the wire is not what the central interface expects."""


def dumps(value: Any) -> bytes:
    """JSON bytes (orjson: a first sync's tens of MB several times faster)."""
    return orjson.dumps(value)


def loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise WireError("The body is not valid JSON.") from None


# --- scalars -------------------------------------------------------------------------------

def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode("ascii")


def unb64(value: Any, name: str, *, optional: bool = False) -> bytes | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise WireError(f"{name}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(f"{name}: not valid base64") from None


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def when(value: Any, name: str, *, optional: bool = False) -> dt.datetime | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise WireError(f"{name}: expected an ISO date and time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise WireError(f"{name}: {value[:40]!r} is not an ISO date and time") from None
    return moment


def day(value: Any, name: str) -> dt.date:
    if not isinstance(value, str):
        raise WireError(f"{name}: expected an ISO date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise WireError(f"{name}: {value[:40]!r} is not an ISO date") from None


def text(value: Any, name: str, *, optional: bool = False, limit: int = 10_000) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise WireError(f"{name}: expected text")
    if len(value) > limit:
        raise WireError(f"{name}: longer than {limit} characters")
    return value


def integer(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"{name}: expected a whole number")
    return value


def integers(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise WireError(f"{name}: expected a list of at most {MAX_IDS:,} whole numbers")
    return tuple(integer(v, f"{name}[{i}]") for i, v in enumerate(value))  # type: ignore[misc]


def texts(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise WireError(f"{name}: expected a list of at most {MAX_IDS:,} texts")
    return tuple(text(v, f"{name}[{i}]", limit=200) for i, v in enumerate(value))  # type: ignore[misc]


def mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{name}: expected a JSON object")
    return value


# --- hello, push, pull -----------------------------------------------------------------------

def info_to_wire(info: CentralInfo) -> dict[str, Any]:
    return {"user_id": info.user_id, "email": info.email, "role": str(info.role),
            "agency_id": info.agency_id, "office_ids": list(info.office_ids),
            "revision": info.revision, "identity": info.identity}


def info_from_wire(raw: Any) -> CentralInfo:
    raw = mapping(raw, "hello")
    return CentralInfo(
        user_id=integer(raw.get("user_id"), "user_id"), email=text(raw.get("email"), "email"),
        role=text(raw.get("role"), "role"), agency_id=integer(raw.get("agency_id"), "agency_id"),
        office_ids=integers(raw.get("office_ids"), "office_ids"),
        revision=text(raw.get("revision"), "revision"),
        identity=text(raw.get("identity"), "identity"),
    )  # type: ignore[arg-type]


def operation_to_wire(op: Operation) -> dict[str, Any]:
    return {"operation_id": op.operation_id, "application_id": op.application_id,
            "action": op.action, "text": op.text, "expected_version": op.expected_version,
            "created_at": iso(op.created_at)}


def operations_from_wire(raw: Any) -> list[Operation]:
    if not isinstance(raw, list) or len(raw) > 10_000:
        raise WireError("operations: expected a list of at most 10,000 operations")
    out = []
    for i, item in enumerate(raw):
        item = mapping(item, f"operations[{i}]")
        out.append(Operation(
            operation_id=text(item.get("operation_id"), f"operations[{i}].operation_id",
                              limit=36),
            application_id=integer(item.get("application_id"),
                                   f"operations[{i}].application_id"),
            action=text(item.get("action"), f"operations[{i}].action", limit=20),
            text=text(item.get("text"), f"operations[{i}].text", optional=True),
            expected_version=integer(item.get("expected_version"),
                                     f"operations[{i}].expected_version", optional=True),
            created_at=when(item.get("created_at"), f"operations[{i}].created_at"),
        ))  # type: ignore[arg-type]
    return out


def result_to_wire(result: OperationResult) -> dict[str, Any]:
    return {"operation_id": result.operation_id, "outcome": result.outcome,
            "reason": result.reason, "version_after": result.version_after}


def results_from_wire(raw: Any) -> list[OperationResult]:
    if not isinstance(raw, list):
        raise WireError("results: expected a list")
    return [OperationResult(
        operation_id=text(r.get("operation_id"), "operation_id"),
        outcome=text(r.get("outcome"), "outcome"), reason=text(r.get("reason"), "reason"),
        version_after=integer(r.get("version_after"), "version_after", optional=True),
    ) for r in (mapping(item, "result") for item in raw)]  # type: ignore[arg-type]


def filter_to_wire(filter_: ApplicationFilter) -> dict[str, Any]:
    return {"office_ids": list(filter_.office_ids),
            "cursors": {str(k): v for k, v in filter_.cursors.items()},
            "force_ids": list(filter_.force_ids)}


def filter_from_wire(raw: Any) -> ApplicationFilter:
    raw = mapping(raw, "filter")
    cursors = mapping(raw.get("cursors", {}), "filter.cursors")
    parsed: dict[int, int] = {}
    for key, value in cursors.items():
        if not key.isdigit():
            raise WireError(f"filter.cursors: {key[:20]!r} is not an office id")
        parsed[int(key)] = integer(value, f"filter.cursors.{key}")  # type: ignore[assignment]
    return ApplicationFilter(office_ids=integers(raw.get("office_ids"), "filter.office_ids"),
                             cursors=parsed,
                             force_ids=integers(raw.get("force_ids", []), "filter.force_ids"))


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "b": lambda v: base64.b64encode(bytes(v)).decode("ascii"),
    "t": lambda v: v.isoformat(),
    "d": lambda v: v.isoformat(),
    "n": str,
}
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "b": base64.b64decode,
    "t": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "n": Decimal,
}


def _column_type(rows: Sequence[tuple[Any, ...]], index: int) -> str:
    for row in rows:
        value = row[index]
        if value is None:
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            return "b"
        if isinstance(value, dt.datetime):
            return "t"
        if isinstance(value, dt.date):
            return "d"
        if isinstance(value, Decimal):
            return "n"
        return ""
    return ""


def pull_to_wire(batch: PullBatch) -> dict[str, Any]:
    tables = []
    for name, columns, rows in batch.tables:
        types = [_column_type(rows, i) for i in range(len(columns))]
        out_rows: Any = rows  # tuples: orjson writes them as arrays
        if rows and any(types):  # typed columns re-coded column by column (zip is C)
            values = list(zip(*rows, strict=True))
            for i, kind in enumerate(types):
                if kind:
                    encode = _ENCODERS[kind]
                    values[i] = tuple(None if v is None else encode(v) for v in values[i])
            out_rows = list(zip(*values, strict=True))
        tables.append({"name": name, "columns": list(columns), "types": types,
                       "rows": out_rows})
    return {"tables": tables,
            "office_counts": {str(k): v for k, v in batch.office_counts.items()}}


def pull_from_wire(raw: Any) -> PullBatch:
    raw = mapping(raw, "pull")
    batch = PullBatch()
    tables = raw.get("tables")
    if not isinstance(tables, list):
        raise WireError("pull.tables: expected a list")
    for t, table in enumerate(tables):
        table = mapping(table, f"pull.tables[{t}]")
        name = text(table.get("name"), f"pull.tables[{t}].name", limit=63)
        columns = list(texts(table.get("columns"), f"pull.tables[{t}].columns"))
        types = list(texts(table.get("types"), f"pull.tables[{t}].types"))
        rows = table.get("rows")
        if len(types) != len(columns) or any(k and k not in _DECODERS for k in types) \
                or not isinstance(rows, list):
            raise WireError(f"pull.tables[{t}] ({name}): columns, types and rows disagree")
        coded = [(i, _DECODERS[k]) for i, k in enumerate(types) if k]
        width = len(columns)
        out: list[tuple[Any, ...]] = []
        try:
            for row in rows:  # the JSON arrays are ours to change: decoded in place
                if not isinstance(row, list) or len(row) != width:
                    raise WireError(f"pull.tables[{t}] ({name}): a row has the wrong width")
                for i, decode in coded:
                    if row[i] is not None:
                        row[i] = decode(row[i])
                out.append(tuple(row))
        except (ValueError, TypeError, InvalidOperation, binascii.Error):
            raise WireError(f"pull.tables[{t}] ({name}): a value is not of its column's type"
                            ) from None
        batch.tables.append((name, columns, out))  # type: ignore[arg-type]
    counts = mapping(raw.get("office_counts", {}), "pull.office_counts")
    batch.office_counts = {int(k): integer(v, "office_counts")  # type: ignore[misc]
                           for k, v in counts.items() if k.isdigit()}
    return batch


# --- issuing -----------------------------------------------------------------------------------

def state_to_wire(state: ApplicationState) -> dict[str, Any]:
    return {"id": state.id, "number": state.number, "status": state.status,
            "office_code": state.office_code, "served": state.served}


def states_from_wire(raw: Any) -> list[ApplicationState]:
    if not isinstance(raw, list):
        raise WireError("application states: expected a list")
    return [ApplicationState(
        id=integer(s.get("id"), "id"), number=text(s.get("number"), "number"),
        status=text(s.get("status"), "status"), office_code=text(s.get("office_code"), "code"),
        served=bool(s.get("served")),
    ) for s in (mapping(item, "state") for item in raw)]  # type: ignore[arg-type]


def reservation_to_wire(r: Reservation) -> dict[str, Any]:
    from app.documents.certificate_json import certificate_data_to_dict

    out = {
        "application_id": r.application_id, "application_number": r.application_number,
        "version": r.version, "number": r.number, "issued_at": iso(r.issued_at),
        "issue_date": iso(r.issue_date), "data": certificate_data_to_dict(r.data),
        "kind": r.kind, "office_place": r.office_place, "stamp_png": b64(r.stamp_png),
        "signature_png": b64(r.signature_png), "qr_payload": b64(r.qr_payload),
        "qr_text": r.qr_text,
    }
    return out


def reservation_from_wire(raw: Any) -> Reservation:
    from app.documents.certificate_data import CertificateDataError
    from app.documents.certificate_json import certificate_data_from_dict

    raw = mapping(raw, "reservation")
    try:
        data = certificate_data_from_dict(raw.get("data"))
    except CertificateDataError as exc:
        raise WireError(f"reservation.data: {exc}") from None
    fields: dict[str, Any] = {
        "application_id": integer(raw.get("application_id"), "reservation.application_id"),
        "application_number": text(raw.get("application_number"), "application_number"),
        "version": integer(raw.get("version"), "reservation.version"),
        "number": text(raw.get("number"), "reservation.number", limit=64),
        "issued_at": when(raw.get("issued_at"), "reservation.issued_at"),
        "issue_date": day(raw.get("issue_date"), "reservation.issue_date"),
        "data": data, "kind": text(raw.get("kind"), "reservation.kind"),
        "office_place": text(raw.get("office_place"), "reservation.office_place"),
        "stamp_png": unb64(raw.get("stamp_png"), "reservation.stamp_png", optional=True),
        "signature_png": unb64(raw.get("signature_png"), "reservation.signature_png",
                               optional=True),
    }
    fields["qr_payload"] = unb64(raw.get("qr_payload"), "reservation.qr_payload",
                                 optional=True)
    fields["qr_text"] = text(raw.get("qr_text"), "reservation.qr_text", optional=True,
                             limit=2000)
    return Reservation(**fields)


def recorded_to_wire(r: RecordedIssue) -> dict[str, Any]:
    return {"certificate_id": r.certificate_id, "issued_at": iso(r.issued_at),
            "superseded_number": r.superseded_number, "pdf_sha256": r.pdf_sha256}


def recorded_from_wire(raw: Any) -> RecordedIssue:
    raw = mapping(raw, "recorded")
    return RecordedIssue(
        certificate_id=integer(raw.get("certificate_id"), "certificate_id"),
        issued_at=when(raw.get("issued_at"), "issued_at"),
        superseded_number=text(raw.get("superseded_number"), "superseded_number",
                               optional=True),
        pdf_sha256=text(raw.get("pdf_sha256"), "pdf_sha256", limit=64),
    )  # type: ignore[arg-type]


# --- verification ----------------------------------------------------------------------------

def status_to_wire(info: CertificateStatusInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"number": info.number, "status": info.status, "issued_at": iso(info.issued_at),
            "superseded_by": info.superseded_by, "agency_code": info.agency_code,
            "agency_name": info.agency_name, "office_name": info.office_name}


def status_from_wire(raw: Any) -> CertificateStatusInfo | None:
    if raw is None:
        return None
    raw = mapping(raw, "status")
    return CertificateStatusInfo(
        number=text(raw.get("number"), "number"), status=text(raw.get("status"), "status"),
        issued_at=when(raw.get("issued_at"), "issued_at", optional=True),
        superseded_by=text(raw.get("superseded_by"), "superseded_by", optional=True),
        agency_code=text(raw.get("agency_code"), "agency_code"),
        agency_name=text(raw.get("agency_name"), "agency_name"),
        office_name=text(raw.get("office_name"), "office_name"),
    )  # type: ignore[arg-type]
