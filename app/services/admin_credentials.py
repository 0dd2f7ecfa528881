"""What an agency administrator does about officers' sign-in at the central service:
set an initial password (to be changed at first use), unlock an account locked after
wrong passwords, end a user's sessions, and ask for the registered DSC at sign-in.

Each acts within the administrator's agency only, is recorded as an audit event (never
with the password), and on PostgreSQL runs through the administrator's own login
(revision 0005: administrators may write these rows of their agency's users but never
read a password hash or a session's token digest).
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import func, insert, select, update

from app.services import credentials
from app.services.admin import AgencyAdmin
from app.store.hub_tables import agency_sign_in_policies, hub_sessions

# no look-alike characters: read aloud or copied from a screen
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def generated_password(length: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def set_initial_password(admin: AgencyAdmin, email: str, password: str) -> None:
    """The user's password becomes ``password``, which they must change at first sign-in;
    their open sessions end."""
    with admin.sessions() as session, session.begin():
        actor = admin._actor(session)
        user = admin._user(session, actor, _user_id(admin, session, email))
        credentials.set_password(session, user.id, password, initial=True)
        admin._audit(session, actor, "user.password_set", "user", user.id, None,
                     {"must_change": True}, note="initial password set by an administrator")


def unlock(admin: AgencyAdmin, email: str) -> None:
    with admin.sessions() as session, session.begin():
        actor = admin._actor(session)
        user = admin._user(session, actor, _user_id(admin, session, email))
        credentials.unlock(session, user.id)
        admin._audit(session, actor, "user.unlock", "user", user.id, None, None,
                     note="sign-in lock lifted")


def end_sessions(admin: AgencyAdmin, email: str) -> int:
    """End every open session of the user; how many were open."""
    with admin.sessions() as session, session.begin():
        actor = admin._actor(session)
        user = admin._user(session, actor, _user_id(admin, session, email))
        ended = credentials.revoke_user_sessions(session, user.id)
        admin._audit(session, actor, "user.sessions_ended", "user", user.id, None,
                     {"sessions_ended": ended})
        return ended


def open_sessions(admin: AgencyAdmin, email: str) -> int:
    with admin.sessions() as session:
        actor = admin._actor(session)
        user = admin._user(session, actor, _user_id(admin, session, email))
        return int(session.scalar(select(func.count()).select_from(hub_sessions).where(
            hub_sessions.c.user_id == user.id, hub_sessions.c.revoked_at.is_(None),
            hub_sessions.c.expires_at > func.now())) or 0)


def require_dsc_at_sign_in(admin: AgencyAdmin, required: bool) -> None:
    """Ask (or stop asking) every officer of the agency for their DSC at sign-in."""
    with admin.sessions() as session, session.begin():
        actor = admin._actor(session)
        table = agency_sign_in_policies
        before = session.scalar(select(table.c.require_dsc)
                                .where(table.c.agency_id == actor.agency_id))
        if before is None:
            session.execute(insert(table).values(agency_id=actor.agency_id,
                                                 require_dsc=required))
        else:
            session.execute(update(table).where(table.c.agency_id == actor.agency_id)
                            .values(require_dsc=required))
        admin._audit(session, actor, "agency.sign_in_policy", "agency", actor.agency_id,
                     {"require_dsc": bool(before)}, {"require_dsc": required})


def _user_id(admin: AgencyAdmin, session: object, email: str) -> int:
    from app.models import User
    from app.services.admin import AdminError

    user_id = session.scalar(select(User.id).where(  # type: ignore[attr-defined]
        User.email == email.strip().lower()))
    if user_id is None:
        raise AdminError(f"No user {email!r} in your agency.")
    return int(user_id)
