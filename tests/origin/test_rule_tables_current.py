"""The PostgreSQL store's origin rule tables are loaded by a revision from agreements.json
as it was then: a change of the rules without a newer revision reloading them would leave
the store judging approvals by old figures while the desk uses the new ones."""

from __future__ import annotations

from app.models.origin_rules import origin_rules_digest
from app.store.schema import alembic_config


def _newest_rules_digest() -> tuple[str, str]:
    from alembic.script import ScriptDirectory

    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():  # newest first
        digest = getattr(script.module, "RULES_SHA256", None)
        if digest:
            return script.revision, digest
    raise AssertionError("no revision loads the origin rule tables")


def test_the_newest_revision_loading_the_rule_tables_matches_agreements_json() -> None:
    revision, digest = _newest_rules_digest()
    assert origin_rules_digest() == digest, (
        f"resources/agreements.json's origin rules differ from those revision {revision} "
        "loads into the store: write a revision that reloads origin_agreements, "
        "origin_agreement_partners and origin_rules, with the new RULES_SHA256")


def test_the_digest_sees_a_changed_figure() -> None:
    from dataclasses import replace

    from app.models.agreements import origin_agreements

    agreements = dict(origin_agreements())
    aifta = agreements["AIFTA"]
    assert aifta.general_rule is not None
    agreements["AIFTA"] = replace(aifta, general_rule=replace(
        aifta.general_rule, value_content_percent=aifta.general_rule.value_content_percent + 1))
    assert origin_rules_digest(agreements) != origin_rules_digest()
