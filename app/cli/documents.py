"""`origin-desk render`: a certificate as PDF, from the store or from a JSON file."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
from pathlib import Path

from app.documents.certificate_data import CertificateData
from app.errors import UserFacingError

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 20 * 1024 * 1024
"""Largest --from-json file read: 20 MB (certificate data with its images is far smaller)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="an application's certificate as PDF: the issued, signed one, else a draft",
        description=(
            "Write the certificate of an application as PDF. An issued application's signed "
            "certificate is written byte for byte (from the embedded demo or the central "
            "PostgreSQL store, or through the central service when central_url is its "
            "https:// address); otherwise a draft with its form's layout (watermarked, "
            "unsigned QR: the QR code is signed with the token on issue). The line printed "
            "says which of the two was written."
        ),
    )
    parser.add_argument(
        "application_number", nargs="?", metavar="APPLICATION_NUMBER",
        help="the application to render, looked up in the store",
    )
    parser.add_argument("--from-json", metavar="FILE", type=Path,
                        help="render certificate data from this JSON file instead")
    parser.add_argument("--out", metavar="FILE.pdf", type=Path, required=True,
                        help="where to write the PDF")
    parser.add_argument("--officer", metavar="EMAIL",
                        help="through the central service: sign in as this officer to fetch "
                             "the signed PDF (default: the officer this desk's copy belongs to)")
    parser.set_defaults(func=_render)


def _load(args: argparse.Namespace) -> CertificateData:
    if args.from_json is not None:
        from app.documents.certificate_json import certificate_data_from_json

        if args.application_number:
            raise UserFacingError("give either APPLICATION_NUMBER or --from-json, not both")
        text = _read_json(args.from_json)
        try:
            return certificate_data_from_json(text)
        except RecursionError:
            raise UserFacingError(
                f"{args.from_json}: the JSON is nested too deeply to be certificate data"
            ) from None
    if not args.application_number:
        raise UserFacingError("name the application to render, or give --from-json FILE")
    from app.services import documents_source as source

    return source.certificate_data_for(args.application_number)


def _read_json(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise UserFacingError(f"{path} is a folder, not a JSON file")
        if path.exists() and not path.is_file():
            raise UserFacingError(f"{path} is not a regular file")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise UserFacingError(
                f"{path} is larger than {MAX_JSON_BYTES // (1024 * 1024)} MB; "
                "certificate data is far smaller")
        with path.open("rb") as handle:
            return handle.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise UserFacingError(f"cannot read {path}: {exc.strerror or exc}") from None


def _render(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() != ".pdf":
        raise UserFacingError(f"{out} should end in .pdf")
    with _Output(out) as output:  # refuses an unwritable --out before any work
        if args.application_number and not args.from_json:
            from app.cli.issuing import _ask_password
            from app.config import load_config
            from app.services.documents_source import render_application

            rendered = render_application(load_config(), args.application_number,
                                          ask_password=_ask_password,
                                          officer=getattr(args, "officer", None))
            output.write(rendered.pdf)
            print(rendered.summary(out))
            log.info("render %s: wrote %s (%s)", rendered.application_number, out,
                     "signed" if rendered.issued else "draft")
            return 0
        from app.documents.renderer import render_certificate

        data = _load(args)
        result = render_certificate(data, draft=True)
        output.write(result.pdf)
    note = "" if data.is_draft else " (as a draft: the QR code is signed with the token on issue)"
    print(f"wrote {out}: {data.form_code}, {result.page_count} page(s){note}")
    log.info("rendered %s to %s", data.reference_number, out)
    return 0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _Output:
    """The --out file, written whole or not at all: a temporary file in the target folder
    is made first (so an unwritable place is refused before the work), renamed over the
    target at the end, and removed on any failure."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.tmp: Path | None = None
        self.written = False

    def __enter__(self) -> _Output:
        out = self.out
        try:
            if out.is_dir():
                raise UserFacingError(f"cannot write {out}: it is a folder")
            if out.exists() and not out.is_file():
                raise UserFacingError(f"cannot write {out}: it is not a regular file")
            folder = out.parent
            if not folder.is_dir():
                raise UserFacingError(f"cannot write {out}: the folder {folder} does not exist")
            fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
            os.close(fd)
        except OSError as exc:
            raise UserFacingError(f"cannot write {out}: {exc.strerror or exc}") from None
        except ValueError:  # a NUL character in the name
            raise UserFacingError(f"cannot write {out!r}: not a usable file name") from None
        self.tmp = Path(name)
        return self

    def write(self, data: bytes) -> None:
        assert self.tmp is not None
        try:
            self.tmp.write_bytes(data)
            os.chmod(self.tmp, 0o666 & ~_umask())  # as a plain new file would be
            os.replace(self.tmp, self.out)
        except OSError as exc:
            raise UserFacingError(f"cannot write {self.out}: {exc.strerror or exc}") from None
        self.written = True

    def __exit__(self, *exc_info: object) -> None:
        if not self.written and self.tmp is not None:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
