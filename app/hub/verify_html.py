"""The public verification pages' HTML and style sheet, built here with every value escaped.

No script at all, no third-party fonts, styles or images: the pages work with scripts
off and under a Content-Security-Policy of ``default-src 'none'``. The style sheet is
served by the service itself (:data:`STYLESHEET_PATH`); the captcha image is a ``data:``
URI in the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import urlencode

from app.hub.captcha import Captcha
from app.hub.verify_lookup import (
    CANCELLED,
    INDIA,
    NOT_VERIFIED,
    SUPERSEDED,
    VALID,
    Answer,
    Problem,
)

STYLESHEET_PATH = "/verify/assets/verify.css"
SERVICE_NAME = "Certificate of Origin verification"


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _date(value: dt.date | None) -> str:
    return value.strftime("%-d %B %Y") if value else "—"


def _moment(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(INDIA).strftime("%-d %B %Y, %H:%M IST")


def _country(code: str) -> str:
    from app.documents.countries import country_names

    name = country_names().get(code)
    return f"{name} ({code})" if name else code


_EMBLEM = (
    '<svg class="emblem" viewBox="0 0 48 48" aria-hidden="true" focusable="false">'
    '<circle cx="24" cy="24" r="22" fill="none" stroke="#ffffff" stroke-width="2.5"/>'
    '<circle cx="24" cy="24" r="16" fill="none" stroke="#f2b632" stroke-width="2"/>'
    '<path d="M16 24.5l5.5 5.5L33 18.5" fill="none" stroke="#ffffff" stroke-width="3.5" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>')


def document(title: str, main: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<title>{e(title)} · {e(SERVICE_NAME)}</title>'
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head><body>'
        '<a class="skip" href="#main">Skip to the main content</a>'
        '<header class="masthead"><div class="wrap masthead-inner">'
        f'<a class="brand" href="/verify">{_EMBLEM}<span class="brand-text">'
        f'<span class="brand-name">{e(SERVICE_NAME)}</span>'
        '<span class="brand-sub">Electronic Certificates of Origin issued by chambers of '
        'commerce and export councils</span></span></a></div></header>'
        '<div class="band"><div class="wrap">Public service — no sign-in needed. '
        'For customs officers, importers and banks.</div></div>'
        f'<main id="main" class="wrap">{main}</main>'
        '<footer class="footer"><div class="wrap">'
        '<p>This service shows what the issuing agencies have recorded at the moment you '
        'ask.</p>'
        '<p>Customs systems: the same answer as JSON at <code>/api/v1/verify</code> '
        '(described in <a href="/openapi.json">the OpenAPI document</a>); agencies\' seal '
        'certificates for offline '
        'checks at <code>/.well-known/origin-desk/seals.json</code>.</p>'
        '</div></footer></body></html>')


# --- the answer ----------------------------------------------------------------------------

def _banner(answer: Answer) -> str:
    if answer.outcome == VALID:
        kind, mark, head = "valid", "✓", "VALID"
        text = "This certificate was issued by the agency named below and is in force."
    elif answer.outcome == SUPERSEDED:
        kind, mark = "superseded", "!"
        head = f"SUPERSEDED BY {answer.superseded_by or 'AN IN-LIEU CERTIFICATE'}"
        text = ("This certificate was replaced by an in-lieu certificate and is no longer "
                "valid. Only the replacement may be accepted.")
    elif answer.outcome == CANCELLED:
        kind, mark, head = "cancelled", "✕", "CANCELLED"
        text = "The issuing agency cancelled this certificate. It is not valid."
    elif answer.outcome == NOT_VERIFIED:
        kind, mark, head = "alert", "✕", "This QR code does not verify"
        problem = answer.seal.problem if answer.seal else ""
        text = ("It was altered, damaged or not made by an issuing agency. Do not rely on "
                "the certificate it came with."
                + (f" Reason: {problem.rstrip('.')}." if problem else ""))
    else:
        kind, mark = "alert", "✕"
        head = "No certificate with this number from this agency"
        text = ("Check the certificate number and the agency code as printed on the "
                "certificate. A certificate that cannot be found here may be forged: do not "
                "accept it before the issuing agency confirms it.")
    return (f'<div class="banner banner-{kind}" id="verdict" role="alert">'
            f'<span class="banner-mark" aria-hidden="true">{mark}</span>'
            f'<div><p class="banner-head" id="verdict-head">{e(head)}</p>'
            f'<p class="banner-text">{e(text)}</p></div></div>')


def _rows(rows: Iterable[tuple[str, str, str]]) -> str:
    """(id, label, already-escaped value) rows of a details list."""
    items = "".join(f'<div class="row"><dt>{e(label)}</dt><dd id="{e(id_)}">{value}</dd>'
                    '</div>' for id_, label, value in rows)
    return f'<dl class="details">{items}</dl>'


def _status_text(answer: Answer) -> str:
    legacy = " (legacy eCoO 1.0 status: migrated from the legacy system)" \
        if getattr(answer, "legacy", False) else ""
    if answer.outcome == SUPERSEDED:
        return f"Superseded by {e(answer.superseded_by or 'an in-lieu certificate')}{legacy}"
    return {VALID: "Valid", CANCELLED: "Cancelled"}.get(answer.outcome, "—") + (
        legacy if answer.outcome in (VALID, CANCELLED) else "")


def answer_section(answer: Answer, *, asked_number: str = "", asked_agency: str = "") -> str:
    """The result of a number-and-agency check."""
    if not answer.found:
        details = _rows([
            ("d-number", "Certificate number you entered", f"<code>{e(asked_number)}</code>"),
            ("d-agency", "Agency code you entered", f"<code>{e(asked_agency)}</code>"),
        ])
    else:
        details = _rows([
            ("d-number", "Certificate number", f"<code>{e(answer.number)}</code>"),
            ("d-status", "Status", _status_text(answer)),
            ("d-agency", "Issuing agency",
             f"{e(answer.agency_name)} (<code>{e(answer.agency_code)}</code>)"),
            ("d-office", "Issuing office", e(answer.office_name)),
            ("d-issued", "Date of issue", e(_date(answer.issue_date))),
        ])
    return (f'<section class="result" aria-labelledby="result-title">'
            f'<h2 id="result-title">Result</h2>{_banner(answer)}{details}'
            f'<p class="checked">Checked {e(_moment(answer.checked_at))}.</p></section>')


def qr_section(answer: Answer) -> str:
    """The result of a QR code's payload: the seal, the sealed fields and the status."""
    seal = answer.seal
    if answer.outcome == NOT_VERIFIED or seal is None or seal.content is None:
        return (f'<section class="result" aria-labelledby="result-title">'
                f'<h2 id="result-title">Result</h2>{_banner(answer)}'
                f'<p class="checked">Checked {e(_moment(answer.checked_at))}.</p></section>')
    content = seal.content
    sealed_by = (f"Seal of the issuing agency (<code>{e(seal.agency_code)}</code>)"
                 if seal.signer == "agency seal" else
                 "Registered digital signature certificate of an issuing officer")
    seal_note = ('<p class="seal-ok" id="seal"><span aria-hidden="true">✓</span> '
                 'The QR code\'s seal verifies: the details below are exactly those the '
                 'issuing agency sealed.</p>')
    agency = (f"{e(answer.agency_name)} (<code>{e(answer.agency_code)}</code>)"
              if answer.agency_name else f"<code>{e(seal.agency_code or '—')}</code>")
    office = (f"{e(answer.office_name)} (<code>{e(content.office_code)}</code>)"
              if answer.office_name else f"<code>{e(content.office_code)}</code>")
    rows = [
        ("d-number", "Certificate number", f"<code>{e(content.reference_number)}</code>"),
        ("d-status", "Status", _status_text(answer) if answer.found else
         "Not recorded by the agency"),
        ("d-issued", "Date of issue", e(_date(content.issue_date))),
        ("d-agency", "Issuing agency", agency),
        ("d-office", "Issuing office", office),
        ("d-iec", "Exporter (IEC)", f"<code>{e(content.exporter_iec)}</code>"),
        ("d-destination", "Destination", e(_country(content.destination_country))),
        ("d-sealed-by", "Sealed with", sealed_by),
    ]
    return (f'<section class="result" aria-labelledby="result-title">'
            f'<h2 id="result-title">Result</h2>{_banner(answer)}{seal_note}{_rows(rows)}'
            f'<p class="checked">Checked {e(_moment(answer.checked_at))}. Compare these '
            'details with the certificate in front of you: they must be the same.</p>'
            '</section>')


