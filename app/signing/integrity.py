"""What a signed PDF's bytes say beyond the signature's own verdict.

pyHanko checks that the signed byte ranges hash to the signed digest and, with its
standard diff policy, classifies what later incremental updates changed. Two things it
lets through are tampering for a Certificate of Origin, and ``pdfsig`` says "Not total
document signed" for both:

* **padding**: pyHanko reads the CMS DER at the start of ``/Contents`` and ignores what
  follows; the rest of ``/Contents`` must be zero padding (:func:`contents_padding_untouched`);
* **later revisions**: a revision after the signed one must carry a document timestamp
  (``/DocTimeStamp``) or write validation data (a ``/DSS`` in the catalog, with objects of
  its own), and the trailer's ``/Info`` may differ from the signed revision's only in
  ``/ModDate`` and ``/Producer`` (what pyHanko writes with every update, a B-LTA
  extension's too). pyHanko's diff analysis does not look at ``/Info`` at all, and a
  revision that changes nothing it knows is "no modification" to it
  (:func:`later_revisions_problem`).

:func:`check_integrity` reads the file once and answers for every signature and document
timestamp. Nothing here verifies a signature: ``app.signing.validation`` does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PYHANKO_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
"""Entries of ``/Info`` that a later revision may change (pyHanko rewrites them)."""

_HEX_STRING = re.compile(rb"<[0-9A-Fa-f]*>")


@dataclass(frozen=True)
class SignatureIntegrity:
    field: str
    kind: str  # "signature" or "document timestamp"
    signed_revision: int  # 0 = the oldest
    signed_bytes: int  # where the signed revision ends: the end of the second byte range
    padding_untouched: bool
    later_changes: str  # "" when every later revision is validation data or a timestamp


@dataclass(frozen=True)
class IntegrityReport:
    signatures: tuple[SignatureIntegrity, ...]
    revisions: int
    problem: str = ""  # the file cannot be read this way (the signature check says more)

    @property
    def padding_untouched(self) -> bool | None:
        if not self.signatures:
            return None
        return all(s.padding_untouched for s in self.signatures)

    def later_changes(self) -> str:
        """What the revisions after the (first) signature change beyond validation data and
        document timestamps ("" when nothing)."""
        for sig in self.signatures:
            if sig.kind == "signature" and sig.later_changes:
                return sig.later_changes
        return ""


_EOF_MARKER = re.compile(rb"%%EOF(?:\r\n|\r|\n)?")


def revision_ends(pdf_bytes: bytes) -> list[int]:
    """Where each ``%%EOF`` marker (with its end of line) ends: the length of the file as
    it was after each revision, for an earlier file that later revisions extend. The
    candidates are only compared by digest, so a marker inside a stream does no harm."""
    return [m.end() for m in _EOF_MARKER.finditer(pdf_bytes)]


def contents_padding_untouched(pdf_bytes: bytes, byte_range: Sequence[int]) -> bool:
    """Is the gap between the two signed ranges exactly ``<hex>``, the CMS DER followed
    by nothing but zeros?"""
    if len(byte_range) != 4:
        return False
    start, end = int(byte_range[1]), int(byte_range[2])
    gap = pdf_bytes[start:end]
    if _HEX_STRING.fullmatch(gap) is None or len(gap) % 2:
        return False
    der = bytes.fromhex(gap[1:-1].decode())
    length = der_length(der)
    return length is not None and not any(der[length:])


def der_length(der: bytes) -> int | None:
    """The length of the DER SEQUENCE at the start of ``der`` (None: not one)."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    if der[1] < 0x80:
        length = 2 + der[1]
    else:
        count = der[1] & 0x7F
        if not 0 < count <= 4 or len(der) < 2 + count:
            return None
        length = 2 + count + int.from_bytes(der[2:2 + count], "big")
    return length if length <= len(der) else None


