"""``wkgt train`` over HTTP against the sandbox: check the run, start one job with the right layers
and mag per annotation, report it on a rerun, refuse before posting when the check fails."""

from __future__ import annotations

from tests.helpers import run_json
from tests.jobs.server import ORG, box_row, client, finish, paint_copy, upload_painted

TRAIN_ROUTE = "/aiModels/run"


def train(sb, *args: str) -> list[str]:
    return ["train", "--webknossos-url", sb.url, "--token", sb.token, "--json", *args]


def posts(sb) -> list:
    return sb.state.requests("POST", TRAIN_ROUTE)


def test_two_painted_annotations_start_one_job_and_a_rerun_reports_it(sandbox, capsys):
    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    b = upload_painted(sandbox, "gt two", box_row("b", 3600))
    run = train(sandbox, "--annotation", a, "--annotation", b, "--name", "l4 neurons v1")

    code, dry, _ = run_json(capsys, [*run, "--dry-run"])
    assert code == 0 and dry["status"] == "dry-run" and posts(sandbox) == []
    assert dry["request"]["url"] == f"{sandbox.url}/api/v16/aiModels/runNeuronModelTraining"

    code, started, err = run_json(capsys, run)
    assert code == 0 and started["status"] == "started" and started["ok"] is True
    [job] = sandbox.state.jobs.values()
    assert job["command"] == "train_neuron_model" and job["state"] == "PENDING"
    assert job["args"]["training_annotations"] == [
        {"annotationId": a.rsplit("/", 1)[-1], "colorLayerName": "color", "segmentationLayerName": "ground_truth", "mag": [1, 1, 1]},
        {"annotationId": b.rsplit("/", 1)[-1], "colorLayerName": "color", "segmentationLayerName": "ground_truth", "mag": [1, 1, 1]},
    ]
    assert dry["request"]["body"]["trainingAnnotations"] == job["args"]["training_annotations"]  # --dry-run shows the exact request
    assert started["job"]["id"] == job["id"] and started["job"]["url"] == f"{sandbox.url}/jobs"
    assert [m["name"] for m in sandbox.state.ai_models.values()] == ["l4 neurons v1"]
    assert len(posts(sandbox)) == 1 and job["id"] in err

    code, again, err = run_json(capsys, run)
    assert code == 0 and again["status"] == "exists" and again["job"]["id"] == job["id"]
    assert len(posts(sandbox)) == 1 and len(sandbox.state.jobs) == 1 and "not started again" in err


def test_an_annotation_failing_the_check_stops_the_run_before_any_request(sandbox, capsys):
    good = upload_painted(sandbox, "good", box_row("g", 3200))
    bad = upload_painted(sandbox, "sticks out", [("out", (4000, 3600, 600), (170, 170, 64)), *box_row("o", 3600, 2)])
    code, report, err = run_json(capsys, train(sandbox, "--annotation", good, "--annotation", bad, "--name", "m"))
    assert code == 1 and report["status"] == "refused" and report["request"] is None
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["outside-dataset"]
    assert posts(sandbox) == [] and sandbox.state.jobs == {} and "nothing was sent" in err


def test_an_annotation_without_ground_truth_layer_is_refused(sandbox, capsys):
    url = upload_painted(sandbox, "painted", box_row("p", 3200, 5))
    bare = sandbox.state.add_annotation("admin", name="boxes only", user_bounding_boxes=[
        {"id": i, "name": f"x{i}", "color": [1, 0, 0, 1], "isVisible": True, "topLeft": [3200 + 200 * i, 3850, 600], "size": [170, 170, 64]}
        for i in range(4)
    ])
    code, report, _ = run_json(capsys, train(sandbox, "--annotation", url, "--annotation", bare.id, "--name", "m", "--dry-run"))
    assert code == 1 and report["status"] == "refused"
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["no-volume-layer"]


def test_from_run_and_dataset_take_the_finished_wkgt_annotations(sandbox, capsys):
    code, created, _ = run_json(capsys, [
        "create-boxes", "--dataset", "l4_sample", "--organization", ORG, "--webknossos-url", sandbox.url,
        "--token", sandbox.token, "--no-tissue-check", "--json",
    ])
    assert code == 0
    key, annotation_id = created["run_key"], created["annotation"]["id"]
    upload_painted(sandbox, "hand-made, not wkgt", box_row("h", 3200))  # finished, but no run key: not taken

    code, out, err = run_json(capsys, train(sandbox, "--from-run", key, "--name", "m", "--dry-run"))
    assert code == 3 and out is None and "1 active one(s)" in err  # not painted and finished yet
    painted = paint_copy(sandbox, annotation_id)  # painted (a copy: the sandbox cannot edit volumes) and finished
    for source in (["--from-run", key], ["--dataset", "l4_sample", "--organization", ORG]):
        code, report, _ = run_json(capsys, train(sandbox, *source, "--name", "m", "--dry-run"))
        assert code == 0 and [a["id"] for a in report["annotations"]] == [painted]
        [entry] = report["request"]["body"]["trainingAnnotations"]
        mag = [int(v) for v in created["mag"].split("-")] if "-" in created["mag"] else [int(created["mag"])] * 3
        assert entry == {"annotationId": painted, "colorLayerName": "color", "segmentationLayerName": "ground_truth", "mag": mag}
    assert posts(sandbox) == []


