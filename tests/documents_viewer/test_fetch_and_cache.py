"""Supporting documents fetched on demand and kept for offline review, on the three ways
a desk meets its store: the embedded demo, a desk synced with PostgreSQL through the
officer's own login, and a desk whose central store is the central service. A hostile
officer reads no other office's document (plain SQL, raw HTTP); fetched bytes must match
the recorded SHA-256; the cache is bounded and emptied when the local store changes hands."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from app.config import Config, load_config
from app.services.central import SqlCentral
from app.services.central_http import HttpCentral
from app.services.desk import Desk
from app.services.documents import (
    FROM_CACHE,
    FROM_CENTRAL,
    DocumentCache,
    DocumentUnavailable,
)
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.central import engine_for_url
from app.store.link import CentralInfo
from app.store.local import LocalStore
from tests.documents_viewer.support import document_of_office, first, pdf, put_document
from tests.hub.conftest import PASSWORD, client, demo_hub, pg_hub, serve, set_password  # noqa: F401
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401
from tests.support.hub_server import free_port

ANITA = "anita.deshpande@igcc.org.in"  # serves MUM only

pytestmark = pytest.mark.qt_log_ignore("does not support raise")


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _digest(content: bytes | None) -> str:
    assert content is not None
    return hashlib.sha256(content).hexdigest()


def _local_contents(local: LocalStore) -> list[Any]:
    with local.engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT content FROM supporting_documents")).scalars())


def _unreachable_pg(config: Config) -> SqlCentral:
    """A link to a PostgreSQL server that is not there (the central store is down)."""
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/central?connect_timeout=3"
    return SqlCentral(engine_for_url(url), config)


# --- the embedded demo --------------------------------------------------------------------

def test_the_embedded_desk_reads_each_document_from_its_store(demo_engine: Engine) -> None:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    doc = document_of_office(demo_engine, "MUM")
    messages: list[str] = []
    opened = desk.documents().open(doc.id, messages.append)
    assert opened.viewer == "pdf" and opened.source == FROM_CENTRAL and not opened.problem
    assert _digest(opened.content) == doc.sha256
    assert messages[0].startswith(f"Fetching {doc.file_name} (")
    # every demo document is real: its bytes hash to its record and are what it says
    with demo_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT file_name, media_type, size_bytes, sha256, content FROM "
            "supporting_documents")).all()
    assert len(rows) > 6000
    from app.documents.sniff import judge

    wrong = []
    for name, media, size, sha, content in rows:
        assert size == len(content) and sha == _digest(content), name
        if judge(name, media, content).viewer is None:
            wrong.append(name)
    assert len(wrong) == 1 and wrong[0].startswith("invoice_")  # the mislabelled one
    kinds = {judge(n, m, c).kind for n, m, _s, _h, c in rows}
    assert {"pdf", "png", "jpeg", "zip"} <= kinds


# --- a synced desk whose central store is the demo store ---------------------------------

def _synced(demo_engine: Engine, local: LocalStore, *, online: bool = True,
            cache_mb: int = 200) -> LocalDesk:
    config = Config(data_dir=load_config().data_dir, document_cache_mb=cache_mb)
    link = SqlCentral(demo_engine, config) if online else None
    desk = LocalDesk(local, config, SyncService(local, link))
    desk.sign_in(ANITA)
    return desk


def test_a_pull_carries_no_document_bytes(demo_engine: Engine, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    _synced(demo_engine, local)
    contents = _local_contents(local)
    assert len(contents) > 100 and set(contents) == {None}


def test_a_synced_desk_caches_what_it_opened_and_opens_it_offline(
        demo_engine: Engine, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    desk = _synced(demo_engine, local)
    doc, other = document_of_office(demo_engine, "MUM"), document_of_office(demo_engine, "MUM",
                                                                            skip=1)
    opened = desk.documents().open(doc.id)
    assert opened.source == FROM_CENTRAL and _digest(opened.content) == doc.sha256
    again = desk.documents().open(doc.id)
    assert again.source == FROM_CACHE and again.content == opened.content
    offline = LocalDesk(local, desk.config, SyncService(local, None))
    offline.sign_in(ANITA)
    cached = offline.documents().open(doc.id)
    assert cached.source == FROM_CACHE and cached.viewer == "pdf"
    assert _digest(cached.content) == doc.sha256
    with pytest.raises(DocumentUnavailable, match=rf"^{other.file_name} is not on this desk "
                                                  "yet and the central store cannot be reached"):
        offline.documents().open(other.id)


def test_bytes_that_do_not_match_the_record_are_refused_and_not_kept(
        demo_engine: Engine, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    desk = _synced(demo_engine, local)
    doc = document_of_office(demo_engine, "MUM")
    # the central store's bytes change behind the record (its digest stays the old one)
    put_document(demo_engine, doc.id, pdf(2), file_name=doc.file_name, sha256=doc.sha256)
    opened = desk.documents().open(doc.id)
    assert opened.content is None and opened.viewer is None
    assert opened.problem == (f"{doc.file_name} was refused: its content does not match the "
                              "SHA-256 recorded when it was uploaded.")
    assert DocumentCache(local.engine).cached_ids() == []


def test_a_cached_copy_of_a_replaced_document_is_not_used(
        demo_engine: Engine, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    desk = _synced(demo_engine, local)
    doc = document_of_office(demo_engine, "MUM")
    desk.documents().open(doc.id)
    replacement = pdf(4)
    put_document(demo_engine, doc.id, replacement, file_name=doc.file_name)
    with demo_engine.begin() as connection:  # the application changed: the pull carries it
        connection.execute(text("UPDATE applications SET change_seq = (SELECT max(change_seq) "
                                "+ 1 FROM applications) WHERE id = :a"), {"a": doc.application_id})
    assert desk.sync.sync_now().online
    opened = desk.documents().open(doc.id)
    assert opened.source == FROM_CENTRAL and opened.content == replacement


def test_the_cache_keeps_the_most_recently_opened_within_its_size(tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    cache = DocumentCache(local.engine, max_bytes=25_000)
    files = {i: bytes([i]) * 10_000 for i in (1, 2, 3)}
    for i in (1, 2):
        cache.put(i, _digest(files[i]), files[i])
    assert cache.get(1, _digest(files[1])) == files[1]  # 1 is now more recent than 2
    cache.put(3, _digest(files[3]), files[3])
    assert cache.cached_ids() == [1, 3] and cache.total_bytes() == 20_000
    cache.put(4, _digest(b"x" * 30_000), b"x" * 30_000)  # larger than the cache: not kept
    assert cache.cached_ids() == [1, 3]


def test_the_cache_is_emptied_when_the_local_store_changes_hands(
        demo_engine: Engine, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local.sqlite")
    desk = _synced(demo_engine, local)
    doc = document_of_office(demo_engine, "MUM")
    desk.documents().open(doc.id)
    cache = DocumentCache(local.engine)
    assert cache.cached_ids() == [doc.id]
    owner = local.owner()
    assert owner is not None
    same_user, identity = owner.split("@", 1)
    info = CentralInfo(int(same_user), ANITA, "officer", 1, (1,), "head", identity)
    assert local.adopt(info) is False and cache.cached_ids() == [doc.id]  # the same owner
    other = CentralInfo(int(same_user) + 1, "rahul.menon@igcc.org.in", "officer", 1, (1, 2),
                        "head", identity)
    assert local.adopt(other) is True
    assert cache.cached_ids() == []


# --- a desk synced with PostgreSQL through the officer's own login -----------------------

def test_a_desk_synced_with_postgresql_fetches_caches_and_reviews_offline(
        central: CentralDb, tmp_path: Path) -> None:  # noqa: F811
    owner = central.owner_engine()
    doc = document_of_office(owner, "MUM")
    assert doc is not None, "the seeded PostgreSQL store holds MUM documents with content"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = Config(data_dir=home, central_url=central.login_url(ANITA))
    local = LocalStore(config.local_store_path)
    desk = LocalDesk(local, config, SyncService(
        local, SqlCentral(central.engine_for(ANITA), config), email=ANITA))
    desk.sign_in(ANITA)
    assert desk.sync.sync_now().online
    assert set(_local_contents(local)) == {None}  # the pull brought metadata only
    opened = desk.documents().open(doc.id)
    assert opened.source == FROM_CENTRAL and opened.viewer == "pdf"
    assert _digest(opened.content) == doc.sha256
    # the central store goes away: the document opened before still opens, from the cache
    down = LocalDesk(local, config, SyncService(local, _unreachable_pg(config), email=ANITA))
    assert not down.sync.sync_now().online
    down.user = desk.user
    cached = down.documents().open(doc.id)
    assert cached.source == FROM_CACHE and _digest(cached.content) == doc.sha256
    later = document_of_office(owner, "MUM", skip=1)
    with pytest.raises(DocumentUnavailable, match="cannot be reached"):
        down.documents().open(later.id)


def test_a_hostile_officer_reads_no_other_offices_document_by_plain_sql(
        central: CentralDb) -> None:  # noqa: F811
    owner = central.owner_engine()
    mine, theirs = document_of_office(owner, "MUM"), document_of_office(owner, "DEL")
    assert theirs is not None and first(
        owner, "SELECT count(*) AS n FROM supporting_documents WHERE id = :i AND content IS "
               "NOT NULL", i=theirs.id).n == 1
    anita = central.engine_for(ANITA)
    with anita.connect() as connection:
        assert connection.execute(text("SELECT content FROM supporting_documents WHERE id = :i"),
                                  {"i": theirs.id}).all() == []
        assert connection.execute(text(
            "SELECT count(*) FROM supporting_documents d JOIN applications a ON "
            "a.id = d.application_id JOIN offices o ON o.id = a.office_id WHERE o.code <> 'MUM'"
        )).scalar_one() == 0
        own = connection.execute(text("SELECT content FROM supporting_documents WHERE id = :i"),
                                 {"i": mine.id}).scalar_one()
        assert _digest(own) == mine.sha256
    link = SqlCentral(anita, Config(data_dir=Path("/nonexistent")))
    assert link.document_content(theirs.id) is None
    assert _digest(link.document_content(mine.id)) == mine.sha256


# --- a desk whose central store is the central service -----------------------------------

def test_a_desk_through_the_service_fetches_caches_and_reviews_offline(
        qtbot, tmp_path: Path, demo_hub: Any, serve: Any, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from app.views.document_viewer import DocumentViewer
    from app.views.tasks import wait_for_tasks

    set_password(demo_engine, ANITA)
    server = serve(demo_hub)
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    desk.sign_in(ANITA)
    assert set(_local_contents(local)) == {None}
    doc, later = document_of_office(demo_engine, "MUM"), document_of_office(demo_engine, "MUM",
                                                                            skip=1)
    viewer = DocumentViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    with qtbot.waitSignal(viewer.settled, timeout=20_000) as shown:
        viewer.open_document(desk.documents(), doc.id, doc.file_name)
    assert shown.args == ["pdf"] and "from the central store" in viewer.facts.text()
    server.stop()  # the service is gone: the desk reviews offline
    with qtbot.waitSignal(viewer.settled, timeout=20_000) as shown:
        viewer.open_document(desk.documents(), doc.id, doc.file_name)
    assert shown.args == ["pdf"] and FROM_CACHE in viewer.facts.text()
    assert doc.sha256 in viewer.facts.text()
    with qtbot.waitSignal(viewer.settled, timeout=30_000) as shown:
        viewer.open_document(desk.documents(), later.id, later.file_name)
    assert shown.args == ["message"]
    assert viewer.problem.text().startswith(f"{later.file_name} is not on this desk yet and "
                                            "the central store cannot be reached")
    wait_for_tasks()


def _token(http: Any, email: str) -> dict[str, str]:
    answer = http.post("/desk/v1/sign-in", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _raw_http(http: Any, engine: Engine) -> None:
    mine, theirs = document_of_office(engine, "MUM"), document_of_office(engine, "DEL")
    set_password(engine, ANITA)
    auth = _token(http, ANITA)
    own = http.get(f"/desk/v1/documents/{mine.id}/content", headers=auth)
    assert own.status_code == 200 and _digest(own.content) == mine.sha256
    assert own.headers["content-type"] == "application/octet-stream"
    assert own.headers["x-content-type-options"] == "nosniff"
    other = http.get(f"/desk/v1/documents/{theirs.id}/content", headers=auth)
    assert other.status_code == 404 and other.json()["kind"] == "NotFound"
    assert theirs.file_name not in other.text and b"%PDF" not in other.content
    assert http.get(f"/desk/v1/documents/{mine.id}/content").status_code == 401
    assert http.get("/desk/v1/documents/999999/content", headers=auth).status_code == 404
    assert http.get("/desk/v1/documents/1%20OR%201=1/content",
                      headers=auth).status_code == 422


def test_raw_http_reads_no_other_offices_document_on_the_demo_store(
        client: Any, demo_engine: Engine) -> None:  # noqa: F811
    _raw_http(client, demo_engine)


def test_raw_http_reads_no_other_offices_document_through_postgresql(
        pg_hub: Any) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    owner = pg_hub.extras["central"].owner_engine()
    with TestClient(create_app(pg_hub), base_url="https://testserver") as http:
        _raw_http(http, owner)
