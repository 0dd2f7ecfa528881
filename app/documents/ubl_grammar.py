"""The part of OASIS UBL 2.1 that Origin Desk writes and reads: a ``CertificateOfOrigin``
document's elements, in the order and with the occurrences that the UBL 2.1 schemas give
them (``maindoc/UBL-CertificateOfOrigin-2.1.xsd`` and the common aggregate and basic
components).

Each aggregate lists only the elements this product uses, in the schemas' order; every
other element of the type is left out, so a sub-sequence of the schemas' sequence, and a
document this grammar accepts is in the schemas' order. An element that is not listed is
refused by name (:mod:`app.documents.ubl`), whether UBL allows it there or not: Origin
Desk would otherwise drop data it does not read.

Basic components (``cbc:``) are typed by what their UBL data type requires of them here:
``date`` (xsd:date), ``numeric`` (a decimal), ``amount`` (a decimal with the mandatory
``currencyID``), ``measure`` (a decimal with the mandatory ``unitCode``), ``quantity`` (a
decimal, ``unitCode`` optional) and ``text`` (identifiers, codes, names and texts).
"""

from __future__ import annotations

from dataclasses import dataclass

DOC = "urn:oasis:names:specification:ubl:schema:xsd:CertificateOfOrigin-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
PREFIXES = {"cac": CAC, "cbc": CBC}

UNBOUNDED = -1


@dataclass(frozen=True)
class Slot:
    """One element of an aggregate's sequence."""

    name: str  # "cac:Party" or "cbc:ID"
    low: int
    high: int  # UNBOUNDED for "unbounded"
    kind: str  # an aggregate's type name (cac) or a basic type (cbc)

    @property
    def qname(self) -> str:
        prefix, local = self.name.split(":")
        return f"{{{PREFIXES[prefix]}}}{local}"


def _s(name: str, low: int, high: int, kind: str = "text") -> Slot:
    return Slot(name, low, high, kind)


N = UNBOUNDED

