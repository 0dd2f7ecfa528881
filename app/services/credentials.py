"""Officers' passwords and sessions at the central service.

- Passwords are kept as argon2id hashes (argon2-cffi's defaults: RFC 9106's low-memory
  profile, own salt per hash) in ``user_credentials``. An administrator sets an initial
  password that must be changed at the first sign-in; a password is at least
  ``MIN_PASSWORD`` characters and not the e-mail address.
- After ``max_failures`` wrong passwords in a row the account is locked for
  ``lockout``; a success resets the count. Refusals never say whether the e-mail address
  exists.
- A session is an opaque random token (256 bits, URL-safe text) handed to the desk once;
  only its SHA-256 is stored. It expires, and is revoked by sign-out, a password change or
  an administrator.

Every function takes a SQLAlchemy session whose transaction the caller commits, so that a
request's checks and changes are one transaction. No passwords or tokens are logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.models import User
from app.models.base import utcnow
from app.models.enums import UserStatus
from app.store.hub_tables import hub_sessions, user_credentials

log = logging.getLogger(__name__)
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_HASHER = PasswordHasher()  # argon2id
# a hash to verify against when the e-mail is unknown, so that timing does not tell
_DUMMY_HASH = _HASHER.hash("origin-desk: no such user")


class SignInRefused(UserFacingError):
    """Wrong e-mail or password, a locked or inactive account: the message says which
    (without telling whether an e-mail address exists)."""


class PasswordChangeRequired(SignInRefused):
    """The password is the administrator's initial one: set a new one to sign in."""


class PasswordRejected(UserFacingError):
    """A new password does not meet the rules."""


