"""PAdES B-LTA signing against local certomancer services (OCSP, CRLs, TSA on 127.0.0.1).

* ``sign_lta_ms_per_certificate``: mean milliseconds per B-LTA signature in one token
  session (SoftHSM2 RSA-2048 key, certificate issued by certomancer), after the session's
  first signature: signature timestamp, revocation data (fetched once per session, then
  reused), DSS, document timestamp. The first signature is reported apart
  (``sign_lta_first_ms``: it fetches the OCSP answer and CRLs and sizes the document
  timestamp).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 20
PIN = "527401"


def run() -> dict[str, float]:
    from app.signing.token_session import open_token_session
    from bench.signing import trivial_render
    from tests.support.certomancer_pki import CertomancerPki
    from tests.support.pki import SoftHsm

    saved = os.environ.get("SOFTHSM2_CONF")
    with tempfile.TemporaryDirectory(prefix="bench-lta-") as tmp:
        hsm = SoftHsm(Path(tmp) / "hsm")
        hsm.activate()
        pki = CertomancerPki(Path(tmp) / "pki")
        token = pki.make_officer_token(hsm, "BENCH-LTA", PIN)
        try:
            with pki:
                session = open_token_session(
                    module_paths=[hsm.module], token_label=token.label,
                    ask_pin=lambda info, warnings: PIN,
                    registered_fingerprints={token.certs["sign"].fingerprint},
                    trust_roots=[pki.root_cert], timestamp_url=pki.timestamp_url,
                )
                with session:
                    pdfs = [trivial_render(n) for n in range(ROUNDS + 1)]
                    times = []
                    for pdf in pdfs:
                        start = time.perf_counter()
                        session.sign_pdf(pdf, field_name="Signature", page=0,
                                         box=(330, 40, 530, 140))
                        times.append((time.perf_counter() - start) * 1000)
        finally:
            if saved is None:
                os.environ.pop("SOFTHSM2_CONF", None)
            else:
                os.environ["SOFTHSM2_CONF"] = saved
    print(f"B-LTA: first {times[0]:.0f} ms, then {sum(times[1:]) / ROUNDS:.0f} ms each",
          file=sys.stderr)
    return {
        "sign_lta_ms_per_certificate": round(sum(times[1:]) / ROUNDS, 1),
        "sign_lta_first_ms": round(times[0], 1),
    }