def test_datasets_of_two_voxel_sizes_train_each_at_its_mag(sandbox, capsys):
    l4 = upload_painted(sandbox, "l4", box_row("a", 3200))
    iso = upload_painted(sandbox, "iso", [(f"i{i}", (256 * i, 256, 256), (128, 128, 128)) for i in range(1, 4)], dataset="iso_8nm")
    code, report, _ = run_json(capsys, train(sandbox, "--annotation", l4, "--annotation", iso, "--name", "mixed", "--same-mag", "--dry-run"))
    assert code == 0 and report["ok"] is True and len(report["checks"]) == 2
    mags = {e["annotationId"]: e["mag"] for e in report["request"]["body"]["trainingAnnotations"]}
    chosen = report["same_mag"]["datasets"]
    assert [mags[l4.rsplit("/", 1)[-1]], mags[iso.rsplit("/", 1)[-1]]] == [
        [int(v) for v in (c["mag"].split("-") if "-" in c["mag"] else [c["mag"]] * 3)] for c in chosen
    ]
    # six boxes over the run: the per-dataset count of three is not an error
    assert "too-few-boxes" not in [f["code"] for f in report["findings"]]
    # checked twice (together, then per voxel size), the painted voxels read once: one download with volume data each
    for url in (l4, iso):
        downloads = sandbox.state.requests("GET", f"/annotations/{url.rsplit('/', 1)[-1]}/download")
        assert [d for d in downloads if "skipVolumeData=true" not in d.query] == [downloads[0]]
    assert all(b["painted"] == 1.0 for check in report["checks"] for b in check["boxes"])


def test_an_organization_without_the_ai_add_on_is_refused_by_the_server(sandbox, capsys):
    a = upload_painted(sandbox, "one", box_row("a", 3200, 5))
    sandbox.state.ai_plans[ORG] = None
    code, _, err = run_json(capsys, train(sandbox, "--annotation", a, "--name", "m"))
    assert code == 6 and "Only organizations with an AI plan are allowed to start this job." in err
    assert sandbox.state.jobs == {} and len(posts(sandbox)) == 1


def test_dataset_takes_the_finished_task_annotations(sandbox, capsys):
    code, _, _ = run_json(capsys, [
        "create-boxes", "--dataset", "l4_sample", "--organization", ORG, "--webknossos-url", sandbox.url, "--token", sandbox.token,
        "--no-tissue-check", "--count", "4", "--as-tasks", "--project", "sandbox_project", "--task-type", "training_boxes", "--json",
    ])
    assert code == 0
    annotator = client(sandbox, sandbox.tokens["annotator"])
    taken = []
    for finished in (True, True, True, False):  # an annotator holds few open tasks at once
        taken.append(annotator.post("/user/tasks/request").raise_for_status().json()["id"])
        if finished:
            annotator.patch(f"/annotations/Task/{taken[-1]}/finish", params={"timestamp": 0}).raise_for_status()
    code, report, _ = run_json(capsys, train(sandbox, "--dataset", "l4_sample", "--organization", ORG, "--name", "m", "--dry-run"))
    assert sorted(a["id"] for a in report["annotations"]) == sorted(taken[:3])  # the unfinished one waits
    assert all(a["source"].startswith("task ") for a in report["annotations"])
    assert posts(sandbox) == []


def test_a_started_training_whose_result_cannot_be_printed_says_it_started(sandbox, capsys):
    from tests.helpers import run_to_full_disk

    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    b = upload_painted(sandbox, "gt two", box_row("b", 3600))
    code, err = run_to_full_disk(capsys, train(sandbox, "--annotation", a, "--annotation", b, "--name", "v1"))
    [job] = sandbox.state.jobs.values()
    assert code == 6, err
    (line,) = [line for line in err.strip().splitlines() if line.startswith("wkgt: error:")]
    assert f"training started (job {job['id']}), but printing the result failed" in line


