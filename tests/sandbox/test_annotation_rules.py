"""Annotations as the real server rules them: the readable list, uploads, reading, finishing, deleting."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
import webknossos as wk

from wkgt_sandbox import Sandbox
from wkgt_sandbox.auth import EMPTY_BOX

COMPACT_KEYS = {
    "modified", "state", "id", "name", "description", "typ", "stats", "isLockedByOwner", "annotationLayers",
    "dataSetName", "organization", "visibility", "tracingTime", "teams", "tags", "owner", "othersMayEdit",
}  # fmt: skip
NML = """<?xml version="1.0" encoding="utf-8"?>
<things>
  <parameters>
    <experiment datasetId="{dataset}" name="l4_sample" organization="{organization}" description="d" />
    <scale unit="nanometer" x="11.24" y="11.24" z="28.0" />
    <userBoundingBox color.a="1" color.b="0.5" color.g="0.5" color.r="0.5" depth="32" height="64" id="3"
      isVisible="true" name="gt_box" topLeftX="3300" topLeftY="3300" topLeftZ="650" width="64" />
  </parameters>
</things>
"""
L4 = "66e1c3a2b7f0d94e1a2b1001"  # public, sandbox_lab
ANISO = "66e1c3a2b7f0d94e1a2b1002"  # sandbox_lab only


def api(sb: Sandbox, role: str | None) -> httpx.Client:
    headers = {"X-Auth-Token": sb.tokens[role]} if role else {}
    return httpx.Client(base_url=f"{sb.url}/api/v16", headers=headers)


def readable_ids(sb: Sandbox, role: str, **params: str) -> list[str]:
    answer = api(sb, role).get("/annotations/readable", params=params)
    assert answer.status_code == 200
    return [a["id"] for a in answer.json()]


def upload(sb: Sandbox, role: str, dataset: str = L4, organization: str = "sandbox_lab") -> httpx.Response:
    nml = NML.format(dataset=dataset, organization=organization).encode()
    return api(sb, role).post(
        "/annotations/upload",
        data={"createGroupForEachFile": "false"},
        files={"gt.nml": ("gt.nml", nml, "application/xml")},
    )


def test_readable_lists_own_and_shared_annotations_newest_first(lab: Sandbox) -> None:
    add = lab.state.add_annotation
    own_old = add("annotator", name="own old", created_ms=1_700_000_000_000)
    own_new = add("annotator", name="own new", created_ms=1_700_000_100_000)
    shared = add("manager", name="shared", shared_with=["annotators"], created_ms=1_700_000_050_000)
    public_shared = add("admin", visibility="Public", shared_with=["sandbox_lab"], created_ms=1_700_000_060_000)
    add("manager", name="private but shared", visibility="Private", shared_with=["annotators"])
    add("manager", name="colleague's, not shared")
    add("annotator", name="cancelled", state="Cancelled")
    finished = add("annotator", name="finished", state="Finished", created_ms=1_700_000_070_000)
    add("outsider", name="other organization", visibility="Public", shared_with=["partner_lab"])
    add("annotator", name="a task's", typ="Task")

    assert readable_ids(lab, "annotator") == [own_new.id, finished.id, public_shared.id, shared.id, own_old.id]
    assert readable_ids(lab, "annotator", isFinished="true") == [finished.id]
    assert readable_ids(lab, "annotator", isFinished="false") == [own_new.id, public_shared.id, shared.id, own_old.id]
    assert readable_ids(lab, "novice") == [public_shared.id, shared.id]
    entry = api(lab, "annotator").get("/annotations/readable").json()[3]
    assert set(entry) == COMPACT_KEYS
    assert entry["teams"] == [{"id": lab.state.team_id("annotators"), "name": "annotators", "organizationId": "sandbox_lab"}]
    assert entry["owner"] == {"id": lab.users["manager"].id, "firstName": "Mona", "lastName": "Nager"}
    assert (entry["visibility"], entry["state"], entry["tags"]) == ("Internal", "Active", ["l4_sample", "skeleton"])
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        infos = wk.AnnotationInfo.get_remote_annotations(is_finished=None, owner=lab.users["manager"].id)
    assert [i.id for i in infos] == [shared.id]


def test_readable_pages_and_counts_2500_annotations(lab: Sandbox) -> None:
    made = [lab.state.add_annotation("annotator", created_ms=1_600_000_000_000 + i * 1000) for i in range(2500)]
    newest_first = [a.id for a in reversed(made)]
    client = api(lab, "annotator")
    default = client.get("/annotations/readable")
    assert [a["id"] for a in default.json()] == newest_first[:1000] and "x-total-count" not in default.headers
    page = client.get("/annotations/readable", params={"limit": 1000, "pageNumber": 2, "includeTotalCount": "true"})
    assert [a["id"] for a in page.json()] == newest_first[2000:]
    assert page.headers["x-total-count"] == "2500"
    small = client.get("/annotations/readable", params={"limit": 7, "pageNumber": 1})
    assert [a["id"] for a in small.json()] == newest_first[7:14]
    # the unmodified SDK asks once, without paging: it sees the newest 1000 and no more
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        infos = wk.AnnotationInfo.get_remote_annotations(is_finished=None)
    assert [i.id for i in infos] == newest_first[:1000]


def test_a_page_skips_annotations_of_deleted_datasets_but_the_count_keeps_them(lab: Sandbox) -> None:
    add = lab.state.add_annotation
    kept = [add("annotator", created_ms=1_700_000_000_000 + i * 1000).id for i in range(3)]
    gone = [add("annotator", dataset=ANISO, created_ms=1_700_000_010_000 + i * 1000).id for i in range(2)]
    assert readable_ids(lab, "annotator", limit="2") == gone[::-1]
    assert api(lab, "admin").delete(f"/datasets/{ANISO}").status_code == 200
    first = api(lab, "annotator").get("/annotations/readable", params={"limit": 2, "includeTotalCount": "true"})
    assert [a["id"] for a in first.json()] == kept[:0:-1] and first.headers["x-total-count"] == "5"
    assert readable_ids(lab, "annotator", limit="2", pageNumber="1") == kept[:1]


def test_upload_rules(lab: Sandbox) -> None:
    answer = upload(lab, "annotator")
    assert answer.status_code == 200 and set(answer.json()) == {"annotation", "messages"}
    assert answer.json()["annotation"]["typ"] == "Explorational"
    stored = lab.state.annotations[answer.json()["annotation"]["id"]]
    assert stored.owner_id == lab.users["annotator"].id and stored.team_id == lab.state.team_id("sandbox_lab")
    # the NML's organization must be the dataset's
    wrong_org = upload(lab, "annotator", organization="partner_lab")
    assert wrong_org.status_code == 403
    assert wrong_org.json() == {"messages": [{"error": f"Dataset “{L4}” could not be found or accessed."}]}
    unknown_org = upload(lab, "annotator", organization="no_such_lab")
    assert unknown_org.status_code == 404
    assert unknown_org.json()["messages"][0]["error"] == "Organization “no_such_lab” could not be found or accessed."
    # the dataset must be readable by the uploader
    assert upload(lab, "outsider", dataset=ANISO).status_code == 403
    assert upload(lab, "outsider", dataset=L4).status_code == 200  # public
    assert len(lab.state.annotations) == 2
    with wk.webknossos_context(url=lab.url, token=lab.tokens["novice"]):
        annotation = wk.Annotation("sdk_upload", dataset_name="l4_sample", organization_id="sandbox_lab", voxel_size=(11.24, 11.24, 28))
        annotation.dataset_id = L4
        url = annotation.upload()
    assert lab.state.annotations[url.rsplit("/", 1)[-1]].owner_id == lab.users["novice"].id


def test_reading_other_users_annotations(lab: Sandbox) -> None:
    private = lab.state.add_annotation("annotator", name="mine", visibility="Private")
    managed = lab.state.add_annotation("annotator", name="in annotators", visibility="Private", team="annotators")
    internal = lab.state.add_annotation("annotator", name="internal")
    public = lab.state.add_annotation("annotator", name="public", visibility="Public")

    def status(role: str | None, annotation_id: str, what: str = "info") -> int:
        return api(lab, role).get(f"/annotations/{annotation_id}/{what}").status_code

    assert status("annotator", private.id) == 200 and status("admin", private.id) == 200
    assert status("novice", private.id) == 404 and status("manager", private.id) == 404
    assert status("novice", private.id, "download") == 404
    assert status("manager", managed.id) == 200 and status("novice", managed.id) == 404  # team manager of its team
    assert status("novice", internal.id) == 200 and status("outsider", internal.id) == 404
    assert status(None, public.id) == 200 and status("outsider", public.id, "download") == 200
    anonymous = api(lab, None).get(f"/annotations/{internal.id}/info")
    assert anonymous.status_code == 404 and "log in" in anonymous.json()["messages"][0]["error"]
    with wk.webknossos_context(url=lab.url, token=lab.tokens["novice"]):
        assert wk.Annotation.download(internal.id).name == "internal"
        with pytest.raises(Exception):
            wk.Annotation.download(private.id)


def test_finishing_is_for_owners_and_managers(lab: Sandbox) -> None:
    mine = lab.state.add_annotation("annotator", name="mine")
    denied = api(lab, "novice").patch(f"/annotations/Explorational/{mine.id}/finish", params={"timestamp": 1})
    assert denied.status_code == 400
    assert denied.json() == {"messages": [{"error": "Could not finish/archive the annotation."}]}
    missing = api(lab, "annotator").patch(f"/annotations/Explorational/{mine.id}/finish")
    assert missing.status_code == 400
    done = api(lab, "annotator").patch(f"/annotations/Explorational/{mine.id}/finish", params={"timestamp": 1})
    assert done.status_code == 200 and done.json()["state"] == "Finished"
    assert done.json()["messages"] == [{"success": "Annotation is archived."}]
    assert readable_ids(lab, "annotator", isFinished="true") == [mine.id]
    assert readable_ids(lab, "annotator", isFinished="false") == []
    again = api(lab, "annotator").patch(f"/annotations/Explorational/{mine.id}/finish", params={"timestamp": 2})
    assert again.status_code == 200  # finishing is repeatable
    other = lab.state.add_annotation("annotator", name="other")
    assert api(lab, "admin").patch(f"/annotations/Explorational/{other.id}/finish", params={"timestamp": 1}).status_code == 200


def test_deleting_needs_a_team_manager_of_its_team_and_leaves_explorationals(lab: Sandbox) -> None:
    mine = lab.state.add_annotation("annotator", name="mine")
    owner = api(lab, "annotator").delete(f"/annotations/{mine.id}")
    assert owner.status_code == 404 and owner.json() == {"messages": [{"error": EMPTY_BOX}]}
    admin = api(lab, "admin").delete(f"/annotations/{mine.id}")
    assert admin.status_code == 200 and admin.json() == {"messages": [{"success": "Annotation is archived."}]}
    assert readable_ids(lab, "annotator") == [mine.id] and mine.state == "Active"
    assert api(lab, "outsider").delete(f"/annotations/{mine.id}").status_code == 404


def test_owners_share_annotations_with_teams(lab: Sandbox) -> None:
    mine = lab.state.add_annotation("annotator", name="to share")
    annotators = lab.state.team_id("annotators")
    assert readable_ids(lab, "novice") == []
    assert api(lab, "novice").patch(f"/annotations/Explorational/{mine.id}/sharedTeams", json=[annotators]).status_code == 403
    shared = api(lab, "annotator").patch(f"/annotations/Explorational/{mine.id}/sharedTeams", json=[annotators])
    assert shared.status_code == 200 and shared.json() == [annotators]
    assert readable_ids(lab, "novice") == [mine.id]
    edit = api(lab, "annotator").patch(f"/annotations/Explorational/{mine.id}/edit", json={"visibility": "Private"})
    assert edit.status_code == 200 and readable_ids(lab, "novice") == []
    assert api(lab, "novice").patch(f"/annotations/Explorational/{mine.id}/edit", json={"name": "x"}).status_code == 404


def test_added_annotations_download_as_nml(lab: Sandbox) -> None:
    box = {"id": 0, "name": "gt_1", "isVisible": True, "topLeft": [3100, 3200, 600], "size": [64, 64, 32]}
    added = lab.state.add_annotation("annotator", name="seeded", description="wkgt run 1", user_bounding_boxes=[box])
    with wk.webknossos_context(url=lab.url, token=lab.tokens["annotator"]):
        downloaded = wk.Annotation.download(added.id)
    assert (downloaded.name, downloaded.description, downloaded.dataset_id) == ("seeded", "wkgt run 1", L4)
    assert [(b.name, b.topleft.to_tuple(), b.size.to_tuple()) for b in downloaded.user_bounding_boxes] == [
        ("gt_1", (3100, 3200, 600), (64, 64, 32))
    ]
    unnamed = lab.state.add_annotation("annotator")
    answer = api(lab, "annotator").get(f"/annotations/{unnamed.id}/download")
    assert answer.headers["content-disposition"] == f'attachment;filename="l4_sample__explorational__aotator__{unnamed.id[-6:]}.nml"'
    assert zipfile.is_zipfile(io.BytesIO(answer.content)) is False
