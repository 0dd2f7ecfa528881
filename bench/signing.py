"""Benchmark of the signing core on a SoftHSM2 token (RSA-2048 key, two-level test CA).

Keys returned by :func:`run`:

* ``issue_ms_per_certificate``: median milliseconds per certificate over a 100-certificate
  batch in one token session, through ``app.services.issuing.Issuer.issue_one``: reserve the
  number, render the certificate (``app.documents``, QR payload signed on the token), PAdES
  B-B signature with the stamp + signature appearance (the bench gives the offices a stamp
  and the officer a signature image), record certificate, PDF, fee and workflow in a
  SQLite demo store. Target: <= 30 ms on SoftHSM2.
* ``raw_sign_ms``: median milliseconds of one raw ``C_Sign`` (CKM_SHA256_RSA_PKCS) with the
  same key, measured in the same run on the token thread.
* ``issue_ratio_vs_raw_sign``: ``issue_ms_per_certificate / raw_sign_ms`` (how many raw
  token signatures one issued certificate costs; smaller is better).
* ``pyhanko_cli_ms_per_certificate``: median milliseconds of one
  ``pyhanko sign addsig ... pkcs11`` CLI call (new process, module load, login, sign) over
  10 files.
* ``issue_ratio_vs_pyhanko_cli``: ``pyhanko_cli_ms_per_certificate /
  issue_ms_per_certificate``: how many times faster our batch is per certificate than a
  loop of CLI calls (bigger is better; target >= 15).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 100
CLI_FILES = 10
BOX = (330, 40, 530, 140)
_BENCH_PIN = "246810"  # a throwaway test token's PIN


def trivial_render(number: int) -> bytes:
    """A one-page certificate-like PDF made with reportlab (stands in for the real renderer)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(72, 780, "CERTIFICATE OF ORIGIN")
    pdf.setFont("Helvetica", 10)
    pdf.drawString(72, 760, f"No. BENCH/2026/{number:06d}")
    for line, text in enumerate(
        (
            "Exporter: Test Exports Pvt Ltd, AAACR5055K",
            "Consignee: Test Importer LLC, Dubai",
            "Country of origin: INDIA",
            "Goods: 1,200 cartons of cotton T-shirts, HS 6109.10",
        )
    ):
        pdf.drawString(72, 720 - 16 * line, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _stamp_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 120), (255, 255, 255, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 232, 112), outline=(30, 40, 150, 255), width=5)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _signature_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 90), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 70), (80, 15), (140, 60), (210, 20), (290, 55)],
                               fill=(20, 30, 120, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bench_store(root: Path, cert_der: bytes, key_id: bytes, trust: Path,
                 sub_der: bytes) -> tuple:
    """A seeded demo SQLite store with >= BATCH + 3 approved applications for one officer,
    whose DSC (the bench token's certificate) is registered, whose offices have a stamp
    and who has a signature image (so every signature carries its visible appearance)."""
    from sqlalchemy import select, update

    from app.config import load_config
    from app.models import Application, ApplicationStatus, User
    from app.services.dsc import register_dsc
    from app.signing.certificates import CertificateInfo
    from app.store.central import session_factory
    from app.store.demo import create_demo_store

    os.environ["ORIGIN_DESK_HOME"] = str(root)
    os.environ["ORIGIN_DESK_TRUST_DIR"] = str(trust)
    engine = create_demo_store(root / "demo-central.sqlite")
    config = load_config()
    with session_factory(engine)() as session, session.begin():
        officer = session.scalars(select(User).where(User.email.like("rahul.menon@%"))).one()
        offices = [o.id for o in officer.offices]
        officer.signature_png = officer.signature_png or _signature_png()
        for office in officer.offices:
            office.stamp_png = office.stamp_png or _stamp_png()
        mine = Application.office_id.in_(offices)
        approved = list(session.scalars(select(Application.id).where(
            mine, Application.status == ApplicationStatus.APPROVED)))
        if len(approved) < BATCH + 3:  # top up from waiting applications (bench data only)
            extra = list(session.scalars(select(Application.id).where(
                mine, Application.status == ApplicationStatus.SUBMITTED,
                Application.kind != "in_lieu").limit(BATCH + 3 - len(approved))))
            session.execute(update(Application).where(Application.id.in_(extra))
                            .values(status=ApplicationStatus.APPROVED))
            approved += extra
        officer_id = officer.id
    register_dsc(engine, config, user_id=officer_id,
                 certificate=CertificateInfo.from_der(cert_der, key_id=key_id),
                 intermediates=[sub_der])
    return engine, config, officer_id, approved[: BATCH + 3]


def run(render: Callable[[int], bytes] | None = None, profile: str | None = None) -> dict[str, float]:
    """The real issue path: ``Issuer.issue_one`` = reserve number + render (app.documents,
    QR signed on the token) + PAdES sign with the stamp/signature appearance + record
    (certificate, PDF, fee, workflow) in a SQLite store; one token session for the batch."""
    from app.services.issuing import Issuer
    from app.signing.token_thread import run_in_token_thread
    from tests.support.pki import KeySpec, SoftHsm, make_test_ca

    render = render or trivial_render
    saved = {k: os.environ.get(k) for k in ("SOFTHSM2_CONF", "ORIGIN_DESK_HOME",
                                             "ORIGIN_DESK_TRUST_DIR", "ORIGIN_DESK_PKCS11_MODULES")}
    with tempfile.TemporaryDirectory(prefix="bench-signing-") as tmp:
        hsm = SoftHsm(Path(tmp) / "hsm")
        hsm.activate()
        try:
            ca = make_test_ca("Bench")
            token = hsm.make_token("BENCH-DSC", ca, [KeySpec("sign", "rsa")], pin=_BENCH_PIN)
            cert = token.certs["sign"]
            trust = ca.write_trust_dir(Path(tmp) / "trust")
            os.environ["ORIGIN_DESK_PKCS11_MODULES"] = hsm.module
            engine, config, officer_id, ids = _bench_store(Path(tmp) / "home", cert.der,
                                                           cert.key_id, trust, ca.sub_der)
            issuer = Issuer(engine, config, officer_id)
            session = issuer.open_token_session(lambda info, warnings: _BENCH_PIN)
            with session:
                for app_id in ids[:3]:  # warm-up: imports, fonts, first CMS
                    issuer.issue_one(app_id, session)
                per_cert = []
                profiler = None
                if profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                for app_id in ids[3:]:
                    start = time.perf_counter()
                    issuer.issue_one(app_id, session)
                    per_cert.append((time.perf_counter() - start) * 1000)
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(profile)
                raw_ms = run_in_token_thread(_raw_sign_times, session._key)
            engine.dispose()
            cli_ms = _pyhanko_cli_times(hsm, token.label, Path(tmp), render)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    issue = statistics.median(per_cert)
    raw = statistics.median(raw_ms)
    cli = statistics.median(cli_ms)
    return {
        "issue_ms_per_certificate": round(issue, 2),
        "raw_sign_ms": round(raw, 3),
        "issue_ratio_vs_raw_sign": round(issue / raw, 2),
        "pyhanko_cli_ms_per_certificate": round(cli, 1),
        "issue_ratio_vs_pyhanko_cli": round(cli / issue, 2),
    }


def _raw_sign_times(key: object, rounds: int = 100) -> list[float]:
    from pkcs11 import Mechanism

    data = os.urandom(100)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
    return times


def _pyhanko_cli_times(
    hsm: object, label: str, tmp: Path, render: Callable[[int], bytes]
) -> list[float]:
    cli = Path(sys.executable).with_name("pyhanko")
    env = {**hsm.env(), "PYHANKO_PKCS11_PIN": _BENCH_PIN}  # type: ignore[attr-defined]
    times = []
    for i in range(CLI_FILES):
        source, target = tmp / f"cli-{i}.pdf", tmp / f"cli-{i}-signed.pdf"
        source.write_bytes(render(i))
        command = [
            str(cli),
            "sign",
            "addsig",
            "--field",
            "1/330,40,530,140/OfficerSignature",
            "pkcs11",
            "--lib",
            hsm.module,
            "--token-label",
            label,  # type: ignore[attr-defined]
            "--cert-label",
            "sign",
            "--other-cert",
            "Sub CA",
            str(source),
            str(target),
        ]
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(f"pyhanko CLI failed: {result.stderr.strip()[-500:]}")
    return times


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(profile=sys.argv[1] if len(sys.argv) > 1 else None), indent=2))
