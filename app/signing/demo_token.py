"""The embedded demo's signing kit: a SoftHSM2 token, a demo CA, one DSC per demo officer.

:func:`prepare_demo_signing` is called whenever the embedded demo store is opened. The
first time (or with ``reset=True``, ``origin-desk demo --reset``) it creates, in the data
directory:

* ``demo-token/softhsm2.conf`` and ``demo-token/tokens/``: a SoftHSM2 token labelled
  :data:`DEMO_TOKEN_LABEL` with user PIN :data:`DEMO_PIN` (documented: it is a demo);
* a demo CA (root + sub CA, ``cryptography``); the root goes into the trust folder
  (``cfg.trust_path``), the sub CA onto the token (the chain);
* for every active demo officer an RSA-2048 key pair generated on the token (label and
  certificate CN = the officer's e-mail / name, CKA_ID = SHA-1 of the modulus) and a
  certificate for it, registered as the officer's DSC in the demo store;
* stamp images for the offices and signature images for the officers that have none;
* the demo's agency seal, on a SoftHSM2 token of its own in the same folder
  (:mod:`app.signing.demo_seal`).

Every time it points ``SOFTHSM2_CONF`` of this process at the demo token. When everything
exists it costs one small query; :func:`activate_demo_token` only sets ``SOFTHSM2_CONF``
(no query, no creation) for the opens that must stay free. The token's SO PIN is random and thrown away; the user
PIN reaches SoftHSM2 through PKCS#11 ``C_SetPIN``, never through a command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

DEMO_TOKEN_LABEL = "ORIGIN-DESK-DEMO"
DEMO_PIN = "123456"
DEMO_DIR_NAME = "demo-token"
ROOT_FILE = "origin-desk-demo-root.pem"
_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    r"C:\SoftHSM2\lib\softhsm2-x64.dll",
)


class DemoSigningUnavailable(Exception):
    """SoftHSM2 is not installed: the demo opens without a signing token."""


@dataclass(frozen=True)
class DemoSigning:
    directory: Path
    conf: Path
    module: str
    token_label: str
    officers: dict[str, str]  # e-mail -> certificate fingerprint
    created: bool
    seal_config: Path | None = None  # the demo seal's seal.json (None: no seal)


def softhsm_module() -> str | None:
    for path in _MODULES:
        if os.path.isfile(path):
            return path
    return None


def prepare_demo_signing(config: Any, engine: Any, *, reset: bool = False) -> DemoSigning | None:
    """Make sure the demo token, CA and DSC registrations exist; see the module doc.

    Returns None (and logs why) when SoftHSM2 is not installed: the demo then works
    without signing. Safe to call on every start.
    """
    module = softhsm_module()
    directory = Path(config.data_dir) / DEMO_DIR_NAME
    conf = directory / "softhsm2.conf"
    if module is None or shutil.which("softhsm2-util") is None:
        log.warning("SoftHSM2 is not installed: the demo has no signing token")
        return None
    os.environ["SOFTHSM2_CONF"] = str(conf)
    manifest_path = directory / "demo.json"
    if reset and directory.exists():
        shutil.rmtree(directory)
    created = False
    if not manifest_path.exists():
        _create_token(config, engine, directory, conf, module)
        created = True
    manifest = json.loads(manifest_path.read_text())
    officers = {m["email"]: m["fingerprint"] for m in manifest["officers"]}
    root_file = Path(config.trust_path) / ROOT_FILE
    if not root_file.exists():
        root_file.parent.mkdir(parents=True, exist_ok=True)
        root_file.write_text(manifest["root_pem"])
    _register_in_store(engine, manifest)
    from app.signing.demo_seal import prepare_demo_seal

    seal_config = prepare_demo_seal(config, engine, module)
    return DemoSigning(directory, conf, module, DEMO_TOKEN_LABEL, officers, created,
                       seal_config)


# set while nobody prepares the demo token; the desk window prepares it in the background
# behind the sign-in (begin_background_preparation), and signing waits for it
_prepared = threading.Event()
_prepared.set()


def begin_background_preparation() -> None:
    """The demo token is being prepared in the background: signing must wait for it."""
    _prepared.clear()


def end_background_preparation() -> None:
    """The background preparation is over (done or failed): signing may go on."""
    _prepared.set()


def demo_token_preparing() -> bool:
    """True while the demo token is prepared in the background."""
    return not _prepared.is_set()


def wait_for_demo_token(timeout: float | None = None) -> bool:
    """Wait until a background preparation of the demo token is over (at once when none
    runs); False when ``timeout`` seconds passed first."""
    return _prepared.wait(timeout)


def activate_demo_token(config: Any) -> bool:
    """Point ``SOFTHSM2_CONF`` at the demo token when it exists (cheap: call on every open
    of the embedded demo store). False when there is no demo token in the data directory."""
    directory = Path(config.data_dir) / DEMO_DIR_NAME
    if not (directory / "demo.json").exists():
        return False
    os.environ["SOFTHSM2_CONF"] = str(directory / "softhsm2.conf")
    return True


# --- creating the token ---------------------------------------------------------------------


def _name(cn: str, email: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Origin Desk Demo CA"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if email:
        parts.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(parts)


def _ca(name: str, key: Any, issuer_name: x509.Name, issuer_key: Any, path_length: int,
        now: dt.datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(issuer_key, hashes.SHA256())
    )


def _create_token(config: Any, engine: Any, directory: Path, conf: Path, module: str) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.models import Role, User, UserStatus

    if directory.exists():
        shutil.rmtree(directory)
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    os.chmod(directory, 0o700)
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    with Session(engine) as session:
        officers = [
            (u.email, u.full_name)
            for u in session.scalars(
                select(User).where(User.role == Role.OFFICER, User.status == UserStatus.ACTIVE)
                .order_by(User.id)
            )
        ]
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _ca("Origin Desk Demo Root CA", root_key, _name("Origin Desk Demo Root CA"),
               root_key, 1, now)
    sub_key = ec.generate_private_key(ec.SECP256R1())
    sub = _ca("Origin Desk Demo Sub CA", sub_key, root.subject, root_key, 0, now)

    temporary_pin = secrets.token_hex(8)
    result = subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", DEMO_TOKEN_LABEL,
         "--pin", temporary_pin, "--so-pin", secrets.token_hex(8)],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)}, capture_output=True, text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DemoSigningUnavailable(f"softhsm2-util failed: {result.stderr.strip()}")
    from app.signing.token_thread import run_in_token_thread

    issued = run_in_token_thread(
        _fill_token, module, temporary_pin, officers, sub, sub_key, now
    )
    manifest = {
        "token_label": DEMO_TOKEN_LABEL,
        "root_pem": root.public_bytes(serialization.Encoding.PEM).decode(),
        "officers": issued,
    }
    (directory / "demo.json").write_text(json.dumps(manifest, indent=1))
    log.info("demo token %s created with %d officer DSC(s)", DEMO_TOKEN_LABEL, len(issued))


def _fill_token(module: str, temporary_pin: str, officers: list[tuple[str, str]],
                sub: x509.Certificate, sub_key: Any, now: dt.datetime) -> list[dict[str, str]]:
    """On the token thread: keys on the token, certificates, the sub CA; PIN set to DEMO_PIN."""
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass

    from app.signing.discovery import load_module

    lib = load_module(module, rescan=True)
    token = lib.get_token(token_label=DEMO_TOKEN_LABEL)
    issued = []
    with token.open(rw=True, user_pin=temporary_pin) as session:
        session.set_pin(temporary_pin, DEMO_PIN)
        sub_der = sub.public_bytes(serialization.Encoding.DER)
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True, Attribute.LABEL: "Origin Desk Demo Sub CA",
            Attribute.ID: hashlib.sha1(sub_der).digest(), Attribute.VALUE: sub_der,
            Attribute.SUBJECT: sub.subject.public_bytes(),
        })
        for email, full_name in officers:
            public, private = session.generate_keypair(
                KeyType.RSA, 2048, store=True, label=email,
                public_template={Attribute.VERIFY: True},
                private_template={Attribute.SIGN: True, Attribute.SENSITIVE: True,
                                  Attribute.EXTRACTABLE: False},
            )
            modulus = int.from_bytes(public[Attribute.MODULUS], "big")
            exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
            key_id = hashlib.sha1(public[Attribute.MODULUS]).digest()
            for obj in (public, private):
                obj[Attribute.ID] = key_id
            public_key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
            cert = (
                x509.CertificateBuilder()
                .subject_name(_name(full_name, email)).issuer_name(sub.subject)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=730))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                               False)
                .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), False)
                .sign(sub_key, hashes.SHA256())
            )
            der = cert.public_bytes(serialization.Encoding.DER)
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: email, Attribute.ID: key_id,
                Attribute.VALUE: der, Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
            })
            issued.append({"email": email, "der": der.hex(),
                           "fingerprint": hashlib.sha256(der).hexdigest()})
    return issued


# --- the store side ---------------------------------------------------------------------------


def _register_in_store(engine: Any, manifest: dict[str, Any]) -> None:
    """DSC registrations, stamps and signature images for the demo (only what is missing)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.documents.qr_payload import key_id_for_certificate
    from app.documents.samples import sample_signature_png, sample_stamp_png
    from app.models import AuditEvent, DscRegistration, Office, User

    wanted = {m["fingerprint"]: m for m in manifest["officers"]}
    with Session(engine) as session, session.begin():
        have = set(session.scalars(
            select(DscRegistration.fingerprint_sha256)
            .where(DscRegistration.fingerprint_sha256.in_(list(wanted)))
        ))
        if have == set(wanted):
            return
        users = {u.email: u for u in session.scalars(select(User))}
        for fingerprint, item in wanted.items():
            user = users.get(item["email"])
            if fingerprint in have or user is None:
                continue
            der = bytes.fromhex(item["der"])
            cert = x509.load_der_x509_certificate(der)
            row = DscRegistration(
                user_id=user.id, fingerprint_sha256=fingerprint,
                key_id=key_id_for_certificate(der).hex(),
                subject=cert.subject.rfc4514_string()[:400],
                issuer=cert.issuer.rfc4514_string()[:400],
                serial_hex=format(cert.serial_number, "x"),
                not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
                certificate_der=der,
            )
            session.add(row)
            session.flush()
            session.add(AuditEvent(
                actor_id=user.id, actor_label=f"{user.full_name} <{user.email}>",
                action="dsc.registered", entity_type="dsc_registration", entity_id=row.id,
                after={"fingerprint_sha256": fingerprint, "demo": True},
            ))
            if user.signature_png is None:
                user.signature_png = sample_signature_png()
        for office in session.scalars(select(Office)):
            if office.stamp_png is None:
                office.stamp_png = sample_stamp_png()
    log.info("demo DSC registrations, stamps and signatures are in the store")


def prepare_in_child_process(config: Any, timeout: float = 300) -> bool:
    """Make the demo token in a child process (``python -m app.signing.demo_token`` on the
    same data directory): its key generation and certificate building then do not hold
    this process's interpreter while the window loads the queue. True when the child made
    it; False (logged) when it could not run here (a frozen build) or failed: the caller
    then prepares it in-process."""
    import sys

    if getattr(sys, "frozen", False):
        return False
    env = {**os.environ, "ORIGIN_DESK_HOME": str(config.data_dir)}
    env.pop("SOFTHSM2_CONF", None)  # the child points it at the demo token itself
    try:
        done = subprocess.run([sys.executable, "-m", "app.signing.demo_token"], env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the demo token could not be made in a child process: %s", exc)
        return False
    if done.returncode != 0:
        log.warning("the demo token's child process failed (%s): %s", done.returncode,
                    done.stderr.strip()[-400:])
        return False
    return True


def _main() -> int:
    """The child of :func:`prepare_in_child_process`."""
    from app.config import load_config
    from app.store.central import sqlite_engine

    config = load_config()
    engine = sqlite_engine(config.demo_store_path)
    try:
        prepare_demo_signing(config, engine)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
