"""Annotation upload/download at the HTTP level: volume data passes through, skipVolumeData, task boxes."""

from __future__ import annotations

import io
import zipfile

import httpx

from wkgt_sandbox import Sandbox

NML = """<?xml version="1.0" encoding="utf-8"?>
<things>
  <parameters>
    <experiment datasetId="66e1c3a2b7f0d94e1a2b1001" name="l4_sample" organization="sandbox_lab" description="d" />
    <scale unit="nanometer" x="11.24" y="11.24" z="28.0" />
    <editPosition x="3500" y="3400" z="700" />
    <taskBoundingBox color.a="1" color.b="0" color.g="0" color.r="1" depth="8" height="16" isVisible="true"
      name="t" topLeftX="3100" topLeftY="3200" topLeftZ="600" width="16" />
    <userBoundingBox color.a="1" color.b="0.5" color.g="0.5" color.r="0.5" depth="32" height="64" id="3"
      isVisible="false" name="gt_box" topLeftX="3300" topLeftY="3300" topLeftZ="650" width="64" />
  </parameters>
  <volume format="zarr3" id="0" location="data_0_Volume.zip" name="Volume" largestSegmentId="7" />
</things>
"""


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    return buffer.getvalue()


def test_volume_data_and_task_box(sandbox: Sandbox) -> None:
    volume_zip = _zip({"volumeAnnotationData/1/c/0/0/0/0": b"\x01\x02\x03"})
    upload = _zip({"gt.nml": NML.encode(), "data_0_Volume.zip": volume_zip})
    client = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token})
    answer = client.post(
        "/api/v16/annotations/upload",
        data={"createGroupForEachFile": "false"},
        files={"gt.zip": ("gt.zip", upload, "application/zip")},
    ).json()
    assert answer["annotation"]["typ"] == "Explorational" and len(answer["annotation"]["id"]) == 24
    stored = sandbox.state.annotations[answer["annotation"]["id"]]
    assert (stored.name, stored.description, stored.edit_position) == ("gt", "d", (3500, 3400, 700))
    # an explorational upload turns the task bounding box into a user box
    assert [(b["name"], b["isVisible"], b["topLeft"], b["size"]) for b in stored.user_bounding_boxes] == [
        ("gt_box", False, [3300, 3300, 650], [64, 64, 32]),
        ("task bounding box", True, [3100, 3200, 600], [16, 16, 8]),
    ]

    full = client.get(f"/api/v16/annotations/{stored.id}/download", params={"skipVolumeData": "false"})
    assert full.headers["content-disposition"] == 'attachment;filename="gt.zip"'
    with zipfile.ZipFile(io.BytesIO(full.content)) as zf:
        assert sorted(zf.namelist()) == ["data_0_Volume.zip", "gt.nml"]
        assert zf.read("data_0_Volume.zip") == volume_zip
        assert 'location="data_0_Volume.zip"' in zf.read("gt.nml").decode()
    skipped = client.get(f"/api/v16/annotations/{stored.id}/download", params={"skipVolumeData": "true"})
    with zipfile.ZipFile(io.BytesIO(skipped.content)) as zf:
        assert zf.namelist() == ["gt.nml"] and "location=" not in zf.read("gt.nml").decode()

    info = client.get(f"/api/v16/annotations/{stored.id}/info").json()
    assert [layer["typ"] for layer in info["annotationLayers"]] == ["Skeleton", "Volume"]
    assert info["datasetId"] == "66e1c3a2b7f0d94e1a2b1001" and info["dataStore"]["url"] == sandbox.url


def test_skeleton_only_download_is_plain_nml(sandbox: Sandbox) -> None:
    nml = NML.replace(
        '<volume format="zarr3" id="0" location="data_0_Volume.zip" name="Volume" largestSegmentId="7" />', ""
    )
    client = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token})
    answer = client.post(
        "/api/v16/annotations/upload",
        data={"createGroupForEachFile": "false"},
        files={"a.nml": ("a.nml", nml.encode(), "application/xml")},
    )
    annotation_id = answer.json()["annotation"]["id"]
    download = client.get(f"/api/v16/annotations/{annotation_id}/download")
    assert download.headers["content-disposition"] == 'attachment;filename="a.nml"'
    assert download.content.startswith(b"<?xml") and b"gt_box" in download.content


def test_bad_uploads(sandbox: Sandbox) -> None:
    client = httpx.Client(base_url=sandbox.url, headers={"X-Auth-Token": sandbox.token})
    form = {"createGroupForEachFile": "false"}
    garbage = client.post(
        "/api/v16/annotations/upload", data=form, files={"x.nml": ("x.nml", b"not xml", "application/xml")}
    )
    assert garbage.status_code == 400 and "error" in garbage.json()["messages"][0]
    unknown = NML.replace("66e1c3a2b7f0d94e1a2b1001", "0123456789abcdef01234567")
    missing = client.post(
        "/api/v16/annotations/upload", data=form, files={"x.nml": ("x.nml", unknown.encode(), "application/xml")}
    )
    # AnnotationIOController.findDatasetForUploadedAnnotations: an unreadable dataset is 403
    assert missing.status_code == 403
    assert missing.json() == {"messages": [{"error": "Dataset “0123456789abcdef01234567” could not be found or accessed."}]}
    assert client.post("/api/v16/annotations/upload", data={**form, "a": "b"}).status_code == 400
    # the server reads the form field with dataParts("createGroupForEachFile"): without it, the request fails
    no_flag = client.post("/api/v16/annotations/upload", files={"x.nml": ("x.nml", NML.encode(), "application/xml")})
    assert no_flag.status_code == 500
    assert sandbox.state.annotations == {}
