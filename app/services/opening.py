"""Which store a desk works on is decided here, once: ``open_desk(config)``.

- **Embedded** (no ``central_url``): the demo's SQLite central store, used directly; the
  demo store and its signing token are made on first start.
- **Synced** (a ``central_url``): the local copy with its outbox
  (:class:`~app.services.offline_desk.LocalDesk`), synced with the central store; issuing,
  DSC registration, verification and administration go to the central store through
  :class:`~app.services.central.SqlCentral` (PostgreSQL through the officer's own login),
  or, when ``central_url`` is an ``https://`` address, through the central service
  (:class:`~app.services.central_http.HttpCentral`: the same interface over HTTPS).
- **Offline** (``offline = true``): the same local copy, no link at all; what needs the
  central store says so before it starts.

Views and commands receive the desk and ask it for services; none of them opens an engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.config import Config
from app.services.desk import Desk, open_central

log = logging.getLogger(__name__)
AskPassword = Callable[[str], "str | None"]


def open_desk(
    config: Config,
    progress: Callable[[str], None] | None = None,
    ask_password: AskPassword | None = None,
    *,
    officer: str | None = None,
    demo_signing: bool = False,
    prove_dsc: Any = None,
    defer_demo_token: bool = False,
) -> Desk:
    """The desk for ``config``; signed in as ``officer`` (an e-mail) when given.
    ``demo_signing``: give an embedded demo store made before the demo token existed one
    (the window does; commands use whatever token is configured). ``prove_dsc`` signs the
    central service's sign-in challenge on the officer's token, where the agency asks it.
    ``defer_demo_token``: the embedded demo's signing token is not made here; the caller
    prepares it (``prepare_demo_signing``) in the background behind the sign-in."""
    if config.is_embedded:
        desk = _embedded_desk(config, progress, demo_signing and not defer_demo_token,
                              prepare_token=not defer_demo_token)
    else:
        desk = _synced_desk(config, ask_password, prove_dsc)
    if officer:
        desk.sign_in(officer)
    return desk


def _embedded_desk(config: Config, progress: Callable[[str], None] | None,
                   demo_signing: bool, *, prepare_token: bool = True) -> Desk:
    from app.services.central import SqlCentral

    engine = open_central(config, progress, prepare_token=prepare_token)
    if demo_signing:  # a demo store made before the signing kit existed gets one now
        from app.signing.demo_token import prepare_demo_signing

        prepare_demo_signing(config, engine)
    from app.signing.demo_seal import demo_sealer

    # the demo's agency seal seals QR payloads at reservation, as the central service does
    return Desk(engine, config, central=SqlCentral(engine, config, sealer=demo_sealer(config)))


def prepare_embedded_signing(desk: Desk) -> Any:
    """The embedded demo's signing token, CA, DSC registrations and seal, made when missing
    (seconds on a first start: the window runs this in the background behind the sign-in,
    see ``open_desk(defer_demo_token=True)``); then the desk's central store seals QR
    payloads with the demo seal. Returns the DemoSigning (None without SoftHSM2)."""
    from app.signing.demo_seal import demo_sealer
    from app.signing.demo_token import (
        DEMO_DIR_NAME,
        prepare_demo_signing,
        prepare_in_child_process,
        softhsm_module,
    )

    made = (desk.config.data_dir / DEMO_DIR_NAME / "demo.json").exists()
    if not made and softhsm_module() is not None:  # the seconds of work, in another process
        prepare_in_child_process(desk.config)
    prepared = prepare_demo_signing(desk.config, desk.engine)  # then cheap: registered
    central = desk.central()
    if getattr(central, "sealer", False) is None:  # the seal did not exist when it opened
        central.sealer = demo_sealer(desk.config)
    return prepared


def _synced_desk(config: Config, ask_password: AskPassword | None,
                 prove_dsc: Any = None) -> Desk:
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.central import central_engine
    from app.store.local import LocalStore

    local = LocalStore(config.local_store_path)
    # the password comes from the keyring, else from a prompt (never from a file)
    link: Any = None
    if config.offline:
        link = None
    elif config.uses_central_service:
        from app.services.central_http import HttpCentral

        link = HttpCentral(config.central_url, ca_file=config.central_ca_file,
                           ask_password=ask_password, prove_dsc=prove_dsc)
    else:
        link = SqlCentral(central_engine(config, ask_password), config)
    return LocalDesk(local, config, SyncService(local, link))