# --- pages ---------------------------------------------------------------------------------

def _problems_box(problems: Sequence[Problem]) -> str:
    if not problems:
        return ""
    items = "".join(f'<li><a href="#{e(p.field)}">{e(p.message)}</a></li>' for p in problems)
    return ('<div class="problems" id="problems" role="alert" aria-labelledby="problems-title">'
            '<h2 id="problems-title">There is a problem</h2>'
            f'<ul>{items}</ul></div>')


def _invalid(problems: Sequence[Problem]) -> str:
    return ' aria-invalid="true"' if problems else ""


def _field(name: str, label: str, hint: str, value: str, problems: Sequence[Problem], *,
           width: str, autocomplete: str = "off") -> str:
    mine = [p for p in problems if p.field == name]
    error = "".join(f'<p class="field-error" id="{name}-error">{e(p.message)}</p>'
                    for p in mine)
    described = f"{name}-hint" + (f" {name}-error" if mine else "")
    return (f'<div class="field{" field-invalid" if mine else ""}">'
            f'<label for="{name}">{e(label)}</label>'
            f'<p class="hint" id="{name}-hint">{e(hint)}</p>{error}'
            f'<input class="input {width}" id="{name}" name="{name}" type="text" '
            f'value="{e(value)}" spellcheck="false" autocapitalize="characters" '
            f'autocomplete="{autocomplete}" aria-describedby="{described}"'
            f'{_invalid(mine)}></div>')


