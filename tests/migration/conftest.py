"""The PostgreSQL fixtures (a throwaway store per test, the officers' own logins) and the
central service's (``pg_hub``, ``demo_hub``, ``client``)."""

from tests.hub.conftest import client, demo_hub, pg_hub, serve  # noqa: F401
from tests.store.conftest import central, pg_server, pg_template  # noqa: F401