def check_integrity(pdf_bytes: bytes) -> IntegrityReport:
    """Padding and later revisions for every signature and document timestamp."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf_bytes)), strict=False)
        embedded = list(reader.embedded_signatures)
        revisions = reader.xrefs.total_revisions
    except Exception as exc:  # noqa: BLE001 - the signature check reports unreadable files
        log.info("integrity not checked: %s", exc)
        return IntegrityReport((), 0, problem=f"the file cannot be read ({type(exc).__name__})")
    stamps = {s.signed_revision for s in embedded if s.sig_object_type == "/DocTimeStamp"}
    found = []
    for sig in embedded:
        try:
            byte_range = [int(v) for v in sig.byte_range]
            padding = contents_padding_untouched(pdf_bytes, byte_range)
            signed_bytes = byte_range[2] + byte_range[3]
        except (TypeError, ValueError, IndexError):
            padding, signed_bytes = False, 0
        try:
            later = later_revisions_problem(reader, sig.signed_revision, stamps)
        except Exception as exc:  # noqa: BLE001 - unreadable later revisions are a change
            later = f"a later revision cannot be read ({type(exc).__name__})"
        kind = "document timestamp" if sig.sig_object_type == "/DocTimeStamp" else "signature"
        found.append(SignatureIntegrity(str(sig.field_name), kind, sig.signed_revision,
                                        signed_bytes, padding, later))
    return IntegrityReport(tuple(found), revisions)


def later_revisions_problem(reader: Any, signed: int, stamps: set[int]) -> str:
    """Why a revision after ``signed`` is more than validation data or a document
    timestamp ("" when every later revision is only that)."""
    info_then = _info(reader, signed)
    for revision in range(signed + 1, reader.xrefs.total_revisions):
        info_now = _info(reader, revision)
        changed = sorted(k for k in set(info_then) | set(info_now)
                         if k not in PYHANKO_INFO_KEYS and info_then.get(k) != info_now.get(k))
        if changed:
            return (f"revision {revision + 1} changes the document information "
                    f"({', '.join(k.lstrip('/') for k in changed)})")
        problem = RevisionReview(reader, revision).problem()
        if problem:
            return f"revision {revision + 1} {problem}"
    return ""


def _info(reader: Any, revision: int) -> dict[str, str]:
    try:
        trailer = reader.get_historical_resolver(revision).trailer_view
        info = trailer.get("/Info")
        info = info.get_object() if info is not None else {}
        return {str(k): repr(v) for k, v in info.items()}
    except Exception:  # noqa: BLE001 - a broken /Info counts as a change
        return {"/Info": "unreadable"}


VALIDATION_ARRAYS = {"/Certs", "/OCSPs", "/CRLs"}
"""The DSS's arrays of validation data streams (ISO 32000-2, 12.8.4.3)."""
VRI_ARRAYS = {"/Cert", "/OCSP", "/CRL"}
DATA_STREAM_KEYS = {"/Length", "/Filter", "/DecodeParms", "/DL"}
"""What the dictionary of a certificate, OCSP response or CRL stream may hold."""
XMP_CHANGING = {"ModifyDate", "MetadataDate", "Producer"}
"""XMP properties a later revision may change (pyHanko rewrites them, as /Info's)."""


class NotValidationData(Exception):
    """The part of the file being walked is shaped like something else."""


