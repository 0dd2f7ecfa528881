"""`origin-desk origin-check`: exit 0 met, 1 not met, 2 for a malformed file (nothing computed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from app.cli import main

SAMPLE: dict[str, Any] = {
    "agreement": "AIFTA",
    "product": {"hs_code": "610910", "description": "T-shirts of cotton"},
    "criterion": "general", "currency": "INR", "fob": "100000.00",
    "materials": [{"description": "Cotton yarn", "hs_code": "520512", "origin_country": "CN",
                   "originating": False, "value": "50000.00"}],
    "labour": "0", "overheads": "0", "profit": "0", "other_costs": "0",
}


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_met_prints_steps_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["origin-check", write(tmp_path, SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "build-down: (100000.00 - 50000.00) / 100000.00 x 100 = 50.000 %" in out
    assert "Verdict: general met" in out


def test_not_met_json_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {**SAMPLE, "materials": [{**SAMPLE["materials"][0], "value": "65000.01"}]}
    assert main(["origin-check", write(tmp_path, data), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "not met" and result["build_down_percent"] == "35.000"
    assert result["non_originating_percent"] == "65.000"
    assert set(result) == {"verdict", "criterion", "build_down_percent", "build_up_percent",
                           "non_originating_percent", "classification_change",
                           "de_minimis_percent", "steps"}


def _material(**change: Any) -> dict[str, Any]:
    return {**SAMPLE, "materials": [{**SAMPLE["materials"][0], **change}]}


@pytest.mark.parametrize(("data", "reason"), [
    ({**SAMPLE, "fob": "0"}, "fob"),
    ({**SAMPLE, "fob": "-100.00"}, "fob"),
    ({**SAMPLE, "product": {"hs_code": "61A9", "description": "x"}}, "product.hs_code"),
    (_material(hs_code="61A9"), "materials[1].hs_code"),
    ({**SAMPLE, "agreement": "NAFTA"}, "unknown agreement"),
    ({k: v for k, v in SAMPLE.items() if k != "profit"}, "missing key profit"),
    ({**SAMPLE, "discount": "0"}, "unexpected key 'discount'"),
    (_material(weight="1"), "unexpected key 'weight'"),
    ({**SAMPLE, "criterion": "XYZ"}, "criterion"),
    ({**SAMPLE, "fob": 100000.5}, None),  # a JSON number is read as Decimal, accepted
    ({**SAMPLE, "labour": True}, "labour"),
    (_material(originating="no"), "originating"),
    (_material(value="abc"), "materials[1].value"),
    ({**SAMPLE, "currency": "rupees"}, "currency"),
    ([], "expected an object"),
])
def test_malformed_files_exit_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                data: Any, reason: str | None) -> None:
    code = main(["origin-check", write(tmp_path, data), "--json"])
    out, err = capsys.readouterr()
    if reason is None:
        assert code == 0
        return
    assert code == 2 and out == ""
    assert err.startswith("origin-desk: ") and reason in err and err.count("\n") == 1


def test_not_json_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["origin-check", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["origin-check", str(tmp_path / "absent.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["origin-check", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_efta_general_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["origin-check", write(tmp_path, {**SAMPLE, "agreement": "IEFTATEPA"})]) == 2
    assert "no general rule" in capsys.readouterr().err


def test_an_application_in_the_store(demo_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from app.models import Application
    from app.models.applications import CostSheet

    with demo_engine.connect() as c:
        number = c.execute(select(Application.number).join(
            CostSheet, CostSheet.application_id == Application.id)).scalars().first()
    assert number
    code = main(["origin-check", number, "--json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert json.loads(out)["verdict"] == ("met" if code == 0 else "not met")
    assert main(["origin-check", "APP-1999-000001"]) == 2
    assert "no application" in capsys.readouterr().err
