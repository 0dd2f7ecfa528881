"""The officer's side of eSign in a real browser (Debian's Chromium through Selenium): the
consent page submits itself to the test ESP under its Content-Security-Policy (the script
allowed by its hash, forms only to the ESP), the officer types the OTP, and the ESP's page
posts the signed response back to the gateway, which says "Signed — return to Origin
Desk". Screenshot: build/screenshots/esign-*.png."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from tests.esign.conftest import EsignHub
from tests.hub.test_verify_browser import SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.support.test_esp import OTP


def _wait_for(driver: Any, condition: Any) -> None:
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # pages replace each other (the ESP's auto-post, then the gateway's): an element read
    # while its page goes away is looked for again
    WebDriverWait(driver, 30, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(condition)


def test_consent_otp_and_back_in_a_browser(esign_hub: EsignHub, browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    auth = esign_hub.sign_in()
    application_id = esign_hub.approved_application()
    reservation = esign_hub.reserve(auth, application_id)
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    request = esign_hub.request(auth, application_id, reservation["number"], digest).json()
    driver = browser(esign_hub.server.ca)
    driver.get(request["consent_url"])
    # the page submitted itself to the ESP (no click): its OTP page is up
    _wait_for(driver, lambda d: d.find_elements(By.NAME, "otp"))
    assert driver.current_url == esign_hub.esp.signdoc_url
    driver.find_element(By.NAME, "otp").send_keys(OTP)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(driver, lambda d: "Signed" in d.find_element(By.TAG_NAME, "h1").text)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Signed — return to Origin Desk"
    assert driver.current_url == esign_hub.url + "/esign/v1/response"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "esign-signed.png"))
    assert esign_hub.state(auth, request["txn"]).json()["state"] == "signed"
    # the link was used once: opening it again says so
    driver.get(request["consent_url"])
    assert "already used" in driver.find_element(By.TAG_NAME, "p").text


def test_without_javascript_the_buttons_carry_the_officer_through(
        esign_hub: EsignHub, browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    auth = esign_hub.sign_in()
    application_id = esign_hub.approved_application()
    reservation = esign_hub.reserve(auth, application_id)
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    request = esign_hub.request(auth, application_id, reservation["number"], digest).json()
    driver = browser(esign_hub.server.ca)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    driver.get(request["consent_url"])
    page = driver.find_element(By.TAG_NAME, "body").text
    assert "Sign with Aadhaar eSign" in page and reservation["number"] in page
    assert digest in page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "esign-consent.png"))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(driver, lambda d: d.find_elements(By.NAME, "otp"))
    driver.find_element(By.NAME, "otp").send_keys(OTP)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(driver, lambda d: d.find_elements(By.XPATH, "//button[text()='Continue']"))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(driver, lambda d: "Signed" in d.find_element(By.TAG_NAME, "h1").text)
    assert esign_hub.state(auth, request["txn"]).json()["state"] == "signed"