def _captcha_block(captcha: Captcha, number: str, agency: str,
                   problems: Sequence[Problem]) -> str:
    mine = [p for p in problems if p.field == "captcha"]
    error = "".join(f'<p class="field-error" id="captcha-error">{e(p.message)}</p>'
                    for p in mine)
    keep = {k: v for k, v in (("number", number), ("agency", agency)) if v}
    another = "/verify?" + urlencode({**keep, "captcha": captcha.kind})
    if captcha.kind == "text":
        challenge = (f'<p class="question" id="captcha-question">{e(captcha.question)}</p>')
        label, hint = "Security check", "Answer the question, so that we know you are a person."
        switch = ("/verify?" + urlencode({**keep, "captcha": "image"}),
                  "Use a picture of characters instead")
    else:
        challenge = (f'<img class="captcha-image" id="captcha-image" src="'
                     f'{captcha.image_data_uri}" width="240" height="80" alt="A picture of '
                     '5 or 6 distorted characters. If you cannot read it, use the text '
                     'question instead.">')
        label = "Security check"
        hint = ("Type the characters in the picture. Capitals or small letters both work; "
                "there is no letter O and no zero.")
        switch = ("/verify?" + urlencode({**keep, "captcha": "text"}),
                  "Use a text question instead")
    return (f'<div class="field captcha{" field-invalid" if mine else ""}">'
            f'<label for="captcha">{e(label)}</label>'
            f'<p class="hint" id="captcha-hint">{e(hint)}</p>{error}'
            f'<div class="captcha-row">{challenge}<div class="captcha-links">'
            f'<a href="{e(another)}" id="captcha-new">Show another</a>'
            f'<a href="{e(switch[0])}" id="captcha-switch">{e(switch[1])}</a></div></div>'
            f'<input class="input w-short" id="captcha" name="captcha_answer" type="text" '
            'value="" spellcheck="false" autocomplete="off" autocapitalize="characters" '
            f'maxlength="20" aria-describedby="captcha-hint{" captcha-error" if mine else ""}"'
            f'{_invalid(mine)}>'
            f'<input type="hidden" name="captcha_token" value="{e(captcha.token)}"></div>')