class RevisionReview:
    """Does one revision write nothing but validation data and document timestamps?

    Every object the revision writes must be one of: the DSS and its arrays, VRI
    dictionaries and data streams (new, or validation data already); a new document
    timestamp field with its signature dictionary and an invisible widget; the catalog
    with only ``/DSS`` (or a direct ``/AcroForm``) changed; the form with only timestamp
    fields appended to ``/Fields``; a page with only timestamp widgets appended to
    ``/Annots``; the trailer's ``/Info`` (checked apart) or the XMP metadata with only its
    dates and producer changed; or the same object as before."""

    def __init__(self, reader: Any, revision: int) -> None:
        self.reader = reader
        self.revision = revision
        self.before = reader.get_historical_resolver(revision - 1)
        self.after = reader.get_historical_resolver(revision)

    def problem(self) -> str:
        from pyhanko.pdf_utils import generic

        reader, before, after = self.reader, self.before, self.after
        if reader.xrefs.refs_freed_in_revision(self.revision):
            return "deletes objects"
        for key in ("/Root", "/Encrypt"):
            if _raw(before.trailer_view, key) != _raw(after.trailer_view, key):
                return f"replaces the trailer's {key.lstrip('/')}"
        try:
            dss_then = self._validation_data(before)
            dss_now = self._validation_data(after)
        except NotValidationData as exc:
            return f"writes a DSS that holds more than validation data ({exc})"
        except Exception as exc:  # noqa: BLE001 - an unreadable DSS is not validation data
            return f"writes a DSS that cannot be read ({type(exc).__name__})"
        written = sorted(reader.xrefs.explicit_refs_in_revision(self.revision),
                         key=lambda r: r.idnum)
        old = {ref.idnum: self._old(ref) for ref in written}
        size_then = int(before.trailer_view.get("/Size", 0))
        stamp_fields, stamp_objects = self._new_timestamp_fields(old)
        catalog = reader.root_ref.idnum
        info = _raw(after.trailer_view, "/Info")
        metadata = _raw(after.root, "/Metadata")
        wrote_data = False
        for ref in written:
            idnum, then = ref.idnum, old[ref.idnum]
            now = after(generic.Reference(ref.idnum, ref.generation))
            if then is not None and _same(then, now):
                continue
            if idnum in dss_now and (then is None or idnum in dss_then):
                wrote_data = True
                continue
            if then is None:
                if idnum in stamp_objects or _is_container(now):
                    if idnum < size_then and not _is_container(now):
                        return f"defines object {idnum}, which earlier revisions refer to"
                    continue
                return f"adds an object that is not validation data (object {idnum})"
            if idnum == catalog:
                problem = self._catalog_problem(then, now, stamp_fields)
            elif isinstance(info, generic.IndirectObject) and idnum == info.idnum:
                problem = ""  # its entries are compared apart (_info)
            elif isinstance(metadata, generic.IndirectObject) and idnum == metadata.idnum:
                problem = _xmp_problem(then, now)
            else:
                problem = self._container_problem(idnum, then, now, stamp_fields)
            if problem:
                return problem
        if not (wrote_data or stamp_fields):
            return "adds neither validation data nor a document timestamp"
        return ""

    def _old(self, ref: Any) -> Any:
        from pyhanko.pdf_utils import generic

        try:
            if self.reader.xrefs.get_introducing_revision(ref) >= self.revision:
                return None
        except KeyError:
            return None
        obj = self.before(generic.Reference(ref.idnum, ref.generation))
        return None if isinstance(obj, generic.NullObject) else obj

    def _validation_data(self, resolver: Any) -> set[int]:
        """The objects of ``resolver``'s DSS, checked to be nothing but validation data."""
        from pyhanko.pdf_utils import generic

        seen: set[int] = set()

        def load(value: Any) -> Any:
            if isinstance(value, generic.IndirectObject):
                seen.add(value.idnum)
                return resolver(generic.Reference(value.idnum, value.generation))
            return value

        def streams(value: Any, where: str) -> None:
            array = load(value)
            if not isinstance(array, generic.ArrayObject):
                raise NotValidationData(f"{where} is not an array")
            for item in array:
                if not isinstance(item, generic.IndirectObject):
                    raise NotValidationData(f"{where} holds a direct object")
                stream = load(item)
                if not isinstance(stream, generic.StreamObject) or set(stream) - DATA_STREAM_KEYS:
                    raise NotValidationData(f"{where} holds object {item.idnum}, not a data "
                                            "stream")
                load(stream.raw_get("/Length"))

        catalog = resolver.root
        if "/DSS" not in catalog:
            return seen
        dss = load(catalog.raw_get("/DSS"))
        if not isinstance(dss, generic.DictionaryObject) or isinstance(dss, generic.StreamObject):
            raise NotValidationData("/DSS is not a dictionary")
        for key in dss:
            if key in VALIDATION_ARRAYS:
                streams(dss.raw_get(key), key)
            elif key == "/VRI":
                vri = load(dss.raw_get(key))
                if not isinstance(vri, generic.DictionaryObject):
                    raise NotValidationData("/VRI is not a dictionary")
                for name in vri:
                    entry = load(vri.raw_get(name))
                    if not isinstance(entry, generic.DictionaryObject):
                        raise NotValidationData("a VRI entry is not a dictionary")
                    for entry_key in entry:
                        if entry_key in VRI_ARRAYS:
                            streams(entry.raw_get(entry_key), f"VRI {entry_key}")
                        elif entry_key == "/TS":
                            streams(generic.ArrayObject([entry.raw_get(entry_key)]), "VRI /TS")
                        elif entry_key == "/TU":
                            if not isinstance(entry.raw_get(entry_key), generic.TextStringObject
                                              | generic.ByteStringObject):
                                raise NotValidationData("VRI /TU is not a date")
                        elif entry_key != "/Type":
                            raise NotValidationData(f"a VRI entry holds {entry_key}")
            elif key != "/Type":
                raise NotValidationData(f"it holds {key}")
        return seen

    def _new_timestamp_fields(self, old: dict[int, Any]) -> tuple[set[int], set[int]]:
        """The document timestamp fields this revision adds to the form (their ids), and
        every object they are made of (field, widgets, signature dictionary)."""
        from pyhanko.pdf_utils import generic

        fields: set[int] = set()
        objects: set[int] = set()
        try:
            form = self.after.root["/AcroForm"]
            listed = form.raw_get("/Fields")
            if isinstance(listed, generic.IndirectObject):
                listed = self.after(listed.reference)
        except Exception:  # noqa: BLE001 - no form: no timestamp fields
            return fields, objects
        for item in listed:
            if not isinstance(item, generic.IndirectObject) or old.get(item.idnum, 0) is not None:
                continue  # not written in this revision as a new object
            field = self.after(item.reference)
            parts = _timestamp_field_parts(self.after, item.idnum, field)
            if parts and all(old.get(p, 0) is None for p in parts):
                fields.add(item.idnum)
                objects |= parts
        return fields, objects

    def _catalog_problem(self, then: Any, now: Any, stamp_fields: set[int]) -> str:
        changed = _changed_keys(then, now) - {"/DSS"}
        if "/AcroForm" in changed:
            form_then, form_now = then.raw_get("/AcroForm"), now.raw_get("/AcroForm")
            if isinstance(form_then, dict) and isinstance(form_now, dict):
                problem = self._form_problem(form_then, form_now, stamp_fields)
                if problem:
                    return problem
                changed.discard("/AcroForm")
        if changed:
            return ("changes the document catalog "
                    f"({', '.join(sorted(k.lstrip('/') for k in changed))})")
        return ""

    def _form_problem(self, then: Any, now: Any, stamp_fields: set[int]) -> str:
        changed = _changed_keys(then, now)
        if changed - {"/Fields"}:
            return ("changes the form "
                    f"({', '.join(sorted(k.lstrip('/') for k in changed - {'/Fields'}))})")
        if "/Fields" in changed:
            return _appended_problem(then.raw_get("/Fields"), now.raw_get("/Fields"),
                                     stamp_fields, "the form's fields")
        return ""

    def _container_problem(self, idnum: int, then: Any, now: Any,
                           stamp_fields: set[int]) -> str:
        """A changed object that is not validation data: the form, its field list, a page
        or a page's annotation list may only gain document timestamp fields / widgets."""
        from pyhanko.pdf_utils import generic

        form = _raw(self.after.root, "/AcroForm")
        if isinstance(form, generic.IndirectObject) and form.idnum == idnum:
            return self._form_problem(then, now, stamp_fields)
        if isinstance(then, generic.DictionaryObject) and then.get("/Type") == "/Page":
            changed = _changed_keys(then, now)
            if changed - {"/Annots"}:
                return (f"changes page object {idnum} "
                        f"({', '.join(sorted(k.lstrip('/') for k in changed - {'/Annots'}))})")
            return _appended_problem(_raw(then, "/Annots") or generic.ArrayObject(),
                                     now.raw_get("/Annots"), stamp_fields,
                                     f"page object {idnum}'s annotations")
        if (isinstance(then, generic.ArrayObject) and isinstance(now, generic.ArrayObject)
                and not _appended_problem(then, now, stamp_fields, "") and self._lists(idnum)):
            return ""  # an indirect /Fields or /Annots array that gains timestamps only
        return f"changes object {idnum}, which is not validation data"

    def _lists(self, idnum: int) -> bool:
        """Is ``idnum`` the form's /Fields array or a page's /Annots array (then and now)?"""
        from pyhanko.pdf_utils import generic

        for resolver in (self.before, self.after):
            holders = []
            with contextlib.suppress(Exception):  # no form: no field list
                holders.append(resolver.root["/AcroForm"].raw_get("/Fields"))
            try:
                for page in _pages(resolver):
                    holders.append(_raw(page, "/Annots"))
            except Exception:  # noqa: BLE001 - an unreadable page tree lists nothing
                return False
            if not any(isinstance(h, generic.IndirectObject) and h.idnum == idnum
                       for h in holders):
                return False
        return True


