"""The agency seal's effect on the officer's token, counted by OpenSC's pkcs11-spy.

Keys returned by :func:`run`:

* ``token_signatures_per_certificate``: ``C_SignInit`` calls the officer's token receives
  per certificate over a batch of 10 issued through the embedded (SQLite) central store
  with the agency seal (the seal seals the QR payload at reservation; the token makes the
  PAdES signature only). Expected: 1.0.
* ``token_signatures_per_certificate_without_seal``: the same for 10 more without a seal
  (the token signs the QR payload too). For comparison: 2.0.

The spy sits in front of SoftHSM2 in a child process (``tests/support/seal_spy.py``); the
seal's own HSM is another module instance the spy does not see, as the central service's
HSM is in production.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 10


def run() -> dict[str, float]:
    from tests.support.seal_spy import count_token_signatures, spy_available

    if not spy_available():
        raise RuntimeError("OpenSC's pkcs11-spy.so is not installed (package opensc)")
    with tempfile.TemporaryDirectory(prefix="bench-seal-") as tmp:
        counts = count_token_signatures(Path(tmp), batch=BATCH)
    return {
        "token_signatures_per_certificate": round(counts.sealed.per_certificate, 2),
        "token_signatures_per_certificate_without_seal": round(
            counts.unsealed.per_certificate, 2),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
