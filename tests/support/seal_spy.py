"""How many signatures the officer's token makes per certificate, counted by OpenSC's
``pkcs11-spy.so`` in front of SoftHSM2 (``../shared/RECIPES.md``). Pytest-free: the seal
tests and the bench (``token_signatures_per_certificate``) call it.

    counts = count_token_signatures(tmp_path, batch=10)
    counts.sealed.sign_inits == 10      # the agency seal seals the QR: one per certificate
    counts.unsealed.sign_inits == 20    # no seal: the token signs the QR payload too

The batches run in a child Python process (this file run as a script): the spy must be
the first to initialise SoftHSM2 there, and a process that has loaded the module directly
(as a pytest process has) could not load the spy in front of it. In the child the
officer's token is reached only through the spy; the agency seal, which in production is
the central service's HSM in another process, is a second SoftHSM2 token reached through
a *copy* of the library file: another module instance, invisible to the spy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SPY_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"
OFFICER_EMAIL = "anita.deshpande@igcc.org.in"
_PIN = "736251"
_SEAL_PIN = "918273"
_SIGN_INIT = re.compile(rb"^[0-9]+: C_SignInit", re.MULTILINE)


@dataclass(frozen=True)
class BatchCount:
    certificates: int
    sign_inits: int  # C_SignInit calls the spy saw on the officer's module

    @property
    def per_certificate(self) -> float:
        return self.sign_inits / self.certificates if self.certificates else float("nan")


@dataclass(frozen=True)
class SpyCounts:
    sealed: BatchCount
    unsealed: BatchCount
    qr_texts: tuple[str, ...]  # the sealed batch's QR texts (one per certificate)


def spy_available() -> bool:
    return os.path.isfile(SPY_MODULE)


def count_token_signatures(workdir: Path, batch: int = 10, *, unsealed: bool = True,
                           timeout: float = 600) -> SpyCounts:
    """Issue ``batch`` certificates with the seal (and, with ``unsealed``, ``batch`` more
    without it) in a child process; count the officer token's C_SignInit calls."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORIGIN_DESK_", "PKCS11SPY", "SOFTHSM2_CONF"))}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env["QT_QPA_PLATFORM"] = "offscreen"
    spec = {"workdir": str(workdir), "batch": batch, "unsealed": unsealed}
    result = subprocess.run([sys.executable, str(Path(__file__).resolve())],
                            input=json.dumps(spec), env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the spy batch failed:\n{result.stderr[-4000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return SpyCounts(BatchCount(**out["sealed"]), BatchCount(**out["unsealed"]),
                     tuple(out["qr_texts"]))


# --- the child process ----------------------------------------------------------------------


def _child(spec: dict) -> dict:  # pragma: no cover - runs in the child
    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from tests.support.pki import KeySpec, SoftHsm, make_test_ca

    workdir = Path(spec["workdir"])
    batch = int(spec["batch"])
    hsm = SoftHsm(workdir / "hsm")
    hsm.activate()
    ca = make_test_ca("Spy")
    token = hsm.make_token("DSC-SPY", ca, [KeySpec("sign", "rsa")], pin=_PIN)
    hsm.init_token("SEAL-SPY", pin=_SEAL_PIN)
    seal_module = workdir / "seal-module" / "libsofthsm2.so"
    seal_module.parent.mkdir(exist_ok=True)
    shutil.copyfile(hsm.module, seal_module)
    spy_log = workdir / "spy.log"
    home = workdir / "home"
    os.environ.update({
        "ORIGIN_DESK_HOME": str(home),
        "ORIGIN_DESK_TRUST_DIR": str(ca.write_trust_dir(workdir / "trust")),
        "ORIGIN_DESK_PKCS11_MODULES": SPY_MODULE,
        "PKCS11SPY": hsm.module,
        "PKCS11SPY_OUTPUT": str(spy_log),
        "OD_SPY_SEAL_PIN": _SEAL_PIN,
    })
    from app.config import load_config
    from app.models import Application, ApplicationStatus, User
    from app.services.central import SqlCentral
    from app.services.dsc import register_dsc
    from app.services.issuing import Issuer
    from app.services.seals import create_seal
    from app.signing.certificates import CertificateInfo
    from app.signing.seal import Sealer
    from app.store.demo import create_demo_store

    home.mkdir(parents=True, exist_ok=True)
    engine = create_demo_store(home / "demo-central.sqlite", applications=600)
    config = load_config()
    needed = 2 * batch
    with Session(engine) as session, session.begin():
        officer = session.scalars(select(User).where(User.email == OFFICER_EMAIL)).one()
        offices = [o.id for o in officer.offices]
        mine = Application.office_id.in_(offices)
        ids = list(session.scalars(select(Application.id).where(
            mine, Application.status == ApplicationStatus.APPROVED,
            Application.kind != "in_lieu").order_by(Application.id)))
        if len(ids) < needed:  # top up from submitted ones (test data only)
            extra = list(session.scalars(select(Application.id).where(
                mine, Application.status == ApplicationStatus.SUBMITTED,
                Application.kind != "in_lieu").limit(needed - len(ids))))
            session.execute(update(Application).where(Application.id.in_(extra))
                            .values(status=ApplicationStatus.APPROVED))
            ids += extra
        officer_id = officer.id
    cert = token.certs["sign"]
    register_dsc(engine, config, user_id=officer_id,
                 certificate=CertificateInfo.from_der(cert.der, key_id=cert.key_id),
                 intermediates=[ca.sub_der])
    sealer = Sealer.from_dict({"module": str(seal_module), "token_label": "SEAL-SPY",
                               "pin_env": "OD_SPY_SEAL_PIN",
                               "public_base_url": "https://verify.spy.example"})
    create_seal(engine, sealer, "IGCC")

    def count() -> int:
        return len(_SIGN_INIT.findall(spy_log.read_bytes())) if spy_log.exists() else 0

    def run(central: SqlCentral, chosen: list[int]) -> tuple[int, list[bytes]]:
        pdfs: list[bytes] = []
        issuer = Issuer(central, config, officer_id,
                        on_issued=lambda issued, pdf: pdfs.append(pdf))
        outcome = issuer.run_batch(chosen, lambda info, warnings: _PIN)
        if outcome.failed or outcome.left:
            raise RuntimeError(f"batch not complete: {outcome.message} {outcome.failed}")
        return len(outcome.done), pdfs

    from app.services.issuing import qr_texts_in_pdf

    before = count()
    done, pdfs = run(SqlCentral(engine, config, sealer=sealer), ids[:batch])
    sealed = {"certificates": done, "sign_inits": count() - before}
    texts = [qr_texts_in_pdf(pdf)[0] for pdf in pdfs]
    unsealed_count = {"certificates": 0, "sign_inits": 0}
    if spec.get("unsealed"):
        before = count()
        done, _pdfs = run(SqlCentral(engine, config), ids[batch:needed])
        unsealed_count = {"certificates": done, "sign_inits": count() - before}
    sealer.close()
    engine.dispose()
    return {"sealed": sealed, "unsealed": unsealed_count, "qr_texts": texts}


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    print(json.dumps(_child(json.loads(sys.stdin.read()))))
