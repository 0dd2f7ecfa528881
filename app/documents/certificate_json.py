"""CertificateData to and from JSON (files for `render --from-json`, fixtures, interchange).

Dates are ISO ``YYYY-MM-DD``, decimals are strings (``"12.50"``) so nothing is rounded,
PNG images are base64, tuples are arrays, absent optional parts are ``null`` or left out.
Unknown keys are refused, so a typo does not silently drop a value.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import types
import typing
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from app.documents.certificate_data import CertificateData, CertificateDataError

JSON_FORMAT = "origin-desk/certificate-data/1"


def certificate_data_to_dict(data: CertificateData) -> dict[str, Any]:
    out = _to_plain(data)
    assert isinstance(out, dict)
    return {"format": JSON_FORMAT, **out}


def certificate_data_to_json(data: CertificateData, *, indent: int | None = 2) -> str:
    return json.dumps(certificate_data_to_dict(data), ensure_ascii=False, indent=indent)


def certificate_data_from_json(text: str | bytes) -> CertificateData:
    """Parse JSON made by :func:`certificate_data_to_json`; raise CertificateDataError."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CertificateDataError(f"certificate data is not valid JSON: {exc}") from None
    return certificate_data_from_dict(raw)


def certificate_data_from_dict(raw: object) -> CertificateData:
    if not isinstance(raw, dict):
        raise CertificateDataError("certificate data: expected a JSON object at the top")
    raw = dict(raw)
    fmt = raw.pop("format", JSON_FORMAT)
    if fmt != JSON_FORMAT:
        raise CertificateDataError(
            f"certificate data: format is {fmt!r}; this version reads {JSON_FORMAT!r}"
        )
    value = _from_plain(CertificateData, raw, "")
    assert isinstance(value, CertificateData)
    return value


def _to_plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(path: str, problem: str) -> CertificateDataError:
    return CertificateDataError(f"certificate data: {path or 'top level'} {problem}")


def _from_plain(tp: Any, raw: object, path: str) -> object:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if raw is None:
            return None
        return _from_plain(args[0], raw, path)
    if origin is typing.Literal:
        if raw not in typing.get_args(tp):
            allowed = ", ".join(map(str, typing.get_args(tp)))
            raise _bad(path, f"is {raw!r}; expected one of {allowed}")
        return raw
    if origin is tuple:
        if not isinstance(raw, list):
            raise _bad(path, "must be a JSON array")
        (item_tp, _ellipsis) = typing.get_args(tp)
        return tuple(_from_plain(item_tp, v, f"{path}[{i}]") for i, v in enumerate(raw))
    if dataclasses.is_dataclass(tp):
        if not isinstance(raw, dict):
            raise _bad(path, "must be a JSON object")
        hints = _hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise _bad(path, f"has unknown key(s) {', '.join(unknown)}")
        kwargs = {}
        for name, f in fields.items():
            sub = f"{path}.{name}" if path else name
            if name not in raw:
                no_default = (
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                )
                if no_default:
                    raise _bad(sub, "is missing")
                continue
            kwargs[name] = _from_plain(hints[name], raw[name], sub)
        return tp(**kwargs)
    if tp is Decimal:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise _bad(path, f"is {raw!r}; write decimals as strings, e.g. \"12.50\"")
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            raise _bad(path, f"is {raw!r}; not a decimal number") from None
    if tp is date:
        if not isinstance(raw, str):
            raise _bad(path, f"is {raw!r}; expected a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _bad(path, f"is {raw!r}; expected a date as YYYY-MM-DD") from None
    if tp is bytes:
        if not isinstance(raw, str):
            raise _bad(path, "must be base64 text")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(path, "is not valid base64") from None
    if tp is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _bad(path, f"is {raw!r}; expected a whole number")
        return raw
    if tp is str:
        if not isinstance(raw, str):
            raise _bad(path, f"is {raw!r}; expected text")
        return raw
    raise TypeError(f"no JSON conversion for {tp!r} at {path}")  # a programming error
