"""The public verification page in a real browser: Debian's Chromium and chromedriver
through Selenium, against uvicorn with TLS from a test CA that Chromium trusts through
its own NSS database.

The test answers the captcha as a person reading the picture would: the service tells a
test-only oracle (``hub.extras["captcha_oracle"]``) each captcha's answer; the page never
carries it. Screenshots go to ``build/screenshots/verify-*.png``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.hub.verify_support import (
    SoftSeal,
    b64url,
    certificate_numbers,
    install_oracle,
    set_status,
)
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    PIN,
    approved,
    ca,
    config,
    hsm,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"

# no skip: make test installs chromium, chromium-driver and libnss3-tools
# (installers/system-packages.txt); a machine without them fails here, as it should


def _nss_home(folder: Path, ca_pem: Path) -> Path:
    """A HOME whose NSS database trusts the test CA (and nothing else of ours)."""
    database = folder / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{database}", "-N", "--empty-password"],
                   check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{database}", "-A", "-t", "C,,", "-n",
                    "origin-desk-test-ca", "-i", str(ca_pem)], check=True, capture_output=True)
    return folder


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """``browser(ca_pem)`` -> a headless Chromium trusting that CA; quit after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []

    def start(ca_pem: Path, width: int = 1200, height: int = 1100) -> Any:
        home = _nss_home(tmp_path / f"chromium-home-{len(drivers)}", ca_pem)
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", f"--window-size={width},{height}",
                         f"--user-data-dir={home / 'profile'}", "--lang=en-GB"):
            options.add_argument(argument)
        options.binary_location = CHROMIUM
        service = Service(CHROMEDRIVER, env={**os.environ, "HOME": str(home)})
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def shot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"verify-{name}.png"
    driver.save_screenshot(str(path))
    return path


def fill_and_submit(driver: Any, oracle: Any, number: str, agency: str,
                    answer: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    for field, value in (("number", number), ("agency", agency)):
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    token = driver.find_element(By.NAME, "captcha_token").get_attribute("value")
    driver.find_element(By.ID, "captcha").send_keys(
        oracle.answers[token] if answer is None else answer)
    submit = driver.find_element(By.ID, "submit")
    submit.click()
    wait_for_new_page(driver, submit)


def wait_for_new_page(driver: Any, old_element: Any) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_driver: Any) -> bool:
        # while the old page is torn down Chromium may answer "stale element" or, in the
        # middle of it, "node does not belong to the document": both mean it is gone
        try:
            old_element.is_enabled()
        except WebDriverException:
            return True
        return False

    wait = WebDriverWait(driver, 15)
    wait.until(gone)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def verdict(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "verdict-head").text)


def test_the_verify_page_in_a_browser(demo_hub: Any, demo_engine: Engine, serve: Any,
                                      browser: Any) -> None:
    from selenium.webdriver.common.by import By

    oracle = install_oracle(demo_hub)
    numbers = certificate_numbers(demo_engine)
    valid = numbers["valid"]
    in_lieu = numbers["superseded"].rsplit("/", 1)[0] + "/0009876"
    server = serve(demo_hub)
    driver = browser(server.ca)

    driver.get(f"{server.url}/verify")
    assert driver.title.startswith("Verify a certificate")
    image = driver.find_element(By.ID, "captcha-image")
    assert image.get_attribute("naturalWidth") == "240"  # the data: image loaded under CSP
    assert driver.find_element(By.CSS_SELECTOR, ".masthead").value_of_css_property(
        "background-color") == "rgba(11, 46, 89, 1)"  # the style sheet loaded under CSP
    shot(driver, "form")

    # valid, after the captcha
    fill_and_submit(driver, oracle, valid, "IGCC")
    assert verdict(driver) == "VALID"
    assert driver.find_element(By.ID, "d-number").text == valid
    assert "Indo-Gulf Chamber of Commerce" in driver.find_element(By.ID, "d-agency").text
    shot(driver, "valid")

    # an in-lieu certificate replaces it: the same check says so
    set_status(demo_engine, valid, "superseded", in_lieu)
    fill_and_submit(driver, oracle, valid, "IGCC")
    assert verdict(driver) == f"SUPERSEDED BY {in_lieu}"
    assert driver.find_element(By.ID, "d-status").text == f"Superseded by {in_lieu}"
    shot(driver, "superseded")

    fill_and_submit(driver, oracle, numbers["cancelled"], "IGCC")
    assert verdict(driver) == "CANCELLED"
    shot(driver, "cancelled")

    # an unknown number: the alert
    fill_and_submit(driver, oracle, "IGCC/2026/9999999", "IGCC")
    assert verdict(driver) == "No certificate with this number from this agency"
    shot(driver, "unknown")

    # a wrong captcha: refused, with a new one, nothing looked up
    token = driver.find_element(By.NAME, "captcha_token").get_attribute("value")
    right = oracle.answers[token]
    fill_and_submit(driver, oracle, valid, "IGCC", answer=right[::-1] + "X")
    errors = [e.text for e in driver.find_elements(By.CLASS_NAME, "field-error")]
    assert errors == ["The characters typed do not match the image; try the new one."]
    assert not driver.find_elements(By.ID, "verdict")
    assert driver.find_element(By.NAME, "captcha_token").get_attribute("value") != token
    assert "There is a problem" in driver.find_element(By.ID, "problems").text
    shot(driver, "wrong-captcha")

    # the text question instead of the picture
    switch = driver.find_element(By.ID, "captcha-switch")
    switch.click()
    wait_for_new_page(driver, switch)
    assert "plus" in driver.find_element(By.ID, "captcha-question").text
    fill_and_submit(driver, oracle, numbers["cancelled"], "IGCC")
    assert verdict(driver) == "CANCELLED"

    phone = browser(server.ca, width=390, height=1000)
    phone.get(f"{server.url}/verify")
    assert phone.find_element(By.ID, "captcha-image").is_displayed()
    shot(phone, "form-phone")


