"""The rules an administrator's input must meet: gateway credentials, office fields,
official e-mail domains. Pure functions, no store, no Qt.

Every check raises :class:`AdminInputError` (a UserFacingError) whose ``field`` names the
input and whose message says what is wrong, where, and what is expected; nothing is
trimmed or corrected in silence: a value is stored exactly as typed, or refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from app.errors import UserFacingError

# --- the payment gateway's alphabets ------------------------------------------------------
MERCHANT_ID_SYMBOLS = ""
MERCHANT_ID_LENGTH = (1, 32)
CHECKSUM_KEY_SYMBOLS = "@#$%&*_-+=!/"
CHECKSUM_KEY_LENGTH = (16, 64)

PERSONAL_MAIL_DOMAINS: frozenset[str] = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.in", "yahoo.in", "ymail.com",
    "rocketmail.com", "outlook.com", "outlook.in", "hotmail.com", "hotmail.co.in", "live.com",
    "live.in", "msn.com", "rediffmail.com", "rediff.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "protonmail.com", "proton.me", "pm.me", "zoho.com", "zohomail.com",
    "zohomail.in", "gmx.com", "gmx.net", "mail.com", "yandex.com", "yandex.ru", "tutanota.com",
    "tuta.io", "fastmail.com", "inbox.com", "sify.com", "indiatimes.com",
})
"""Public mailbox providers: never an agency's official domain, never an officer's login."""

_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_EMAIL = re.compile(r"[a-z0-9._%+-]+@([a-z0-9.-]+\.[a-z]{2,})")
_OFFICE_CODE = re.compile(r"[A-Z0-9]{2,10}")
_PHONE = re.compile(r"\+?[0-9 ()-]+")


class AdminInputError(UserFacingError, ValueError):
    """A value typed by the administrator that breaks its rule; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Alphabet:
    """A gateway credential's allowed characters and length."""

    label: str  # "Merchant ID"
    symbols: str  # allowed characters besides A-Z a-z 0-9
    min_length: int
    max_length: int
    secret: bool  # shown masked in messages

    def allows(self, char: str) -> bool:
        return (char.isascii() and char.isalnum()) or char in self.symbols

    def describe(self) -> str:
        extra = f" and {' '.join(self.symbols)}" if self.symbols else ""
        span = (f"{self.min_length}–{self.max_length}" if self.min_length != self.max_length
                else str(self.min_length))
        return f"{span} characters from A–Z a–z 0–9{extra}, no spaces"


MERCHANT_ID = Alphabet("Merchant ID", MERCHANT_ID_SYMBOLS, *MERCHANT_ID_LENGTH, secret=False)
CHECKSUM_KEY = Alphabet("Checksum key", CHECKSUM_KEY_SYMBOLS, *CHECKSUM_KEY_LENGTH, secret=True)


def describe_char(char: str) -> str:
    """How a character is named in a message: 'a space', 'a tab', "'é' (U+00E9 ...)"."""
    named = {
        " ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a line break",
        "\u00a0": "a non-breaking space", "\u200b": "an invisible zero-width space",
        "\ufeff": "an invisible byte-order mark",
    }
    if char in named:
        return named[char]
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if unicodedata.category(char)[0] in "CZ":
        return f"an invisible character ({code} {name})".replace(" )", ")")
    return f"'{char}' ({code} {name})".replace(" )", ")")


def _where(index: int, length: int) -> str:
    if length > 1 and index == 0:
        return " (the start)"
    if length > 1 and index == length - 1:
        return " (the end)"
    return ""


def _display(value: str, bad: list[int], secret: bool) -> str:
    """The value on one line with a caret line under the bad positions.

    ASCII only, so that the carets stay under their characters in any fixed-width font:
    a blank or invisible character is drawn as '_', a hidden (secret) one as '*'."""
    shown = []
    for i, char in enumerate(value):
        if i in bad:
            visible = char.isprintable() and not char.isspace() and unicodedata.category(
                char)[0] not in "CZM" and unicodedata.east_asian_width(char) not in "WF"
            shown.append(char if visible else "_")
        elif secret:
            shown.append("*")
        else:
            shown.append(char if char.isprintable() else "?")
    carets = "".join("^" if i in bad else " " for i in range(len(value))).rstrip()
    return "  " + "".join(shown) + "\n  " + carets


def check_gateway_value(value: str, alphabet: Alphabet, field: str) -> str:
    """The credential exactly as given, or AdminInputError saying where it goes wrong."""
    label = alphabet.label
    if not isinstance(value, str):
        raise AdminInputError(field, f"{label}: expected text, not {type(value).__name__}.")
    if value == "":
        raise AdminInputError(
            field, f"{label} is empty. Type it exactly as the payment gateway issued it "
            f"({alphabet.describe()}).")
    bad = [i for i, char in enumerate(value) if not alphabet.allows(char)]
    if bad:
        shown = bad[:5]
        problems = "; ".join(
            f"position {i + 1}{_where(i, len(value))}: {describe_char(value[i])}" for i in shown)
        if len(bad) > len(shown):
            problems += f"; and {len(bad) - len(shown)} more"
        hint = ""
        if any(value[i].isspace() for i in bad):
            hint = " Spaces are never part of a gateway credential: remove them (check the " \
                   "start and the end of what you pasted)."
        raise AdminInputError(
            field, f"{label} — {problems}.{hint}\nAllowed: {alphabet.describe()}.\n"
            + _display(value, bad, alphabet.secret))
    if not alphabet.min_length <= len(value) <= alphabet.max_length:
        raise AdminInputError(
            field, f"{label} has {len(value)} characters; the gateway issues "
            f"{alphabet.describe()}. Check that you copied all of it.")
    return value