def _pages(resolver: Any) -> list[Any]:
    from pyhanko.pdf_utils import generic

    found, todo, seen = [], [resolver.root.raw_get("/Pages")], set()
    while todo:
        ref = todo.pop()
        if not isinstance(ref, generic.IndirectObject) or ref.idnum in seen:
            continue
        seen.add(ref.idnum)
        node = resolver(ref.reference)
        if node.get("/Type") == "/Pages":
            todo.extend(node.raw_get("/Kids"))
        else:
            found.append(node)
    return found


def _timestamp_field_parts(resolver: Any, idnum: int, field: Any) -> set[int]:
    """The objects of a document timestamp field (itself, its signature dictionary, its
    widgets), or an empty set when ``field`` is something else: a field of type /Sig
    whose value is a /DocTimeStamp and whose widgets are invisible (zero area), without
    an appearance."""
    from pyhanko.pdf_utils import generic

    if not isinstance(field, generic.DictionaryObject) or field.get("/FT") != "/Sig":
        return set()
    value = _raw(field, "/V")
    if not isinstance(value, generic.IndirectObject):
        return set()
    signature = resolver(value.reference)
    if not isinstance(signature, generic.DictionaryObject) or \
            signature.get("/Type") != "/DocTimeStamp":
        return set()
    parts = {idnum, value.idnum}
    widgets = [(idnum, field)]
    if "/Kids" in field:
        if field.get("/Subtype") == "/Widget":
            return set()
        widgets = []
        for kid in field.raw_get("/Kids"):
            if not isinstance(kid, generic.IndirectObject):
                return set()
            widgets.append((kid.idnum, resolver(kid.reference)))
    for widget_id, widget in widgets:
        if widget.get("/Subtype") != "/Widget" or "/AP" in widget or "/Kids" in widget:
            return set()
        try:
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        except (KeyError, TypeError, ValueError):
            return set()
        if x1 != x2 and y1 != y2:
            return set()
        parts.add(widget_id)
    return parts


