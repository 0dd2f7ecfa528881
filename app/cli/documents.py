"""`origin-desk render`: a certificate as PDF, from the store or from a JSON file."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from app.documents.certificate_data import CertificateData
from app.errors import UserFacingError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render a certificate of origin as PDF (a draft: the QR is signed when issuing)",
        description=(
            "Render the certificate of an application as PDF with its form's layout. "
            "Without the officer's token the QR code cannot be signed, so the PDF is a "
            "draft (watermarked, unsigned QR)."
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
    parser.set_defaults(func=_render)


def _load(args: argparse.Namespace) -> CertificateData:
    if args.from_json is not None:
        from app.documents.certificate_json import certificate_data_from_json

        if args.application_number:
            raise UserFacingError("give either APPLICATION_NUMBER or --from-json, not both")
        try:
            text = args.from_json.read_bytes()
        except OSError as exc:
            raise UserFacingError(f"cannot read {args.from_json}: {exc.strerror}") from None
        return certificate_data_from_json(text)
    if not args.application_number:
        raise UserFacingError("name the application to render, or give --from-json FILE")
    from app.services import documents_source as source

    return source.certificate_data_for(args.application_number)


def _render(args: argparse.Namespace) -> int:
    from app.documents.renderer import render_certificate

    out: Path = args.out
    if out.suffix.lower() != ".pdf":
        raise UserFacingError(f"{out} should end in .pdf")
    if args.application_number and not args.from_json:
        from app.services.documents_source import issued_certificate_pdf

        issued = issued_certificate_pdf(args.application_number)
        if issued is not None:  # the signed certificate itself, byte for byte
            number, pdf = issued
            _write(out, pdf)
            print(f"wrote {out}: the issued, signed certificate {number}")
            return 0
    data = _load(args)
    result = render_certificate(data, draft=True)
    _write(out, result.pdf)
    note = "" if data.is_draft else " (as a draft: the QR code is signed with the token on issue)"
    print(f"wrote {out}: {data.form_code}, {result.page_count} page(s){note}")
    log.info("rendered %s to %s", data.reference_number, out)
    return 0


def _write(out: Path, pdf: bytes) -> None:
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_bytes(pdf)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserFacingError(f"cannot write {out}: {exc.strerror}") from None
