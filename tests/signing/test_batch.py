"""IssueBatch: order, cancel, progress, per-item failures, and a token pulled mid-batch."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli import main
from app.errors import UserFacingError
from app.signing.batch import BatchStatus, IssueBatch, Progress
from app.signing.errors import TokenRemoved, WrongPin
from app.signing.validation import validate_pdf

BOX = (330, 40, 530, 140)


class FakeSession:
    certificate_der = b"cert"
    key_algorithm = "ECDSA-P256"

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 12), fail_at=st.integers(0, 14), mode=st.sampled_from(
    ["token", "item", "cancel", "bug", "none"]))
def test_every_item_is_done_failed_or_left_exactly_once(n, fail_at, mode):
    cancel = threading.Event()
    seen: list[Progress] = []

    def issue_one(item, session):
        if item == fail_at:
            if mode == "token":
                raise TokenRemoved("T")
            if mode == "item":
                raise UserFacingError(f"item {item} has no consignee")
            if mode == "bug":
                raise ZeroDivisionError("oops")
            if mode == "cancel":
                cancel.set()
        return f"CoO-{item}"

    items = list(range(n))
    outcome = IssueBatch(items, issue_one, cancel=cancel, on_progress=seen.append).run(
        FakeSession())
    done = outcome.done_items
    failed = [i for i, _ in outcome.failed]
    assert sorted(done + failed + outcome.left) == items  # nothing lost, nothing twice
    assert done == sorted(done) and outcome.left == items[len(done) + len(failed):]
    assert all(result == f"CoO-{i}" for i, result in outcome.done)
    hit = fail_at < n
    if mode == "token" and hit:
        assert outcome.status is BatchStatus.STOPPED and outcome.left[0] == fail_at
        assert "removed" in outcome.message
    elif mode == "bug" and hit:
        assert outcome.status is BatchStatus.CRASHED and outcome.left[0] == fail_at
    elif mode == "cancel" and hit and fail_at < n - 1:
        assert outcome.status is BatchStatus.CANCELLED and outcome.left[0] == fail_at + 1
    elif mode == "item" and hit:
        assert outcome.status is BatchStatus.COMPLETED and failed == [fail_at]
        assert "no consignee" in outcome.failed[0][1]
    assert seen[0] == Progress(0, 0, n)
    assert seen[-1].finished == len(done) + len(failed)


def test_raw_pkcs11_errors_from_the_callback_stop_the_batch():
    import pkcs11

    def issue_one(item, session):
        if item == 2:
            raise pkcs11.exceptions.DeviceRemoved()
        return item

    outcome = IssueBatch(range(5), issue_one).run(FakeSession())
    assert outcome.status is BatchStatus.STOPPED
    assert outcome.done_items == [0, 1] and outcome.left == [2, 3, 4]
    assert isinstance(outcome.error, TokenRemoved)


def test_run_with_closes_the_session_and_opening_errors_propagate():
    session = FakeSession()
    outcome = IssueBatch([1, 2], lambda item, s: item).run_with(lambda: session)
    assert outcome.status is BatchStatus.COMPLETED and session.closed

    def refuse():
        raise WrongPin("T")

    with pytest.raises(WrongPin):
        IssueBatch([1], lambda item, s: item).run_with(refuse)


def _signing_callback(pdf, hsm, *, pull_after: int, how: str):
    from app.signing.token_thread import run_in_token_thread

    def issue_one(item, session):
        if item == pull_after:
            if how == "delete":
                hsm.remove_token("DSC-PULL")
            else:
                import pkcs11

                run_in_token_thread(lambda: pkcs11.lib(hsm.module).finalize())
        return session.sign_pdf(pdf, field_name="Sig", page=0, box=BOX, stamp_text=f"#{item}")

    return issue_one


@pytest.mark.parametrize("how", ["delete", "finalize"])
def test_token_pulled_mid_batch_stops_with_done_and_left(
    how, make_token, open_session, hsm, ca, pdf
):
    make_token("DSC-PULL")
    token = hsm.tokens["DSC-PULL"]
    session = open_session(token)
    batch = IssueBatch(list(range(6)), _signing_callback(pdf, hsm, pull_after=3, how=how))
    outcome = batch.run(session)
    assert outcome.status is BatchStatus.STOPPED
    assert isinstance(outcome.error, TokenRemoved), outcome.error
    assert "removed" in outcome.message and "already issued stay issued" in outcome.message
    assert outcome.done_items == [0, 1, 2]
    assert outcome.left == [3, 4, 5]
    for _, signed in outcome.done:  # what was done stays done and valid
        assert validate_pdf(signed, trust_roots=[ca.root_cert]).valid
    with pytest.raises(TokenRemoved):  # the session stays broken
        session.sign_raw(b"x")
    session.close()


def test_no_pin_in_logs_or_output(make_token, open_session, pdf, caplog, capsys, pin):
    from app.logs import setup_logging

    setup_logging()
    caplog.set_level(logging.DEBUG)
    token = make_token("DSC-LOG")
    with pytest.raises(WrongPin) as wrong:
        open_session(token, ask_pin=lambda info, warnings: "111111")
    batch = IssueBatch([1, 2], lambda item, s: s.sign_pdf(pdf, field_name="S", page=0, box=BOX))
    outcome = batch.run_with(lambda: open_session(token))
    assert outcome.status is BatchStatus.COMPLETED
    assert main(["tokens", "--json"]) == 0
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, str(wrong.value), repr(outcome)]
    files = [Path(h.baseFilename) for h in logging.getLogger().handlers
             if isinstance(h, logging.FileHandler)]
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert files  # the app's rotating log file
    texts += [p.read_text(errors="replace") for p in files]
    assert caplog.text  # logging did capture something at DEBUG
    for text in texts:
        assert pin not in text and "111111" not in text
