"""The embedded demo's agency seal: a SoftHSM2 token of its own next to the demo token.

:func:`prepare_demo_seal` is called by :func:`~app.signing.demo_token.prepare_demo_signing`.
The first time it creates, in ``<data>/demo-token/``:

* a second SoftHSM2 token, :data:`DEMO_SEAL_TOKEN_LABEL`, in the demo token's folder (one
  ``SOFTHSM2_CONF`` serves both; a token of its own, so its login never meets the
  officer's), whose user PIN is random and kept in ``seal.pin`` (mode 0600): no person
  types it;
* ``seal.json``: the seal configuration (:class:`~app.signing.seal.SealConfig`) with the
  public base ``https://127.0.0.1:8443``, what ``origin-desk serve --demo`` serves;
* for every agency of the demo store a seal key on that token, registered in
  ``agency_seals`` (and the seals listed in ``seal.json`` so that later starts cost one
  query).

:func:`demo_sealer` gives the embedded desk (and ``serve --demo``) its
:class:`~app.signing.seal.Sealer`, or None when the demo has no seal.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

from app.signing.seal import SealConfigError, Sealer, SealError, SealKey

log = logging.getLogger(__name__)

DEMO_SEAL_TOKEN_LABEL = "ORIGIN-DESK-DEMO-SEAL"
DEMO_PUBLIC_BASE_URL = "https://127.0.0.1:8443"
SEAL_CONFIG_FILE = "seal.json"
SEAL_PIN_FILE = "seal.pin"


def _directory(config: Any) -> Path:
    from app.signing.demo_token import DEMO_DIR_NAME

    return Path(config.data_dir) / DEMO_DIR_NAME


def demo_sealer(config: Any) -> Sealer | None:
    """The demo seal's Sealer (nothing is opened yet); None when the demo has no seal."""
    path = _directory(config) / SEAL_CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("the demo seal configuration %s cannot be read: %s", path, exc)
        return None
    try:
        return Sealer.from_dict(raw.get("config", {}))
    except SealConfigError as exc:
        log.warning("the demo seal is not used: %s", exc)
        return None


def prepare_demo_seal(config: Any, engine: Any, module: str) -> Path | None:
    """Make sure the demo seal token exists and every agency has a registered seal (see the
    module doc). Returns the seal configuration file, or None (logged) when it cannot be
    made. Cheap when everything exists: one query."""
    directory = _directory(config)
    path = directory / SEAL_CONFIG_FILE
    try:
        if not path.exists():
            _create_token(directory, module)
        state = json.loads(path.read_text(encoding="utf-8"))
        if _register(engine, state):
            path.write_text(json.dumps(state, indent=1), encoding="utf-8")
    except (SealError, SealConfigError, OSError, ValueError, subprocess.SubprocessError) as exc:
        log.warning("the demo has no agency seal (the officer's token signs the QR): %s", exc)
        return None
    return path


def _create_token(directory: Path, module: str) -> None:
    """The seal token in the demo token's folder, its PIN file and ``seal.json``."""
    from app.signing.token_thread import run_in_token_thread

    conf = directory / "softhsm2.conf"
    temporary_pin = secrets.token_hex(8)
    result = subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", DEMO_SEAL_TOKEN_LABEL,
         "--pin", temporary_pin, "--so-pin", secrets.token_hex(8)],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)}, capture_output=True, text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SealError(f"softhsm2-util failed: {result.stderr.strip()}")
    pin_file = directory / SEAL_PIN_FILE
    pin = secrets.token_hex(12)
    pin_file.touch(mode=0o600)
    os.chmod(pin_file, 0o600)
    pin_file.write_text(pin + "\n", encoding="utf-8")
    # the PIN reaches SoftHSM2 through C_SetPIN, never through a command line
    run_in_token_thread(_set_pin, module, temporary_pin, pin)
    del pin
    state = {"config": {"module": module, "token_label": DEMO_SEAL_TOKEN_LABEL,
                        "pin_file": str(pin_file), "public_base_url": DEMO_PUBLIC_BASE_URL},
             "seals": {}}
    (directory / SEAL_CONFIG_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    log.info("demo seal token %s created", DEMO_SEAL_TOKEN_LABEL)


def _set_pin(module: str, old: str, new: str) -> None:
    from app.signing.discovery import load_module

    lib = load_module(module, rescan=True)
    token = lib.get_token(token_label=DEMO_SEAL_TOKEN_LABEL)
    with token.open(rw=True, user_pin=old) as session:
        session.set_pin(old, new)


def _register(engine: Any, state: dict[str, Any]) -> bool:
    """A registered seal for every agency of the store; True when ``state`` changed."""
    from sqlalchemy import insert, select, update
    from sqlalchemy.orm import Session

    from app.models import Agency, AuditEvent
    from app.store.hub_tables import agency_seals

    seals: dict[str, dict[str, str]] = state.setdefault("seals", {})
    with Session(engine) as session:
        agencies = session.execute(select(Agency.id, Agency.code, Agency.name)).all()
        registered = {bytes(k) for k in session.scalars(select(agency_seals.c.key_id))}
    missing = [a for a in agencies
               if a.code not in seals or bytes.fromhex(seals[a.code]["key_id"]) not in registered]
    if not missing:
        return False
    sealer = Sealer.from_dict(state["config"])
    try:
        for agency in missing:
            entry = seals.get(agency.code)
            if entry is None:
                key = sealer.generate(agency.code, agency.name)
                entry = seals[agency.code] = {
                    "label": key.label, "key_id": key.key_id.hex(),
                    "certificate": base64.b64encode(key.certificate_der).decode("ascii")}
            key = SealKey(agency.code, entry["label"], base64.b64decode(entry["certificate"]))
            created = key.created_at
            with Session(engine) as session, session.begin():
                session.execute(update(agency_seals).where(
                    agency_seals.c.agency_id == agency.id, agency_seals.c.retired_at.is_(None),
                ).values(retired_at=dt.datetime.now(dt.UTC)))
                seal_id = session.execute(insert(agency_seals).values(
                    agency_id=agency.id, key_id=key.key_id, certificate=key.certificate_der,
                    key_label=key.label, created_at=created, retired_at=None,
                )).inserted_primary_key[0]
                session.execute(insert(AuditEvent.__table__).values(
                    at=created, actor_id=None, actor_label="the embedded demo",
                    action="seal.created", entity_type="agency_seal", entity_id=int(seal_id),
                    before=None, after={"agency": agency.code, "key_id": key.key_id.hex(),
                                        "key_label": key.label, "demo": True}, note=""))
            log.info("demo seal %s registered for agency %s", key.label, agency.code)
    finally:
        sealer.close()
    return True
