"""The domain: SQLAlchemy 2.0 typed mappings and the rules that act on them (no Qt here).

Names are imported on first use (PEP 562), so that ``app.models.enums`` and friends can be
used by the GUI at start-up without paying for SQLAlchemy's import before the window shows.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "Application": "applications", "CostSheet": "applications",
    "CostSheetMaterial": "applications", "GoodsLine": "applications",
    "SupportingDocument": "applications",
    "Base": "base",
    "AuditEvent": "certificates", "Certificate": "certificates",
    "CertificateNumber": "certificates", "DscRegistration": "certificates",
    "OfficeWallet": "certificates", "WalletEntry": "certificates",
    "ApplicationKind": "enums", "ApplicationStatus": "enums", "CertificateStatus": "enums",
    "DocumentKind": "enums", "Role": "enums", "UserStatus": "enums", "WalletEntryKind": "enums",
    "Applicant": "exporters", "Exporter": "exporters", "ExporterBranch": "exporters",
    "GstRegistration": "exporters",
    "Agency": "organisation", "Office": "organisation", "User": "organisation",
    "officer_offices": "organisation",
    "ForeignCertificate": "foreign_certificates", "ForeignGoods": "foreign_certificates",
    "LegacyCertificate": "legacy",
}
__all__ = [
    "Agency",
    "Applicant",
    "Application",
    "ApplicationKind",
    "ApplicationStatus",
    "AuditEvent",
    "Base",
    "Certificate",
    "CertificateNumber",
    "CertificateStatus",
    "CostSheet",
    "CostSheetMaterial",
    "DocumentKind",
    "DscRegistration",
    "Exporter",
    "ExporterBranch",
    "ForeignCertificate",
    "ForeignGoods",
    "GoodsLine",
    "GstRegistration",
    "LegacyCertificate",
    "Office",
    "OfficeWallet",
    "Role",
    "SupportingDocument",
    "User",
    "UserStatus",
    "WalletEntry",
    "WalletEntryKind",
    "officer_offices",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'app.models' has no attribute {name!r}")
    # mapped classes refer to each other by name: load every mapping module together
    if module not in ("enums",):
        for other in ("organisation", "exporters", "applications", "certificates",
                      "foreign_certificates", "legacy"):
            importlib.import_module(f"app.models.{other}")
    value = getattr(importlib.import_module(f"app.models.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    from app.models.applications import (
        Application,
        CostSheet,
        CostSheetMaterial,
        GoodsLine,
        SupportingDocument,
    )
    from app.models.base import Base
    from app.models.certificates import (
        AuditEvent,
        Certificate,
        CertificateNumber,
        DscRegistration,
        OfficeWallet,
        WalletEntry,
    )
    from app.models.enums import (
        ApplicationKind,
        ApplicationStatus,
        CertificateStatus,
        DocumentKind,
        Role,
        UserStatus,
        WalletEntryKind,
    )
    from app.models.exporters import Applicant, Exporter, ExporterBranch, GstRegistration
    from app.models.foreign_certificates import ForeignCertificate, ForeignGoods
    from app.models.legacy import LegacyCertificate
    from app.models.organisation import Agency, Office, User, officer_offices
