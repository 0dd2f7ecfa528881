"""Benchmark of the signing core on a SoftHSM2 token (RSA-2048 key, two-level test CA).

Keys returned by :func:`run`:

* ``issue_ms_per_certificate``: median milliseconds per certificate over a 100-certificate
  batch in one token session: ``render(i)`` (a trivial reportlab page unless another
  renderer is passed) + ``TokenSession.sign_pdf`` (PAdES B-B, visible field with a stamp
  image). Target: <= 30 ms on SoftHSM2.
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


def run(render: Callable[[int], bytes] | None = None) -> dict[str, float]:
    from app.signing.token_session import open_token_session
    from app.signing.token_thread import run_in_token_thread
    from tests.support.pki import KeySpec, SoftHsm, make_test_ca

    render = render or trivial_render
    previous_conf = os.environ.get("SOFTHSM2_CONF")
    with tempfile.TemporaryDirectory(prefix="bench-signing-") as tmp:
        hsm = SoftHsm(Path(tmp) / "hsm")
        hsm.activate()
        try:
            ca = make_test_ca("Bench")
            token = hsm.make_token("BENCH-DSC", ca, [KeySpec("sign", "rsa")], pin=_BENCH_PIN)
            cert = token.certs["sign"]
            stamp = _stamp_png()
            session = open_token_session(
                module_paths=[hsm.module],
                token_label="BENCH-DSC",
                ask_pin=lambda info, warnings: _BENCH_PIN,
                registered_fingerprints={cert.fingerprint},
                trust_roots=[ca.root_cert],
            )
            with session:
                for i in range(3):  # warm-up: imports, fonts, first CMS
                    session.sign_pdf(
                        render(i),
                        field_name="Sig",
                        page=0,
                        box=BOX,
                        stamp_png=stamp,
                        stamp_text="warm-up",
                    )
                per_cert = []
                for i in range(BATCH):
                    start = time.perf_counter()
                    pdf = render(i)
                    session.sign_pdf(
                        pdf,
                        field_name="OfficerSignature",
                        page=0,
                        box=BOX,
                        stamp_png=stamp,
                        stamp_text=f"Signed BENCH/{i:06d}",
                    )
                    per_cert.append((time.perf_counter() - start) * 1000)
                raw_ms = run_in_token_thread(_raw_sign_times, session._key)
            cli_ms = _pyhanko_cli_times(hsm, token.label, Path(tmp), render)
        finally:
            if previous_conf is None:
                os.environ.pop("SOFTHSM2_CONF", None)
            else:
                os.environ["SOFTHSM2_CONF"] = previous_conf
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

    print(json.dumps(run(), indent=2))
