"""Aadhaar eSign (CCA eSign API 2.1) for the agency's eSign gateway (``app/hub/esign.py``).

The central service is the Application Service Provider (ASP): it builds the eSign request
XML for a document digest (``messages.build_request``), signs it with the ASP key (XML
digital signature, enveloped, RSA-SHA256), and reads the eSign Service Provider's signed
response (``messages.read_response``): the ESP's XML signature, the transaction, the
timestamp window, the status and error code, the CMS ``messageDigest`` against the digest
sent and the one-time signer certificate's chain to the configured eSign CA
(``cms.check_signature``). Each refusal is an :class:`EsignRefused` with its own sentence
and ``kind``. Nothing here touches a store or the network. docs/ESIGN.md.
"""

from app.signing.esign.errors import EsignRefused

__all__ = ["EsignRefused"]