def test_ctrl_c_while_the_training_starts_says_it_may_have_started_and_a_rerun_reports_it(sandbox, capsys):
    """A real SIGINT while the server holds back its answer to a training it has started: exit 130,
    one line saying what may exist and where to look; the rerun reports that very job."""
    from tests.helpers import interrupt_at

    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    b = upload_painted(sandbox, "gt two", box_row("b", 3600))
    run = train(sandbox, "--annotation", a, "--annotation", b, "--name", "v1")
    sandbox.faults.add(r"/aiModels/runNeuronModelTraining$", method="POST", latency=30.0, after=True, times=1)
    code, err = interrupt_at(sandbox, run, "/aiModels/runNeuronModelTraining")
    assert code == 130
    assert err.strip().splitlines() == [
        f"wkgt: error: interrupted while starting the training: the server may have started it (model 'v1', see {sandbox.url}/jobs); "
        "rerun the same command, it reports the training as exists or starts it"
    ]
    [job] = sandbox.state.jobs.values()
    code, again, _ = run_json(capsys, run)
    assert code == 0 and again["status"] == "exists" and again["job"]["id"] == job["id"] and len(posts(sandbox)) == 1


def test_ctrl_c_while_checking_says_nothing_was_started(sandbox, capsys, monkeypatch):
    import wkgt.jobs.train

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    monkeypatch.setattr(wkgt.jobs.train, "check_run", ctrl_c)
    code, _, err = run_json(capsys, train(sandbox, "--annotation", a, "--name", "v1"))
    assert code == 130 and err.strip().splitlines() == [
        "wkgt: error: interrupted while checking the annotations, before the training was started: nothing changed on the server"
    ]


UNPAINTED = ("u", (3200, 3400, 600), (170, 170, 64))
"""A box between the rows the tests paint (y 3200 and 3600): never painted."""


def test_an_unpainted_box_stops_the_run_before_any_request_unless_allowed(sandbox, capsys):
    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    b = upload_painted(sandbox, "one left out", [*box_row("b", 3600), UNPAINTED], unpainted={"u"})
    run = train(sandbox, "--annotation", a, "--annotation", b, "--name", "m")
    code, report, err = run_json(capsys, run)
    assert code == 1 and report["status"] == "refused" and report["request"] is None
    assert [(f["box"], f["code"]) for f in report["findings"] if f["severity"] == "error"] == [("one left out/u", "unpainted")]
    assert posts(sandbox) == [] and sandbox.state.jobs == {} and "nothing was sent" in err
    # e.g. an instance box without any object: allowed, it stays a warning
    code, report, _ = run_json(capsys, [*run, "--allow-unpainted", "--dry-run"])
    assert code == 0 and report["status"] == "dry-run"
    assert [(f["severity"], f["code"]) for f in report["findings"] if "painted" in f["code"]] == [("warning", "unpainted")]
    assert posts(sandbox) == []


def test_an_annotation_with_nothing_painted_is_refused_even_when_unpainted_boxes_are_allowed(sandbox, capsys):
    a = upload_painted(sandbox, "gt one", box_row("a", 3200))
    fresh = upload_painted(sandbox, "fresh", box_row("f", 3200, 5), unpainted={f"f{i}" for i in range(5)})
    for run in (["--annotation", fresh], ["--annotation", a, "--annotation", fresh]):
        code, report, _ = run_json(capsys, train(sandbox, *run, "--name", "m", "--dry-run", "--allow-unpainted"))
        assert code == 1 and report["status"] == "refused"
        [error] = [f for f in report["findings"] if f["severity"] == "error"]
        assert error["code"] == "nothing-painted" and error["box"] is None
        assert ("annotation fresh: none of its 5 box(es)" in error["message"]) == (len(run) == 4)
    assert posts(sandbox) == []


def test_boxes_over_a_fallback_segmentation_train_as_proofread_not_as_empty(sandbox, capsys):
    """Nothing painted over a fallback segmentation: training reads the fallback's labels there
    (the tracing store merges them), so the boxes are "unedited" warnings, not a refusal."""
    from tests.helpers import create_boxes_argv

    code, created, err = run_json(
        capsys, create_boxes_argv(sandbox, "l4_sample", "--json", "--no-tissue-check", "--count", "5", "--fallback-segmentation")
    )
    assert code == 0, err
    finish(sandbox, created["annotation"]["id"])
    code, report, err = run_json(capsys, train(sandbox, "--annotation", created["annotation"]["url"], "--name", "proofread", "--dry-run"))
    assert code == 0 and report["status"] == "dry-run", err
    painted = [f for f in report["findings"] if f["code"] in ("unedited", "unpainted", "nothing-painted")]
    assert [f["code"] for f in painted] == ["unedited"] * 5 and all(f["severity"] == "warning" for f in painted)
    assert "fallback segmentation 'segmentation'" in painted[0]["message"] and posts(sandbox) == []
