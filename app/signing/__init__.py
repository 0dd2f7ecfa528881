"""Signing core: PKCS#11 tokens, PIN handling, PAdES signing, batches and validation.

The public API, for the store, the documents and the GUI:

* :func:`discovery.discover_from_config`, :func:`discovery.discover_tokens`,
  :func:`discovery.choose_token`, :func:`discovery.choose_signing_certificate`;
* :func:`policy.check_signing_certificate`, :func:`policy.load_trust_roots`;
* :func:`token_session.open_token_session` / ``open_token_session_from_config`` ->
  :class:`token_session.TokenSession` (``sign_pdf``, ``sign_raw``, ``certificate_der``,
  ``key_algorithm``, ``close``);
* :class:`batch.IssueBatch` -> :class:`batch.BatchOutcome`;
* :func:`validation.validate_pdf` -> :class:`validation.ValidationReport`;
* errors in :mod:`app.signing.errors` (all ``UserFacingError``).

Nothing here imports Qt.
"""