# aggregate type -> its sequence (the sub-sequence this product uses, in the schemas' order)
AGGREGATES: dict[str, tuple[Slot, ...]] = {
    "CertificateOfOriginType": (
        _s("cbc:UBLVersionID", 0, 1), _s("cbc:CustomizationID", 0, 1),
        _s("cbc:ProfileID", 0, 1), _s("cbc:ID", 1, 1), _s("cbc:UUID", 0, 1),
        _s("cbc:IssueDate", 0, 1, "date"), _s("cbc:Description", 0, N), _s("cbc:Note", 0, N),
        _s("cac:ExporterParty", 0, 1, "PartyType"), _s("cac:ImporterParty", 0, 1, "PartyType"),
        _s("cac:EndorserParty", 0, N, "EndorserPartyType"),
        _s("cac:CertificateOfOriginApplication", 1, 1, "CertificateOfOriginApplicationType"),
        _s("cac:IssuerEndorsement", 1, 1, "EndorsementType"),
    ),
    "CertificateOfOriginApplicationType": (
        _s("cbc:ReferenceID", 1, 1), _s("cbc:CertificateType", 1, 1),
        _s("cbc:ApplicationStatusCode", 0, 1), _s("cbc:OriginalJobID", 1, 1),
        _s("cbc:PreviousJobID", 0, 1), _s("cbc:Remarks", 0, N),
        _s("cac:Shipment", 1, 1, "ShipmentType"),
        _s("cac:EndorserParty", 1, N, "EndorserPartyType"),
        _s("cac:PreparationParty", 1, 1, "PartyType"), _s("cac:IssuerParty", 1, 1, "PartyType"),
        _s("cac:ExporterParty", 0, 1, "PartyType"), _s("cac:ImporterParty", 0, 1, "PartyType"),
        _s("cac:IssuingCountry", 1, 1, "CountryType"),
        _s("cac:SupportingDocumentReference", 0, N, "DocumentReferenceType"),
        _s("cac:Signature", 0, N, "SignatureType"),
    ),
    "EndorsementType": (
        _s("cbc:DocumentID", 1, 1), _s("cbc:ApprovalStatus", 1, 1), _s("cbc:Remarks", 0, N),
        _s("cac:EndorserParty", 1, 1, "EndorserPartyType"),
        _s("cac:Signature", 0, N, "SignatureType"),
    ),
    "EndorserPartyType": (
        _s("cbc:RoleCode", 1, 1), _s("cbc:SequenceNumeric", 1, 1, "numeric"),
        _s("cac:Party", 1, 1, "PartyType"), _s("cac:SignatoryContact", 1, 1, "ContactType"),
    ),
    "PartyType": (
        _s("cac:PartyIdentification", 0, N, "PartyIdentificationType"),
        _s("cac:PartyName", 0, N, "PartyNameType"),
        _s("cac:PostalAddress", 0, 1, "AddressType"),
        _s("cac:PartyLegalEntity", 0, N, "PartyLegalEntityType"),
    ),
    "PartyIdentificationType": (_s("cbc:ID", 1, 1),),
    "PartyNameType": (_s("cbc:Name", 1, 1),),
    "PartyLegalEntityType": (_s("cbc:RegistrationName", 0, 1), _s("cbc:CompanyID", 0, 1)),
    "AddressType": (
        _s("cbc:CityName", 0, 1), _s("cac:AddressLine", 0, N, "AddressLineType"),
        _s("cac:Country", 0, 1, "CountryType"),
    ),
    "AddressLineType": (_s("cbc:Line", 1, 1),),
    "CountryType": (_s("cbc:IdentificationCode", 0, 1), _s("cbc:Name", 0, 1)),
    "ContactType": (_s("cbc:Name", 0, 1), _s("cbc:Note", 0, N)),
    "SignatureType": (
        _s("cbc:ID", 1, 1), _s("cbc:Note", 0, N), _s("cbc:ValidationDate", 0, 1, "date"),
        _s("cac:SignatoryParty", 0, 1, "PartyType"),
    ),
    "DocumentReferenceType": (
        _s("cbc:ID", 1, 1), _s("cbc:IssueDate", 0, 1, "date"), _s("cbc:DocumentTypeCode", 0, 1),
        _s("cbc:DocumentType", 0, 1), _s("cbc:DocumentDescription", 0, N),
        _s("cac:IssuerParty", 0, 1, "PartyType"),
    ),
    "ShipmentType": (
        _s("cbc:ID", 1, 1), _s("cbc:TotalGoodsItemQuantity", 0, 1, "quantity"),
        _s("cac:GoodsItem", 0, N, "GoodsItemType"),
        _s("cac:ShipmentStage", 0, N, "ShipmentStageType"),
        _s("cac:Delivery", 0, 1, "DeliveryType"),
        _s("cac:OriginAddress", 0, 1, "AddressType"),
        _s("cac:ExportCountry", 0, 1, "CountryType"),
    ),
    "GoodsItemType": (
        _s("cbc:ID", 0, 1), _s("cbc:Description", 0, N),
        _s("cbc:FreeOnBoardValueAmount", 0, 1, "amount"),
        _s("cbc:GrossWeightMeasure", 0, 1, "measure"), _s("cbc:Quantity", 0, 1, "quantity"),
        _s("cbc:PreferenceCriterionCode", 0, 1),
        _s("cac:Item", 0, N, "ItemType"), _s("cac:ContainingPackage", 0, N, "PackageType"),
    ),
    "ItemType": (
        _s("cbc:Description", 0, N), _s("cac:OriginCountry", 0, 1, "CountryType"),
        _s("cac:CommodityClassification", 0, N, "CommodityClassificationType"),
        _s("cac:ManufacturerParty", 0, N, "PartyType"),
    ),
    "CommodityClassificationType": (_s("cbc:ItemClassificationCode", 0, 1),),
    "PackageType": (
        _s("cbc:ID", 0, 1), _s("cbc:Quantity", 0, 1, "quantity"),
        _s("cbc:PackagingTypeCode", 0, 1),
    ),
    "ShipmentStageType": (
        _s("cbc:TransportModeCode", 0, 1),
        _s("cac:TransportMeans", 0, 1, "TransportMeansType"),
        _s("cac:LoadingPortLocation", 0, 1, "LocationType"),
        _s("cac:UnloadingPortLocation", 0, 1, "LocationType"),
        _s("cac:PlannedDepartureTransportEvent", 0, 1, "TransportEventType"),
    ),
    "TransportMeansType": (_s("cbc:JourneyID", 0, 1),),
    "LocationType": (_s("cbc:Description", 0, N),),
    "TransportEventType": (_s("cbc:OccurrenceDate", 0, 1, "date"),),
    "DeliveryType": (_s("cac:DeliveryAddress", 0, 1, "AddressType"),),
}

# attributes a basic type must carry (UBL 2.1: AmountType's currencyID and MeasureType's
# unitCode are required) and may carry
REQUIRED_ATTRIBUTES = {"amount": ("currencyID",), "measure": ("unitCode",)}
ALLOWED_ATTRIBUTES = {
    "amount": {"currencyID"}, "measure": {"unitCode"}, "quantity": {"unitCode"},
    "numeric": set(), "date": set(),
    "text": {"schemeID", "listID", "languageID"},
}
