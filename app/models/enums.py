"""The closed vocabularies of the domain, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    OFFICER = "officer"


class UserStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REFUSED = "refused"


class ApplicationKind(StrEnum):
    NON_PREFERENTIAL = "non_preferential"
    PREFERENTIAL = "preferential"
    IN_LIEU = "in_lieu"
    BACK_TO_BACK = "back_to_back"

    @property
    def label(self) -> str:
        return {
            "non_preferential": "Non-preferential",
            "preferential": "Preferential",
            "in_lieu": "In-lieu",
            "back_to_back": "Back-to-back",
        }[self.value]


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    UNDER_SCRUTINY = "under_scrutiny"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    ISSUED = "issued"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_waiting_for_office(self) -> bool:
        """Statuses in which the office owes the exporter a decision."""
        return self in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.RESUBMITTED,
            ApplicationStatus.UNDER_SCRUTINY,
            ApplicationStatus.APPROVED,
        )


class CertificateStatus(StrEnum):
    VALID = "valid"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


class WalletEntryKind(StrEnum):
    TOP_UP = "top_up"
    FEE = "fee"
    REFUND = "refund"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    PACKING_LIST = "packing_list"
    BILL_OF_LADING = "bill_of_lading"
    AIRWAY_BILL = "airway_bill"
    COST_SHEET = "cost_sheet"
    FOREIGN_CERTIFICATE = "foreign_certificate"
    ORIGINAL_CERTIFICATE = "original_certificate"
    OTHER = "other"


class Action(StrEnum):
    """What can be done to an application (see app.models.workflow for who and when)."""

    CLAIM = "claim"
    RELEASE = "release"
    RETURN = "return"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    REJECT = "reject"
    ISSUE = "issue"
    SUPERSEDE = "supersede"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return "return for clarification" if self is Action.RETURN else self.value
