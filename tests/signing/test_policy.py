"""The signing policy: registered, valid now, signing key usage, trusted chain."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from app.signing.certificates import fingerprint
from app.signing.errors import InvalidInput, SigningRefused
from app.signing.policy import check_signing_certificate, load_trust_roots
from tests.support.pki import make_test_ca


def issue(ca, kind="signing", now=None):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue(key.public_key(), common_name=f"Officer {kind}", kind=kind, now=now)
    return cert.public_bytes(Encoding.DER)


def check(ca, der, **kwargs):
    kwargs.setdefault("registered_fingerprints", {fingerprint(der)})
    kwargs.setdefault("trust_roots", [ca.root_cert])
    kwargs.setdefault("intermediates", [ca.sub_der])
    return check_signing_certificate(der, **kwargs)


def test_a_good_certificate_passes(ca):
    der = issue(ca)
    assert check(ca, der).fingerprint == fingerprint(der)


@pytest.mark.parametrize(
    ("kind", "rule", "words"),
    [
        ("expired", "expired", "expired on"),
        ("not_yet_valid", "not_yet_valid", "not valid before"),
        ("encryption", "key_usage", "lacks the digitalSignature/nonRepudiation"),
    ],
)
def test_refusals_name_the_rule(ca, kind, rule, words):
    der = issue(ca, kind)
    with pytest.raises(SigningRefused, match=words) as caught:
        check(ca, der)
    assert caught.value.rule == rule


def test_expired_message_has_the_date(ca):
    der = issue(ca, "expired")
    from cryptography import x509

    end = x509.load_der_x509_certificate(der).not_valid_after_utc
    with pytest.raises(SigningRefused, match=end.strftime("%Y-%m-%d")):
        check(ca, der)


def test_unregistered_is_refused_first(ca):
    der = issue(ca, "expired")
    with pytest.raises(SigningRefused, match="not registered to this officer") as caught:
        check(ca, der, registered_fingerprints={"ab" * 32})
    assert caught.value.rule == "not_registered"


def test_untrusted_chain_is_refused(ca):
    der = issue(ca)
    other = make_test_ca("Elsewhere")
    with pytest.raises(SigningRefused, match="does not chain to a trusted root") as caught:
        check(ca, der, trust_roots=[other.root_cert])
    assert caught.value.rule == "untrusted"
    with pytest.raises(SigningRefused, match="does not chain"):
        check(ca, der, intermediates=[])  # without the sub CA no path can be built
    with pytest.raises(SigningRefused, match="No trusted root") as caught:
        check(ca, der, trust_roots=[])
    assert caught.value.rule == "no_trust_roots"


@settings(max_examples=20, deadline=None)
@given(days=st.integers(min_value=-400, max_value=400))
def test_validity_window_matches_the_dates(ca, days):
    der = issue(ca)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    inside = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    if inside:
        check(ca, der, now=now)
    else:
        with pytest.raises(SigningRefused) as caught:
            check(ca, der, now=now)
        assert caught.value.rule in ("expired", "not_yet_valid", "untrusted")


def test_load_trust_roots_reads_pem_and_der(tmp_path, ca):
    other = make_test_ca("Second")
    folder = ca.write_trust_dir(tmp_path / "trust")
    (folder / "second.der").write_bytes(other.root_der)
    (folder / "notes.txt").write_text("ignored")
    roots = load_trust_roots(folder)
    assert {r.subject.rfc4514_string() for r in roots} == {
        ca.root_cert.subject.rfc4514_string(),
        other.root_cert.subject.rfc4514_string(),
    }
    assert load_trust_roots(tmp_path / "absent") == []
    (folder / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(InvalidInput, match="broken.pem"):
        load_trust_roots(folder)
