"""The refusals of the eSign gateway: one sentence each, with a ``kind`` for programs."""

from __future__ import annotations

from app.errors import UserFacingError


class EsignRefused(UserFacingError):
    """An eSign request or response refused; ``kind`` names which rule refused it:

    ``malformed`` (not an eSign 2.1 message), ``unknown_esp_key`` (not signed by the
    configured ESP's key), ``replayed`` (transaction unknown, or already answered),
    ``expired`` (timestamp outside the window), ``esp_error`` (the ESP's status 0 with its
    error code), ``digest_mismatch`` (the CMS signs another digest), ``bad_cms`` (the CMS
    or its signature does not hold), ``untrusted_signer`` (the one-time certificate does
    not chain to the configured eSign CA, or is not valid now).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
