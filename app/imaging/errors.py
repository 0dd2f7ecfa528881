"""Errors of the image clean-up engine, worded for the administrator who chose the file."""

from __future__ import annotations

from app.errors import UserFacingError


class ImageRejected(UserFacingError):
    """The file cannot be used as a stamp or signature image; nothing was written."""
