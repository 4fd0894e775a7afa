"""The run key: one spelling per server, defaults spelled out or not, every option that changes what is written."""

from __future__ import annotations

import pytest

from wkgt.client.facts import DatasetFacts, LayerFacts
from wkgt.jobs.planning import TissueOptions
from wkgt.jobs.run_key import canonical_server, job_facets, run_key
from wkgt.planner import PlanOptions
from wkgt.planner.placement import Region

LAYER = LayerFacts("color", "color", "uint8", Region((0, 0, 0), (1024, 1024, 512)), ((1, 1, 1), (2, 2, 1)))
VOXEL = (11.24, 11.24, 28.0)
DATASET = DatasetFacts("l4", VOXEL, "nanometer", VOXEL, (LAYER,), id="66e1c3a2b7f0d94e1a2b1001", organization="lab")
TASKS = ("sandbox_project", "66e1c3a2b7f0d94e1a2bc001", 1, ("training_boxes", 0))


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://127.0.0.1:9000", "http://localhost:9000/"),
        ("http://[::1]:9000", "HTTP://LOCALHOST:9000"),
        ("http://127.0.0.2:9000", "http://localhost:9000"),
        ("https://WebKnossos.org", "https://webknossos.org:443/"),
        ("http://webknossos.org:80", "https://webknossos.org"),
        ("https://wk.lab.org/prefix/", "https://wk.lab.org/prefix"),
    ],
)
def test_one_spelling_per_server(a, b):
    assert canonical_server(a) == canonical_server(b)


@pytest.mark.parametrize("a, b", [("http://localhost:9000", "http://localhost:9001"), ("https://a.org", "https://b.org"), ("https://a.org:8443", "https://a.org")])
def test_different_servers_stay_different(a, b):
    assert canonical_server(a) != canonical_server(b)


def key(url="http://127.0.0.1:9000", options=PlanOptions(), **facets):
    tissue = facets.pop("tissue", TissueOptions())
    return run_key(url, DATASET, LAYER, options, job_facets(tissue, **facets))


def test_defaults_spelled_out_give_the_same_key():
    base = key()
    assert key("http://localhost:9000/", PlanOptions(seed=0, margin=0)) == base
    assert key(tissue=TissueOptions(check=True, min_tissue=0.9)) == base
    assert key(avoid_previous=True) == key(avoid_previous=True, gap_nm=250)
    assert key(gap_nm=500) == base  # the gap matters only when there are earlier rounds to avoid
    assert key(tasks=TASKS) == key(tasks=TASKS, fallback_segmentation=True, name="ignored for tasks")


@pytest.mark.parametrize(
    "change",
    [
        {"fallback_segmentation": True},
        {"name": "round 1"},
        {"tasks": TASKS},
        {"tasks": (*TASKS[:2], 2, TASKS[3])},  # instances
        {"tasks": (*TASKS[:3], ("training_boxes", 2))},  # experience
        {"avoid_previous": True},
        {"avoid": ("66e1c3a2b7f0d94e1a2b7777",)},
        {"tissue": TissueOptions(check=False)},
        {"tissue": TissueOptions(min_tissue=0.5)},
    ],
)
def test_every_option_that_changes_what_is_written_changes_the_key(change):
    assert key(**change) != key()
    if "tasks" in change and change["tasks"] != TASKS:
        assert key(**change) != key(tasks=TASKS)


def test_the_gap_changes_the_key_when_avoiding():
    assert key(avoid_previous=True, gap_nm=500) != key(avoid_previous=True)