def verify_page(captcha: Captcha, *, number: str = "", agency: str = "",
                problems: Sequence[Problem] = (), result: str = "") -> str:
    form = (
        '<form class="card" method="post" action="/verify" novalidate>'
        '<h2 class="card-title">Check by certificate number</h2>'
        + _field("number", "Certificate number",
                 "As printed in the certification box and on every page, for example "
                 "IGCC/2026/0000123.", number, problems, width="w-long")
        + _field("agency", "Issuing agency code",
                 "The code of the chamber or council that issued it, for example IGCC.",
                 agency, problems, width="w-short")
        + _captcha_block(captcha, number, agency, problems)
        + '<button class="button" type="submit" id="submit">Verify certificate</button>'
        '</form>')
    intro = ('<h1>Verify a Certificate of Origin</h1>'
             '<p class="lede">Find out whether an electronic Certificate of Origin is '
             'genuine, and whether it is still valid, was replaced by an in-lieu certificate '
             'or was cancelled.</p>')
    aside = ('<aside class="aside"><h2>Have the certificate in front of you?</h2>'
             '<p>Scan the QR code on any page with a phone camera: it opens this service '
             'and checks the agency\'s seal at once, without the security check.</p></aside>')
    return document("Verify a certificate",
                    intro + _problems_box(problems) + result + form + aside)


def qr_page(answer: Answer) -> str:
    """The QR address's page: the verdict first (it is read on a phone), then what the
    check was."""
    about = ('<section class="aside"><h2>What was checked</h2>'
             '<p>The QR code printed on the certificate carries its key details under the '
             'issuing agency\'s seal. This page checked the seal and asked the agency\'s '
             'records for the certificate\'s status now.</p></section>')
    more = ('<p class="more"><a href="/verify">Check another certificate by its number</a>'
            '</p>')
    return document("QR code check", '<h1>Certificate of Origin — QR code check</h1>'
                    + qr_section(answer) + about + more)


def too_many_page(retry_after: int) -> str:
    main = ('<h1>Too many checks from your address</h1>'
            '<div class="banner banner-alert" role="alert" id="verdict">'
            '<span class="banner-mark" aria-hidden="true">!</span><div>'
            '<p class="banner-head" id="verdict-head">Please wait before checking again</p>'
            f'<p class="banner-text">Try again in {int(retry_after)} seconds. Systems that '
            'check many certificates should verify the QR codes offline with the agencies\' '
            'published seal certificates.</p></div></div>'
            '<p class="more"><a href="/verify">Back to verification</a></p>')
    return document("Too many checks", main)


