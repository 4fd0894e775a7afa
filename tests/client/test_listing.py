"""Paged listings and the caller's own runs of a job, over HTTP against the sandbox."""

from __future__ import annotations

import pytest

from wkgt.client import Session, resolve_server
from wkgt.client.annotations import COPY_LABEL, own_runs
from wkgt.writer.upload import archive

KEY = "0123456789abcdef"


def session_of(sb, role="admin"):
    session = Session(resolve_server(sb.url, sb.tokens[role]))
    session.negotiate()
    return session


@pytest.mark.parametrize("count, requests", [(5, 3), (4, 2), (0, 1)])
def test_pages_until_a_short_page_or_the_total_count(sandbox, count, requests):
    from webknossos.client.api_client.models import ApiAnnotation

    for i in range(count):
        sandbox.state.add_annotation("admin", name=f"a{i}", created_ms=1_700_000_000_000 + i * 1000)
    session = session_of(sandbox)
    sandbox.state.clear_log()
    pages = list(session.pages("listing", "/annotations/readable", ApiAnnotation, page_size=2))
    assert sum(len(p) for p in pages) == count
    assert [a.name for p in pages for a in p] == [f"a{i}" for i in reversed(range(count))]  # newest first
    log = sandbox.state.requests("GET", "/annotations/readable")
    assert len(log) == requests and all("includeTotalCount=true" in e.query for e in log)


def test_own_runs_are_the_callers_own_with_the_key_oldest_first_without_copies(sandbox):
    add = sandbox.state.add_annotation
    old = add("annotator", description=f"x\nwkgt-run-key: {KEY}", created_ms=1_700_000_000_000)
    new = add("annotator", description=f"x\nwkgt-run-key: {KEY}", created_ms=1_700_000_100_000)
    add("annotator", description=f"x\nwkgt-run-key: {KEY}\n{COPY_LABEL}", created_ms=1_600_000_000_000)
    add("annotator", description="x\nwkgt-run-key: fedcba9876543210")
    colleague = add("manager", description=f"wkgt-run-key: {KEY}", shared_with=["annotators"], created_ms=1_500_000_000_000)
    session = session_of(sandbox, "annotator")
    assert colleague.id in [a.id for a in session.annotations()]
    assert [r.id for r in own_runs(session, KEY)] == [old.id, new.id]


def test_archive_finishes_ones_own_annotation_and_repeating_it_is_harmless(sandbox):
    mine = sandbox.state.add_annotation("annotator", description=f"wkgt-run-key: {KEY}")
    session = session_of(sandbox, "annotator")
    archive(session, mine.id)
    archive(session, mine.id)
    assert sandbox.state.annotations[mine.id].state == "Finished"
    assert [r.state for r in own_runs(session, KEY)] == ["Finished"]  # archived ones are still listed