def check_merchant_id(value: str) -> str:
    return check_gateway_value(value, MERCHANT_ID, "merchant_id")


def check_checksum_key(value: str) -> str:
    return check_gateway_value(value, CHECKSUM_KEY, "checksum_key")


def mask_secret(value: str | None) -> str:
    """A checksum key as the audit log keeps it: first 2 and last 2 characters."""
    if not value:
        return ""
    if len(value) <= 6:
        return "•" * len(value)
    return f"{value[:2]}{'•' * (len(value) - 4)}{value[-2:]}"


# --- offices ----------------------------------------------------------------------------------

def check_office_code(value: str) -> str:
    if not isinstance(value, str) or not _OFFICE_CODE.fullmatch(value):
        raise AdminInputError(
            "code", f"Office code {value!r}: use 2–10 capital letters or digits, e.g. MUM or "
            "DEL2 (no spaces; it is printed on certificates).")
    return value


def check_text(value: str, field: str, label: str, limit: int, *, required: bool = True) -> str:
    """A free text: refused when required and blank, too long, or with surrounding spaces."""
    if not isinstance(value, str):
        raise AdminInputError(field, f"{label}: expected text.")
    if required and not value.strip():
        raise AdminInputError(field, f"{label} is empty; it is required.")
    if value != value.strip():
        raise AdminInputError(
            field, f"{label} starts or ends with a space or line break; remove it.")
    if len(value) > limit:
        raise AdminInputError(field, f"{label} has {len(value)} characters; at most {limit}.")
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in value):
        raise AdminInputError(field, f"{label} holds a control character; retype it.")
    return value


def check_contact_email(value: str) -> str:
    if value == "":
        return value
    if not _EMAIL.fullmatch(value):
        raise AdminInputError(
            "contact_email", f"Contact e-mail {value!r} is not an e-mail address such as "
            "mumbai@agency.org.in (lower case, no spaces).")
    return value


def check_contact_phone(value: str) -> str:
    if value == "":
        return value
    digits = sum(c.isdigit() for c in value)
    if not _PHONE.fullmatch(value) or not 6 <= digits <= 15 or value != value.strip():
        raise AdminInputError(
            "contact_phone", f"Contact phone {value!r}: use digits with an optional leading +, "
            "spaces, hyphens or brackets, 6–15 digits, e.g. +91 22 2345 6789.")
    return value


# --- e-mail domains ----------------------------------------------------------------------------

def check_agency_domain(value: str) -> str:
    """An agency's official e-mail domain (lower case), never a public mailbox provider."""
    if not isinstance(value, str) or not _DOMAIN.fullmatch(value):
        raise AdminInputError(
            "email_domains", f"E-mail domain {value!r} is not a domain name such as "
            "igcc.org.in (lower case, no spaces, no @).")
    if value in PERSONAL_MAIL_DOMAINS:
        raise AdminInputError(
            "email_domains", f"{value} is a public mailbox provider, not the agency's own "
            "domain; officers must use official addresses.")
    return value


def check_domain_list(values: list[str]) -> list[str]:
    if not values:
        raise AdminInputError(
            "email_domains", "Give at least one official e-mail domain: without one no officer "
            "can register.")
    clean = [check_agency_domain(v) for v in values]
    seen: set[str] = set()
    for domain in clean:
        if domain in seen:
            raise AdminInputError("email_domains", f"{domain} is listed twice.")
        seen.add(domain)
    return clean


def check_officer_email(value: str, agency_domains: list[str]) -> str:
    """An officer's login: an address at one of the agency's domains, personal mail refused."""
    text = value.strip().lower() if isinstance(value, str) else ""
    match = _EMAIL.fullmatch(text)
    if not match:
        raise AdminInputError(
            "email", f"{value!r} is not an e-mail address such as name@agency.org.in.")
    domain = match.group(1)
    allowed = " or ".join("@" + d for d in agency_domains) or "the agency's domain"
    if domain in PERSONAL_MAIL_DOMAINS:
        raise AdminInputError(
            "email", f"{text} is a personal mailbox ({domain}). Officers register with their "
            f"official address at {allowed}.")
    if domain not in agency_domains:
        raise AdminInputError(
            "email", f"{text} is not at the agency's official domain; use an address at "
            f"{allowed}.")
    return text


def check_overdue_limit(value: int | str) -> int:
    """An office's overdue limit: whole hours from 1 to 720 (30 days)."""
    from app.models.organisation import MAX_OVERDUE_LIMIT_HOURS

    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_OVERDUE_LIMIT_HOURS:
        raise AdminInputError("overdue_limit_hours", f"The overdue limit is a whole number of "
                              f"hours from 1 to {MAX_OVERDUE_LIMIT_HOURS}, not {text[:20]!r}.")
    return int(text)