STYLESHEET = """\
:root{--ink:#1b1f24;--muted:#505a66;--line:#c9d1da;--navy:#0b2e59;--navy2:#123e75;
--gold:#f2b632;--green:#0b6b2f;--amber:#8a5200;--amberbg:#fff4db;--red:#a4161a;
--redbg:#fdecec;--focus:#ffbf47;--paper:#f4f6f9}
*{box-sizing:border-box}
html{font-family:"DejaVu Sans","Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;
font-size:17px;line-height:1.5;color:var(--ink);background:var(--paper)}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
a{color:#0b4f9c;text-underline-offset:2px}
a:focus,button:focus,input:focus{outline:3px solid var(--focus);outline-offset:0}
code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:.95em}
.wrap{max-width:880px;margin:0 auto;padding:0 24px}
.skip{position:absolute;left:-999px}
.skip:focus{left:8px;top:8px;background:#fff;padding:6px 10px;z-index:2}
.masthead{background:var(--navy);color:#fff;border-bottom:6px solid var(--gold)}
.masthead-inner{padding-top:14px;padding-bottom:14px}
.brand{display:flex;align-items:center;gap:14px;color:#fff;text-decoration:none}
.emblem{width:46px;height:46px;flex:none}
.brand-text{display:flex;flex-direction:column}
.brand-name{font-size:1.3rem;font-weight:700;letter-spacing:.01em}
.brand-sub{font-size:.85rem;opacity:.9}
.band{background:#e3e9f1;color:var(--navy);font-size:.85rem;padding:6px 0;
border-bottom:1px solid var(--line)}
main.wrap{flex:1;padding-top:28px;padding-bottom:40px;width:100%}
h1{font-size:1.9rem;line-height:1.2;margin:0 0 14px;color:var(--navy)}
h2{font-size:1.25rem;margin:0 0 12px}
.lede{font-size:1.05rem;color:var(--muted);margin:0 0 24px;max-width:40em}
.card{background:#fff;border:1px solid var(--line);border-top:4px solid var(--navy2);
padding:24px 28px;margin:0 0 24px}
.card-title{color:var(--navy)}
.field{margin:0 0 22px}
.field label{display:block;font-weight:700;margin-bottom:2px}
.hint{margin:0 0 6px;color:var(--muted);font-size:.9rem}
.input{font:inherit;font-size:1.05rem;padding:8px 10px;border:2px solid #2b3540;
border-radius:0;background:#fff;text-transform:uppercase}
.w-long{width:100%;max-width:22em}.w-short{width:100%;max-width:11em}
.field-invalid{border-left:5px solid var(--red);padding-left:14px}
.field-invalid .input{border-color:var(--red)}
.field-error{color:var(--red);font-weight:700;margin:0 0 6px}
.captcha-row{display:flex;align-items:center;gap:18px;flex-wrap:wrap;margin:4px 0 10px}
.captcha-image{border:1px solid var(--line);display:block;width:240px;height:80px}
.captcha-links{display:flex;flex-direction:column;gap:6px;font-size:.9rem}
.question{font-size:1.15rem;font-weight:700;margin:0;padding:10px 14px;background:var(--paper);
border:1px solid var(--line)}
.button{font:inherit;font-weight:700;font-size:1.05rem;color:#fff;background:var(--green);
border:0;border-bottom:3px solid #063d1b;padding:10px 22px;cursor:pointer}
.button:hover{background:#095a27}
.problems{border:4px solid var(--red);background:#fff;padding:16px 20px;margin:0 0 24px}
.problems h2{color:var(--red);margin-bottom:6px}
.problems ul{margin:0;padding-left:20px}
.problems a{color:var(--red);font-weight:700}
.result{background:#fff;border:1px solid var(--line);padding:24px 28px;margin:0 0 24px}
.banner{display:flex;gap:16px;align-items:flex-start;padding:18px 20px;margin:0 0 20px;
border-radius:2px}
.banner-mark{flex:none;width:44px;height:44px;border-radius:50%;display:flex;
align-items:center;justify-content:center;font-size:1.6rem;font-weight:700}
.banner-head{font-size:1.55rem;font-weight:800;margin:2px 0 4px;letter-spacing:.02em;
line-height:1.25;word-break:break-word}
.banner-text{margin:0}
.banner-valid{background:var(--green);color:#fff}
.banner-valid .banner-mark{background:#fff;color:var(--green)}
.banner-superseded{background:var(--amberbg);color:#3d2600;border:3px solid #e09a00}
.banner-superseded .banner-mark{background:#e09a00;color:#fff}
.banner-superseded .banner-head{color:var(--amber)}
.banner-cancelled{background:var(--red);color:#fff}
.banner-cancelled .banner-mark{background:#fff;color:var(--red)}
.banner-alert{background:var(--redbg);color:#4a0a0c;border:3px solid var(--red)}
.banner-alert .banner-mark{background:var(--red);color:#fff}
.banner-alert .banner-head{color:var(--red)}
.seal-ok{margin:0 0 16px;padding:10px 14px;background:#e8f4ec;border-left:5px solid var(--green);
color:#0a3d1e}
.details{margin:0;border-top:1px solid var(--line)}
.details .row{display:grid;grid-template-columns:15em 1fr;gap:16px;padding:9px 0;
border-bottom:1px solid var(--line)}
.details dt{font-weight:700;color:var(--muted)}
.details dd{margin:0}
.checked{color:var(--muted);font-size:.9rem;margin:14px 0 0}
.aside{border-left:5px solid var(--navy2);padding:4px 0 4px 18px;margin:8px 0 0}
.aside h2{font-size:1.05rem;margin-bottom:4px}.aside p{margin:0;color:var(--muted)}
.more{margin:18px 0 0}
.footer{background:#1c2733;color:#d8dee6;font-size:.85rem;padding:18px 0}
.footer a{color:#fff}.footer p{margin:4px 0}
@media (max-width:600px){html{font-size:16px}.card,.result{padding:18px}
h1{font-size:1.5rem}.banner-head{font-size:1.3rem}.banner{padding:14px}
main.wrap{padding-top:18px}.wrap{padding:0 14px}
.details .row{grid-template-columns:1fr;gap:2px}.brand-sub{display:none}}
"""
