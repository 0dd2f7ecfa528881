"""Certificate documents: the data contract, form specifications, PDF rendering, QR codes.

Public API (import from the submodules; they are listed here for discovery):

- ``certificate_data``: ``CertificateData`` and its parts (the contract the store fills),
  ``FORM_CODES``, ``KINDS``, ``CertificateDataError``.
- ``certificate_json``: ``certificate_data_to_json`` / ``certificate_data_from_json``.
- ``renderer``: ``render_certificate(data, *, qr_signer=None, draft=None)`` →
  ``RenderedCertificate`` (pdf, page_count, certification_page, certification_box,
  signature_box, qr_payload, qr_text, draft).
- ``qr_payload``: ``QrSigner``, ``build_qr_payload``, ``verify_qr_payload``,
  ``decode_qr_text``, ``key_id_for_certificate`` (format: docs/QR-PAYLOAD.md).
- ``countries``: ``country_name``, ``country_names`` (resources/countries.json).
- ``form_spec``: ``load_form_spec``, ``available_forms`` (resources/forms/*.toml).
"""