class SessionInvalid(UserFacingError):
    """The session token is unknown, expired or revoked: sign in again."""


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    session_life: dt.timedelta = dt.timedelta(hours=12)


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    email: str
    role: str
    agency_id: int
    expires_at: dt.datetime
    dsc_fingerprint: str | None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_new_password(password: str, email: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise PasswordRejected(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected(f"A password has at most {MAX_PASSWORD} characters.")
    if password.strip().lower() == email.strip().lower() or password.strip() == "":
        raise PasswordRejected("A password must not be the e-mail address.")


def set_password(session: Session, user_id: int, password: str, *, initial: bool) -> None:
    """Set a user's password (``initial``: an administrator's, to be changed at first use).
    Every open session of the user is revoked."""
    user = session.get(User, user_id)
    if user is None:
        raise UserFacingError(f"No user #{user_id} in the central store.")
    check_new_password(password, user.email)
    values = {"password_hash": _HASHER.hash(password), "must_change": initial,
              "failed_attempts": 0, "locked_until": None, "changed_at": utcnow()}
    done = session.execute(update(user_credentials)
                           .where(user_credentials.c.user_id == user_id).values(**values))
    if done.rowcount == 0:
        session.execute(insert(user_credentials).values(user_id=user_id, **values))
    revoke_user_sessions(session, user_id)
    log.info("password %s for user #%s", "set by an administrator" if initial else "changed",
             user_id)


def authenticate(session: Session, email: str, password: str, policy: SignInPolicy,
                 *, new_password: str | None = None) -> User:
    """The active user with this e-mail and password, or SignInRefused. With
    ``new_password`` the password is changed at the same time (required when the current
    one is an administrator's initial password)."""
    email = (email or "").strip().lower()
    now = utcnow()
    row = session.execute(
        select(User, user_credentials)
        .join(user_credentials, user_credentials.c.user_id == User.id)
        .where(User.email == email)
        .with_for_update(of=user_credentials)
    ).first()
    refused = SignInRefused("Wrong e-mail address or password.")
    if row is None:
        _verify(_DUMMY_HASH, password or "")
        raise refused
    user, creds = row[0], row._mapping
    if creds["locked_until"] is not None and creds["locked_until"] > now:
        raise SignInRefused(
            "This account is locked after repeated wrong passwords; try again after "
            f"{_local(creds['locked_until'])} or ask your administrator to reset it.")
    if not _verify(creds["password_hash"], password or ""):
        failures = int(creds["failed_attempts"]) + 1
        locked = now + policy.lockout if failures >= policy.max_failures else None
        session.execute(update(user_credentials).where(user_credentials.c.user_id == user.id)
                        .values(failed_attempts=0 if locked else failures, locked_until=locked))
        log.warning("wrong password for user #%s (%d in a row)%s", user.id, failures,
                    "; account locked" if locked else "")
        if locked:
            session.commit()  # the lock holds even though this request is refused
            raise SignInRefused(
                f"Too many wrong passwords: this account is locked until {_local(locked)}.")
        session.commit()
        raise refused
    if user.status != UserStatus.ACTIVE:
        raise SignInRefused(f"This account is {user.status}; ask your administrator.")
    updates: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
    if new_password is not None:
        check_new_password(new_password, user.email)
        if _verify(creds["password_hash"], new_password):
            raise PasswordRejected("The new password must differ from the current one.")
        updates.update(password_hash=_HASHER.hash(new_password), must_change=False,
                       changed_at=now)
        revoke_user_sessions(session, user.id)
    elif creds["must_change"]:
        session.execute(update(user_credentials).where(user_credentials.c.user_id == user.id)
                        .values(**updates))
        session.commit()
        raise PasswordChangeRequired(
            "This is the initial password your administrator set: choose a new password.")
    elif _HASHER.check_needs_rehash(creds["password_hash"]):
        updates["password_hash"] = _HASHER.hash(password)
    session.execute(update(user_credentials).where(user_credentials.c.user_id == user.id)
                    .values(**updates))
    return user


def _verify(hash_: str, password: str) -> bool:
    try:
        return _HASHER.verify(hash_, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%H:%M UTC")


def open_session(session: Session, user_id: int, policy: SignInPolicy, *, client: str = "",
                 dsc_fingerprint: str | None = None) -> tuple[str, dt.datetime]:
    """A new session for the user: the token (shown once) and when it expires."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + policy.session_life
    session.execute(insert(hub_sessions).values(
        token_sha256=token_digest(token), user_id=user_id, created_at=now, expires_at=expires,
        last_seen_at=now, revoked_at=None, client=(client or "")[:200],
        dsc_fingerprint=dsc_fingerprint))
    return token, expires


def session_user(session: Session, token: str) -> SessionUser:
    """Who holds this session token, or SessionInvalid."""
    if not token or len(token) > 200:
        raise SessionInvalid("Sign in first: this request carries no valid session.")
    now = utcnow()
    row = session.execute(
        select(User.id, User.email, User.role, User.agency_id, User.status,
               hub_sessions.c.expires_at, hub_sessions.c.revoked_at,
               hub_sessions.c.dsc_fingerprint)
        .join(User, User.id == hub_sessions.c.user_id)
        .where(hub_sessions.c.token_sha256 == token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None:
        raise SessionInvalid("Your session has ended (signed out or revoked): sign in again.")
    if row.expires_at <= now:
        raise SessionInvalid("Your session has expired: sign in again.")
    if row.status != UserStatus.ACTIVE:
        raise SessionInvalid(f"This account is {row.status}; ask your administrator.")
    return SessionUser(row.id, row.email, str(row.role), row.agency_id, row.expires_at,
                       row.dsc_fingerprint)


def revoke_session(session: Session, token: str) -> bool:
    done = session.execute(update(hub_sessions).where(
        and_(hub_sessions.c.token_sha256 == token_digest(token),
             hub_sessions.c.revoked_at.is_(None))).values(revoked_at=utcnow()))
    return done.rowcount > 0


def revoke_user_sessions(session: Session, user_id: int) -> int:
    done = session.execute(update(hub_sessions).where(
        and_(hub_sessions.c.user_id == user_id, hub_sessions.c.revoked_at.is_(None))
    ).values(revoked_at=utcnow()))
    return int(done.rowcount or 0)


def purge_ended_sessions(session: Session, user_id: int,
                         keep: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Forget the user's sessions that ended (expired or revoked) more than ``keep`` ago."""
    from sqlalchemy import delete, or_

    cutoff = utcnow() - keep
    done = session.execute(delete(hub_sessions).where(
        hub_sessions.c.user_id == user_id,
        or_(hub_sessions.c.expires_at < cutoff, hub_sessions.c.revoked_at < cutoff)))
    return int(done.rowcount or 0)


def unlock(session: Session, user_id: int) -> None:
    session.execute(update(user_credentials).where(user_credentials.c.user_id == user_id)
                    .values(failed_attempts=0, locked_until=None))
