"""Token discovery, certificate choice and the errors of opening a session."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.signing import errors
from app.signing.discovery import (
    choose_signing_certificate,
    choose_token,
    discover_from_config,
    discover_tokens,
)
from tests.support.pki import KeySpec

MIXED = (
    KeySpec("enc", "rsa", kind="encryption"),
    KeySpec("old", "ec", kind="expired"),
    KeySpec("sign", "ec"),
    KeySpec("future", "rsa", kind="not_yet_valid"),
)


def test_discovery_lists_certificates_and_picks_the_signing_one(make_token, hsm):
    token = make_token("DSC-MIXED", MIXED)
    (info,) = discover_tokens([hsm.module]).tokens
    assert info.label == "DSC-MIXED" and info.module_path == hsm.module
    assert info.serial and info.manufacturer == "SoftHSM project"
    by_fp = {c.fingerprint: c for c in info.certificates}
    for label, spec_cert in token.certs.items():
        found = by_fp[spec_cert.fingerprint]
        assert found.key_id == spec_cert.key_id
        assert found.qualifies() == (label == "sign")
    assert len(info.ca_certificates) == 1  # the sub CA is on the token too
    chosen = choose_signing_certificate(info)
    assert chosen.fingerprint == token.certs["sign"].fingerprint
    enc = by_fp[token.certs["enc"].fingerprint]
    assert "lacks digitalSignature/nonRepudiation key usage" in enc.problems()
    assert any("expired" in p for p in by_fp[token.certs["old"].fingerprint].problems())


def test_several_qualifying_certificates_ask_the_officer(make_token, hsm):
    token = make_token("DSC-TWO", (KeySpec("a", "rsa"), KeySpec("b", "ec")))
    (info,) = discover_tokens([hsm.module]).tokens
    with pytest.raises(errors.SeveralSigningCertificates) as caught:
        choose_signing_certificate(info)
    assert {c.fingerprint for c in caught.value.candidates} == {
        token.certs["a"].fingerprint, token.certs["b"].fingerprint}
    chosen = choose_signing_certificate(info, fingerprint=token.certs["b"].fingerprint)
    assert chosen.fingerprint == token.certs["b"].fingerprint
    registered = {token.certs["a"].fingerprint}
    assert choose_signing_certificate(
        info, registered_fingerprints=registered).fingerprint == token.certs["a"].fingerprint


def test_no_signing_certificate_names_the_reasons(make_token, hsm):
    make_token("DSC-ENC", (KeySpec("enc", "rsa", kind="encryption"),))
    (info,) = discover_tokens([hsm.module]).tokens
    with pytest.raises(errors.NoSigningCertificate, match="key usage"):
        choose_signing_certificate(info)


def test_no_token_and_several_tokens(make_token, hsm):
    discovery = discover_tokens([hsm.module])
    assert discovery.tokens == ()
    with pytest.raises(errors.NoTokenPresent, match="No signing token"):
        choose_token(discovery.tokens, modules=discovery.module_paths)
    make_token("DSC-ONE")
    make_token("DSC-TWO")
    tokens = discover_tokens([hsm.module]).tokens
    with pytest.raises(errors.SeveralTokens) as caught:
        choose_token(tokens)
    assert sorted(caught.value.labels) == ["DSC-ONE", "DSC-TWO"]
    assert "DSC-ONE" in str(caught.value) and "DSC-TWO" in str(caught.value)
    assert choose_token(tokens, "DSC-TWO").label == "DSC-TWO"
    with pytest.raises(errors.NoTokenPresent, match="DSC-THREE"):
        choose_token(tokens, "DSC-THREE")


def test_missing_module_is_an_error_only_when_configured(hsm, tmp_path):
    missing = str(tmp_path / "no-such-pkcs11.so")
    with pytest.raises(errors.ModuleNotFound, match="no-such-pkcs11.so"):
        discover_tokens([missing, hsm.module], explicit=True)
    discovery = discover_tokens([missing, hsm.module], explicit=False)
    assert [m.present for m in discovery.modules] == [False, True]
    not_a_module = tmp_path / "fake.so"
    not_a_module.write_bytes(b"not a shared library")
    with pytest.raises(errors.ModuleNotFound, match="fake.so"):
        discover_tokens([str(not_a_module)], explicit=True)


def test_config_defaults_skip_absent_modules(hsm, monkeypatch):
    from app.config import load_config

    monkeypatch.delenv("ORIGIN_DESK_PKCS11_MODULES")
    discovery = discover_from_config(load_config())  # defaults: most paths absent here
    assert any(m.path == hsm.module and m.present for m in discovery.modules)
    assert any(not m.present for m in discovery.modules)


def test_wrong_pin_is_reported_with_flags_and_never_retried(make_token, open_session, hsm, pin):
    token = make_token()
    asked = []

    def ask_pin(info, warnings):
        asked.append(list(warnings))
        return "000000"

    with pytest.raises(errors.WrongPin) as caught:
        open_session(token, ask_pin=ask_pin)
    assert len(asked) == 1 and asked[0] == []  # asked once, no warning before
    assert "Wrong PIN" in str(caught.value)
    # SoftHSM2 raises USER_PIN_COUNT_LOW after a wrong PIN: the message says so
    assert caught.value.count_low and "few tries" in str(caught.value)
    (info,) = discover_tokens([hsm.module]).tokens
    assert info.pin.count_low and info.pin.warnings()
    # the next batch shows the warning with the prompt, and the right PIN works
    with open_session(token, ask_pin=lambda info, warnings: asked.append(warnings) or pin):
        pass
    assert asked[1] and "few tries" in asked[1][0]


def test_cancelled_pin_prompt(make_token, open_session):
    token = make_token()
    with pytest.raises(errors.SigningCancelled):
        open_session(token, ask_pin=lambda info, warnings: None)


def test_locked_pin_is_refused_before_asking(make_token, hsm, open_session, monkeypatch, pin):
    from app.signing import discovery

    token = make_token()
    real = discovery.PinState.from_flags
    monkeypatch.setattr(discovery.PinState, "from_flags",
                        classmethod(lambda cls, flags: real.__func__(cls, flags | 0x40000)))
    asked = []
    with pytest.raises(errors.PinLocked, match="locked"):
        open_session(token, ask_pin=lambda info, warnings: asked.append(1) or pin)
    assert asked == []


def test_certificate_without_private_key(make_token, open_session):
    token = make_token("DSC-ORPHAN", (KeySpec("sign", "rsa", kind="orphan"),))
    with pytest.raises(errors.NoPrivateKey, match="no private key"):
        open_session(token)


def test_policy_runs_before_the_pin_is_asked(make_token, open_session, pin):
    token = make_token()
    asked = []
    with pytest.raises(errors.SigningRefused, match="not registered"):
        open_session(token, registered_fingerprints={"00" * 32},
                     ask_pin=lambda info, warnings: asked.append(1) or pin)
    assert asked == []


def test_tokens_command_lists_everything(make_token, capsys):
    token = make_token("DSC-CLI", MIXED)
    assert main(["tokens"]) == 0
    text = capsys.readouterr().out
    assert "DSC-CLI" in text and "can sign" in text and "cannot sign" in text
    assert token.certs["sign"].fingerprint in text
    assert main(["tokens", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (tok,) = data["tokens"]
    assert tok["pin"] == {"count_low": False, "final_try": False, "locked": False,
                          "to_be_changed": False}
    qualifying = [c["sha256"] for c in tok["certificates"] if c["qualifies"]]
    assert qualifying == [token.certs["sign"].fingerprint]


def test_tokens_command_with_missing_configured_module(hsm, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", str(tmp_path / "absent.so"))
    assert main(["tokens"]) == 2
    assert "No PKCS#11 module at" in capsys.readouterr().err
