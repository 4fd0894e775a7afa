"""The reconciliation after an upload: the oldest of the caller's runs of a job stays, newer ones are archived."""

from __future__ import annotations

from wkgt.client import Session, resolve_server
from wkgt.client.annotations import COPY_LABEL
from wkgt.writer.upload import AnnotationRef, find_existing, reconcile

KEY = "0123456789abcdef"


def test_reconcile_keeps_the_oldest_and_archives_newer_active_duplicates_only(sandbox):
    add = sandbox.state.add_annotation
    oldest = add("admin", description=f"wkgt-run-key: {KEY}", created_ms=1_700_000_000_000)
    done = add("admin", description=f"wkgt-run-key: {KEY}", state="Finished", created_ms=1_700_000_050_000)
    newer = add("admin", description=f"wkgt-run-key: {KEY}", created_ms=1_700_000_100_000)
    copy = add("admin", description=f"wkgt-run-key: {KEY}\n{COPY_LABEL}", created_ms=1_700_000_200_000)
    colleague = add("manager", description=f"wkgt-run-key: {KEY}", shared_with=["annotators"], created_ms=1_600_000_000_000)
    session = Session(resolve_server(sandbox.url, sandbox.token))
    session.negotiate()
    assert find_existing(session, KEY).id == oldest.id
    outcome = reconcile(session, KEY, AnnotationRef(newer.id, "u"))
    assert outcome.survivor.id == oldest.id and outcome.archived == (newer.id,) and outcome.warnings == ()
    states = {a.id: a.state for a in sandbox.state.annotations.values()}
    assert states == {oldest.id: "Active", done.id: "Finished", newer.id: "Finished", copy.id: "Active", colleague.id: "Active"}
    assert [e.method for e in sandbox.state.request_log if e.method != "GET"] == ["PATCH"]


def test_reconcile_of_the_only_run_changes_nothing(sandbox):
    only = sandbox.state.add_annotation("admin", description=f"wkgt-run-key: {KEY}")
    session = Session(resolve_server(sandbox.url, sandbox.token))
    session.negotiate()
    outcome = reconcile(session, KEY, AnnotationRef(only.id, "u"))
    assert outcome.survivor.id == only.id and outcome.archived == ()
    assert all(e.method == "GET" for e in sandbox.state.request_log)
