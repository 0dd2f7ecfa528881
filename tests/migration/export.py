"""A legacy export (eCoO 1.0) with good and bad rows, and what the import must say of it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

HEADER = ("record,number,agency,office,exporter_iec,exporter_name,consignee,destination,"
          "agreement,form,issued_on,status,superseded_by,goods,balance,as_of")
VALID_LEGACY = "MUM/CO/2019/004512"
CANCELLED_LEGACY = "DEL/CO/2020/000077"
SUPERSEDED_LEGACY = "DEL/CO/2020/000078"
REPLACED_BY = "DEL/CO/2020/000090"
# in this store's scheme and dated after 21.12.2024: legacy only because it was migrated
SCHEME_LEGACY = "IGCC/2025/0900001"
MUM_OPENING = Decimal("125000.50")
DEL_OPENING = Decimal("7400.00")
GOOD = {VALID_LEGACY: "valid", CANCELLED_LEGACY: "cancelled",
        SUPERSEDED_LEGACY: "superseded", SCHEME_LEGACY: "valid"}
# line number -> what the report says of it
REJECTED = {
    6: "bad date '2019-13-45' in issued_on",
    7: "unknown office 'XYZ'",
    8: "malformed certificate number 'MUM CO 2019!'",
    9: "duplicate in the file: certificate MUM/CO/2019/004512 is on line 2 too",
    10: "unknown status 'revoked'",
    11: "malformed exporter IEC 'AAAC'",
    12: "negative balance -10.00 for office CHE",
    13: "duplicate in the file: the balance of office MUM is on line 4 too",
    14: "not UTF-8 text (an encoding error)",
    15: "status superseded without superseded_by",
    16: "agency 'OTHER' is not yours (IGCC)",
}


def write_export(path: Path) -> Path:
    """Good rows on lines 2-5 and 17, one bad row per reason on lines 6-16."""
    lines = [
        HEADER,
        f'certificate,{VALID_LEGACY},IGCC,MUM,AAACR5055K,Reliance Textiles Ltd,Gulf Traders LLC,'
        'AE,SAFTA,Form A,2019-06-14,valid,,"Cotton yarn, 30s count (HS 520512)",,',
        f"certificate,{CANCELLED_LEGACY},IGCC,DEL,AAACR5055K,Reliance Textiles Ltd,Nordhafen "
        "GmbH,DE,,Non-preferential,14-02-2020,cancelled,,Bed linen (HS 630231),,",
        f"balance,,IGCC,MUM,,,,,,,,,,,{MUM_OPENING},2024-12-20",
        f"certificate,{SUPERSEDED_LEGACY},igcc,del,aaacr5055k,Reliance Textiles Ltd,Nordhafen "
        f"GmbH,de,,Non-preferential,15/02/2020,Superseded,{REPLACED_BY},Bed linen,,",
        "certificate,MUM/CO/2019/004513,IGCC,MUM,AAACR5055K,R,G,AE,,,2019-13-45,valid,,x,,",
        "certificate,MUM/CO/2019/004514,IGCC,XYZ,AAACR5055K,R,G,AE,,,2019-06-14,valid,,x,,",
        "certificate,MUM CO 2019!,IGCC,MUM,AAACR5055K,R,G,AE,,,2019-06-14,valid,,x,,",
        f"certificate,{VALID_LEGACY},IGCC,MUM,AAACR5055K,R,G,AE,,,2019-06-14,valid,,x,,",
        "certificate,MUM/CO/2019/004515,IGCC,MUM,AAACR5055K,R,G,AE,,,2019-06-14,revoked,,x,,",
        "certificate,MUM/CO/2019/004516,IGCC,MUM,AAAC,R,G,AE,,,2019-06-14,valid,,x,,",
        "balance,,IGCC,CHE,,,,,,,,,,,-10.00,2024-12-20",
        "balance,,IGCC,MUM,,,,,,,,,,,10.00,2024-12-20",
        "certificate,MUM/CO/2019/004517,IGCC,MUM,AAACR5055K,Caf\udce9 Exports,G,AE,,,"
        "2019-06-14,valid,,x,,",
        "certificate,MUM/CO/2019/004518,IGCC,MUM,AAACR5055K,R,G,AE,,,2019-06-14,superseded,,x,,",
        "certificate,MUM/CO/2019/004519,OTHER,MUM,AAACR5055K,R,G,AE,,,2019-06-14,valid,,x,,",
        f"certificate,{SCHEME_LEGACY},IGCC,MUM,AAACR5055K,Reliance Textiles Ltd,Gulf Traders "
        "LLC,AE,,,2025-01-10,valid,,Cotton yarn,,",
        f"balance,,IGCC,DEL,,,,,,,,,,,{DEL_OPENING},2024-12-20",
    ]
    path.write_bytes("\n".join(lines).encode("utf-8", errors="surrogateescape") + b"\n")
    return path
