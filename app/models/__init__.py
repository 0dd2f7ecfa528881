"""The domain: SQLAlchemy 2.0 typed mappings and the rules that act on them (no Qt here)."""

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
from app.models.organisation import Agency, Office, User, officer_offices

__all__ = [
    "Agency", "Applicant", "Application", "ApplicationKind", "ApplicationStatus",
    "AuditEvent", "Base", "Certificate", "CertificateNumber", "CertificateStatus",
    "CostSheet", "CostSheetMaterial", "DocumentKind", "DscRegistration", "Exporter",
    "ExporterBranch", "GoodsLine", "GstRegistration", "Office", "Role", "SupportingDocument",
    "User", "UserStatus", "WalletEntry", "WalletEntryKind", "officer_offices",
]
