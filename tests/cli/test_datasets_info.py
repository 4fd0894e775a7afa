"""``wkgt datasets`` and ``wkgt info`` over HTTP against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import run_json
from wkgt.cli import run
from tests.jobs.server import ORG, organize
from wkgt_sandbox import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with run_sandbox() as sb:
        yield sb


@pytest.fixture
def lab(server: Sandbox) -> Sandbox:
    server.reset()
    return server


def cli(sb: Sandbox, command: str, *args: str) -> list[str]:
    return [command, "--webknossos-url", sb.url, "--token", sb.token, *args]


def test_datasets_lists_what_the_token_reads_with_voxel_size_layers_and_mag(lab, capsys):
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--json"))
    assert code == 0
    by_name = {d["name"]: d for d in listing["datasets"] if d["organization"] == ORG}
    readable = {d.name for d in lab.state.datasets.values() if d.organization == ORG}
    assert set(by_name) == readable and listing["count"] == len(listing["datasets"])
    aniso = by_name["aniso_4x4x35"]
    assert aniso["voxel_size_nm"] == [4.0, 4.0, 35.0] and aniso["mag"] == "2-2-1"
    assert [(layer["name"], layer["category"], layer["dtype"]) for layer in aniso["layers"]] == [("color", "color", "uint8")]
    problem = by_name["segmentation_only"]["problem"]  # `datasets` has no --layer: the hint names the commands that do
    assert by_name["segmentation_only"]["mag"] is None and "no color layer" in problem and "create-boxes and info take --layer" in problem
    assert by_name["l4_sample"]["url"] == f"{lab.url}/datasets/l4_sample-66e1c3a2b7f0d94e1a2b1001/view"
    assert run(cli(lab, "datasets", "--organization", ORG)) == 0
    table = capsys.readouterr()
    assert table.err == "" and "aniso_4x4x35" in table.out and "dataset(s) on" in table.out


def test_datasets_filters_by_folder_and_tags(lab, capsys):
    organize(lab, "EM 2026", {"l4_sample": ["cortex", "round1"], "iso_8nm": ["cortex"]})
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--folder", "EM 2026", "--json"))
    assert code == 0 and sorted(d["name"] for d in listing["datasets"]) == ["iso_8nm", "l4_sample"]
    assert listing["folder"]["path"] == f"{ORG}/EM 2026" and {d["folder"]["path"] for d in listing["datasets"]} == {f"{ORG}/EM 2026"}
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--tag", "cortex", "--tag", "round1", "--json"))
    assert [d["name"] for d in listing["datasets"]] == ["l4_sample"] and listing["datasets"][0]["tags"] == ["cortex", "round1"]
    code, _, err = run_json(capsys, cli(lab, "datasets", "--folder", "EM 2062"))
    assert code == 3 and "did you mean 'EM 2026'" in err


def test_info_shows_layers_and_why_this_mag_for_each_rule_set(lab, capsys):
    code, info, _ = run_json(capsys, cli(lab, "info", "--dataset", "aniso_4x4x35", "--json"))
    assert code == 0 and info["dataset"]["voxel_size_nm"] == [4.0, 4.0, 35.0]
    assert info["layers"][0]["mags"] == ["1", "2-2-1", "4-4-1", "8-8-2", "16-16-4"]
    advice = {r["rules"]: r for r in info["advice"]["rules"]}
    assert advice["guide"]["mag"] == "2-2-1" and advice["guide"]["box_size"] == [125, 125, 32]  # the guide's example
    assert advice["webknossos"]["box_size"] == [170, 170, 32]
    assert "every axis ≥ 8 nm" in advice["guide"]["mag_reason"]
    code, info, _ = run_json(capsys, cli(lab, "info", "--dataset", "l4_sample", "--organization", ORG, "--model", "instances", "--object-size", "5000", "--json"))
    assert code == 0 and all("objects of 5000 nm" in r["mag_reason"] for r in info["advice"]["rules"])
    assert run(cli(lab, "info", "--dataset", "segmentation_only")) == 0
    assert "no training mag: dataset segmentation_only has no color layer" in " ".join(capsys.readouterr().out.split())


def test_info_on_a_misspelt_name_suggests_the_close_one(lab, capsys):
    code, _, err = run_json(capsys, cli(lab, "info", "--dataset", "l4_sampel"))
    assert code == 3 and "did you mean 'l4_sample'?" in err and err.count("\n") == 1


def test_datasets_of_an_organization_nobody_lists_is_not_found_and_names_those_there(lab, capsys):
    code, _, err = run_json(capsys, cli(lab, "datasets", "--organization", ORG + "x", "--json"))
    assert code == 3 and f"did you mean {ORG!r}" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_json(capsys, cli(lab, "datasets", "--organization", "nope"))
    assert code == 3 and f"organizations: partner_lab, {ORG}" in err
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--organization", ORG, "--tag", "no-such-tag", "--json"))
    assert code == 0 and listing["count"] == 0  # a known organization without matches is an empty list


def test_a_dataset_of_another_organization_is_not_in_your_root_folder(lab, capsys):
    """Each organization has its own root folder (the sandbox's partner_lab dataset was filed in sandbox_lab's)."""
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--folder", ORG, "--json"))
    assert code == 0 and listing["datasets"] and {d["organization"] for d in listing["datasets"]} == {ORG}
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--organization", "partner_lab", "--json"))
    folder = {"id": "66e1c3a2b7f0d94e1a2bf002", "path": None, "name": "partner_lab"}  # not a folder of yours, but its name is readable
    assert code == 0 and [d["folder"] for d in listing["datasets"]] == [folder]
    assert run(cli(lab, "datasets", "--organization", "partner_lab")) == 0
    table = capsys.readouterr().out
    assert "partner_lab (folder of partner_lab)" in table and folder["id"] not in table


def test_a_folder_the_server_does_not_name_is_the_folder_of_its_organization(lab, capsys):
    """Servers before breadcrumb access answer 404 for another organization's folder."""
    import httpx

    httpx.get(f"{lab.url}/api/v12/folders/root", headers={"X-Auth-Token": "wkgt-sandbox-token-outsider"}).raise_for_status()
    partner = next(d for d in lab.state.datasets.values() if d.organization == "partner_lab")
    partner.json["folderId"] = "66e1c3a2b7f0d94e1a2bf0ff"  # not a folder there is (as if the server kept it to itself)
    code, listing, _ = run_json(capsys, cli(lab, "datasets", "--organization", "partner_lab", "--json"))
    assert code == 0 and [d["folder"] for d in listing["datasets"]] == [{"id": "66e1c3a2b7f0d94e1a2bf0ff", "path": None, "name": None}]
    assert run(cli(lab, "datasets", "--organization", "partner_lab")) == 0
    table = capsys.readouterr().out
    assert "(folder of partner_lab)" in table and "66e1c3a2b7f0d94e1a2bf0ff" not in table
