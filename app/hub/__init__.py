"""The central service: FastAPI on uvicorn in front of the central store (docs/HUB.md).

- ``settings``: the service's configuration file, checked.
- ``database``: its engine, and acting for the officer a request authenticated.
- ``app``: the application factory (routers, middleware, health, metrics, trust list).
- ``desk_api``, ``sign_in``: the desks' sync and issuing API, officers' sign-in.
- ``serve``: ``origin-desk serve`` (uvicorn with TLS; ``--demo``).
- ``verify_pages`` (with ``verify_lookup``, ``verify_html``, ``captcha``): public
  verification without sign-in, the page, the QR address and the JSON API.

Dependencies point down only: ``hub -> services -> store, documents, signing -> models``.
"""