def _appended_problem(then: Any, now: Any, allowed: set[int], what: str) -> str:
    """``now`` is ``then`` with only ids from ``allowed`` appended (both arrays, direct or
    not: an indirect array that stays the same reference is compared where it is written)."""
    from pyhanko.pdf_utils import generic

    if isinstance(then, generic.IndirectObject) or isinstance(now, generic.IndirectObject):
        return "" if then == now else f"replaces {what}"
    if not isinstance(now, generic.ArrayObject) or list(now)[:len(then)] != list(then):
        return f"changes {what}"
    added = list(now)[len(then):]  # iterating an array gives its items as written
    if all(isinstance(a, generic.IndirectObject) and a.idnum in allowed for a in added):
        return ""
    return f"adds to {what} something other than a document timestamp"


def _raw(container: Any, key: str) -> Any:
    """``container``'s entry as written (a reference stays one), None when absent."""
    return container.raw_get(key) if key in container else None


def _changed_keys(then: Any, now: Any) -> set[str]:
    return {str(k) for k in set(then) | set(now)
            if k not in then or k not in now or then.raw_get(k) != now.raw_get(k)}


def _same(then: Any, now: Any) -> bool:
    from pyhanko.pdf_utils import generic

    if isinstance(then, generic.StreamObject) or isinstance(now, generic.StreamObject):
        return (isinstance(then, generic.StreamObject) and isinstance(now, generic.StreamObject)
                and not _changed_keys(then, now) and then.encoded_data == now.encoded_data)
    if isinstance(then, generic.DictionaryObject) and isinstance(now, generic.DictionaryObject):
        return not _changed_keys(then, now)
    return type(then) is type(now) and then == now


def _is_container(obj: Any) -> bool:
    """A cross-reference stream or an object stream: file structure, not content."""
    from pyhanko.pdf_utils import generic

    return isinstance(obj, generic.StreamObject) and obj.get("/Type") in ("/XRef", "/ObjStm")


def _xmp_problem(then: Any, now: Any) -> str:
    """The XMP metadata may change only its dates and producer (pyHanko rewrites them)."""
    changed = _changed_keys(then, now) - {"/Length", "/Filter", "/DecodeParms"}
    if changed:
        return "changes the metadata stream's dictionary"
    try:
        facts = [_xmp_facts(then), _xmp_facts(now)]
    except Exception:  # noqa: BLE001 - unreadable metadata is a change
        return "writes metadata that cannot be read"
    if facts[0] != facts[1]:
        names = sorted({k for k in set(facts[0]) ^ set(facts[1])}
                       | {k for k in set(facts[0]) & set(facts[1])
                          if facts[0][k] != facts[1][k]})
        return f"changes the XMP metadata ({', '.join(n.rsplit('/', 1)[-1] for n in names)})"
    return ""


def _xmp_facts(stream: Any) -> dict[str, str]:
    from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp

    facts = {}
    for number, root in enumerate(parse_xmp(io.BytesIO(stream.data))):
        for name, value in root:
            if name.local_name not in XMP_CHANGING:
                facts[f"{number}:{name.ns}{name.local_name}"] = repr(value)
    return facts
