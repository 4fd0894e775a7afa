"""The sandbox's AI model training routes over HTTP: the server's checks in its order, its answers,
the job record, and who may see models and jobs (AiModelController, JobService, OrganizationService)."""

from __future__ import annotations

import httpx

from wkgt_sandbox import Sandbox

L4_ID = "66e1c3a2b7f0d94e1a2b1001"
PARTNER_DATASET = "66e1c3a2b7f0d94e1a2b2001"
NEURONS = "/api/v16/aiModels/runNeuronModelTraining"


def http(sb: Sandbox, role: str = "admin") -> httpx.Client:
    return httpx.Client(base_url=sb.url, headers={"X-Auth-Token": sb.tokens[role]}, timeout=30)


def body(*annotation_ids: str, name: str = "model", **extra: object) -> dict:
    entries = [
        {"annotationId": a, "colorLayerName": "color", "segmentationLayerName": "ground_truth", "mag": [2, 2, 1]}
        for a in annotation_ids
    ]
    return {"trainingAnnotations": entries, "name": name, "aiModelCategory": "em_neurons", **extra}


def error_of(response: httpx.Response) -> str:
    return response.json()["messages"][0]["error"]


def test_training_starts_a_pending_job_and_the_model_lists_it(lab: Sandbox) -> None:
    a = lab.state.add_annotation("admin", name="gt")
    answer = http(lab).post(NEURONS, json=body(a.id, comment="first"))
    assert answer.status_code == 200
    model = answer.json()
    job = model["trainingJob"]
    assert (model["name"], model["comment"], model["isOwnedByUsersOrganization"]) == ("model", "first", True)
    assert job["command"] == "train_neuron_model" and job["state"] == "PENDING" and job["organizationId"] == "sandbox_lab"
    assert job["args"]["training_annotations"] == body(a.id)["trainingAnnotations"] and job["args"]["model_id"] == model["id"]
    assert [m["id"] for m in http(lab).get("/api/v16/aiModels").json()] == [model["id"]]
    assert http(lab).get(f"/api/v16/jobs/{job['id']}").json()["state"] == "PENDING"
    # other organizations see neither the model nor the job
    assert http(lab, "outsider").get("/api/v16/aiModels").json() == []
    assert http(lab, "outsider").get(f"/api/v16/jobs/{job['id']}").status_code == 404
    instance = http(lab).post("/api/v16/aiModels/runInstanceModelTraining", json=body(a.id, name="nuclei", instanceDiameterNm=5000))
    assert instance.json()["trainingJob"]["command"] == "train_instance_model"
    assert instance.json()["trainingJob"]["args"]["instance_diameter_nm"] == 5000


def test_the_server_checks_in_its_order(lab: Sandbox) -> None:
    own = lab.state.add_annotation("admin", name="gt")
    client = http(lab)
    assert httpx.post(lab.url + NEURONS, json=body(own.id)).status_code == 401
    assert client.post(NEURONS, content=b"{").status_code == 400
    assert client.post(NEURONS, json={"trainingAnnotations": [{"annotationId": "x"}], "name": "m"}).status_code == 400
    assert error_of(client.post(NEURONS, json=body())) == "Need at least one training annotation for model training."
    assert error_of(client.post(NEURONS, json=body("0" * 24))) == "Annotation could not be found or accessed."
    assert client.post(NEURONS, json=body(own.id, name="taken")).status_code == 200
    taken = client.post(NEURONS, json=body(own.id, name="taken"))
    assert taken.status_code == 400 and error_of(taken).startswith("An AI model with the name “taken” already exists")
    assert len(lab.state.jobs) == 1


def test_the_ai_add_on_the_role_and_the_organization_are_required(lab: Sandbox) -> None:
    own = lab.state.add_annotation("admin", name="gt")
    # an annotator of the organization: no paid jobs for plain members
    mine = lab.state.add_annotation("annotator", name="mine")
    refused = http(lab, "annotator").post(NEURONS, json=body(mine.id))
    assert refused.status_code == 400 and "Administrators, Dataset Managers or Team Managers" in error_of(refused)
    assert http(lab, "manager").post(NEURONS, json=body(own.id, name="by manager")).status_code == 200
    # partner_lab has no AI add-on; with one, its admin still may not train on sandbox_lab's data
    partner = lab.state.add_annotation("outsider", dataset=PARTNER_DATASET, name="theirs", visibility="Public")
    shared = lab.state.add_annotation("admin", name="public", visibility="Public")
    no_plan = http(lab, "outsider").post(NEURONS, json=body(partner.id))
    assert no_plan.status_code == 400 and error_of(no_plan) == "Only organizations with an AI plan are allowed to start this job."
    lab.state.ai_plans["partner_lab"] = "Power_AI"
    other = http(lab, "outsider").post(NEURONS, json=body(shared.id))
    assert other.status_code == 403 and error_of(other) == "Training AI models is only allowed for datasets of your own organization."
    assert http(lab, "outsider").post(NEURONS, json=body(partner.id, name="theirs")).status_code == 200
    lab.state.ai_plans["sandbox_lab"] = None
    assert error_of(http(lab).post(NEURONS, json=body(own.id, name="later"))).startswith("Only organizations with an AI plan")