def test_the_qr_address_in_a_browser(demo_hub: Any, demo_engine: Engine, serve: Any,
                                     browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from app.documents.qr_payload import parse_qr_payload

    numbers = certificate_numbers(demo_engine)
    seal = SoftSeal(demo_engine)
    payload = seal.payload(demo_hub.central, numbers["valid"])
    content = parse_qr_payload(payload)
    server = serve(demo_hub)

    driver = browser(server.ca)
    driver.get(f"{server.url}/v/{b64url(payload)}")
    assert verdict(driver) == "VALID"
    assert driver.find_element(By.ID, "d-iec").text == content.exporter_iec
    assert "seal verifies" in driver.find_element(By.ID, "seal").text
    shot(driver, "qr")

    changed = bytearray(payload)
    changed[len(changed) // 2] ^= 0x01
    driver.get(f"{server.url}/v/{b64url(bytes(changed))}")
    assert verdict(driver) == "This QR code does not verify"
    assert not driver.find_elements(By.ID, "d-iec")
    shot(driver, "qr-altered")

    # as a phone camera opens it
    phone = browser(server.ca, width=390, height=1000)
    phone.get(f"{server.url}/v/{b64url(payload)}")
    assert verdict(phone) == "VALID"
    shot(phone, "qr-phone")


def _qr_text_of(pdf: bytes, folder: Path) -> str:
    """The QR text as a phone camera reads it: page 1 rendered by pdftoppm, zxing-cpp."""
    import zxingcpp
    from PIL import Image

    folder.mkdir(exist_ok=True)
    source = folder / "issued.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", str(source),
                    str(folder / "page")], check=True)
    [image] = list(folder.glob("page*.png"))
    found = zxingcpp.read_barcodes(Image.open(image), formats=zxingcpp.BarcodeFormat.QRCode)
    image.unlink()
    assert len(found) == 1
    return str(found[0].text)


def test_issued_certificates_verify_in_a_browser(  # fixtures imported from tests/issuing
        demo_hub: Any, demo_engine: Engine, serve: Any, browser: Any, hsm: Any,  # noqa: F811
        rsa_token: Any, config: Any, officer_id: int, approved: Any,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue with the agency seal, scan the QR code off the PDF, open it; issue an in-lieu
    certificate, and the original's check says it is superseded by it."""
    from selenium.webdriver.common.by import By
    from sqlalchemy import select

    from app.models import Application
    from app.services.central import SqlCentral
    from app.services.issuing import Issuer
    from app.services.seals import create_seal
    from app.signing.seal import Sealer

    server = serve(demo_hub)
    hsm.init_token("SEAL-VERIFY", pin="864209")
    monkeypatch.setenv("OD_TEST_SEAL_PIN", "864209")
    sealer = Sealer.from_dict({"module": hsm.module, "token_label": "SEAL-VERIFY",
                               "pin_env": "OD_TEST_SEAL_PIN", "public_base_url": server.url})
    try:
        create_seal(demo_engine, sealer, "IGCC")
        pdfs: dict[int, bytes] = {}
        issuer = Issuer(SqlCentral(demo_engine, config, sealer=sealer), config, officer_id,
                        on_issued=lambda issued, pdf: pdfs.__setitem__(issued.application_id,
                                                                       pdf))

        def issue(application_id: int) -> str:
            outcome = issuer.run_batch([application_id], lambda info, warnings: PIN)
            assert len(outcome.done) == 1, outcome.message
            return str(outcome.done[0][1].certificate_number)

        [in_lieu_id] = approved("in_lieu")
        with demo_engine.connect() as connection:
            original = connection.scalar(select(Application.original_certificate_number)
                                         .where(Application.id == in_lieu_id))
        set_status(demo_engine, original, "valid")  # in force until the in-lieu is issued

        [first_id] = approved("non_preferential")
        number = issue(first_id)
        text = _qr_text_of(pdfs[first_id], tmp_path / "first")
        assert text.startswith(f"{server.url}/v/")
        driver = browser(server.ca)
        driver.get(text)  # what a phone camera opens
        assert verdict(driver) == "VALID"
        assert driver.find_element(By.ID, "d-number").text == number
        shot(driver, "issued-qr")

        oracle = install_oracle(demo_hub)
        driver.get(f"{server.url}/verify")
        fill_and_submit(driver, oracle, original, "IGCC")
        assert verdict(driver) == "VALID"

        replacement = issue(in_lieu_id)
        fill_and_submit(driver, oracle, original, "IGCC")
        assert verdict(driver) == f"SUPERSEDED BY {replacement}"
        shot(driver, "issued-superseded")
        driver.get(_qr_text_of(pdfs[in_lieu_id], tmp_path / "in-lieu"))
        assert verdict(driver) == "VALID"
        assert driver.find_element(By.ID, "d-number").text == replacement
    finally:
        sealer.close()
