"""AI model training routes (`/api/v{N}/aiModels/...`, `/api/v{N}/jobs/...`), after webknossos
`app/controllers/AiModelController.scala` (`runNeuronTraining`, `runInstanceTraining`,
`listAiModels`), `app/models/aimodels/AiModel.scala` (`AiModelService.publicWrites`,
`AiModelDAO.readAccessQ`), `app/models/job/JobService.scala` (`submitJob`, `submitPaidJob`,
`publicWrites`) and `app/models/organization/OrganizationService.scala`
(`assertIsSuperUserOrOrganizationHasAiPlan`); messages from `util/.../Msg.scala`.

Nothing is trained: a training request that passes the server's checks becomes a job record
(state `PENDING`) and an AI model pointing at it, as the server stores them. The checks, in the
server's order:

1. a user (401), a body that parses as `RunNeuronModelTrainingParameters` (400);
2. the organization has an AI plan (the AI add-on) or the user is a super user (400
   `Msg.Job.CreditTransaction.noAiPlan`); by default the default user's organization has
   `Team_AI` and every other none (`state.ai_plans[org]` changes it, None: no add-on);
3. at least one training annotation (400 `aiModel.training.zeroAnnotations`);
4. the first annotation's dataset belongs to the user's organization (403
   `Msg.Job.TrainModel.wrongOrga`); every annotation is readable by the user (400);
5. the model name is new in the organization (400 `aiModel.nameInUse`);
6. the user is an admin, a dataset manager or a team manager (400 `Msg.Job.paidNoAdminOrManager`,
   `submitPaidJob`; assumed for training, which the job cost table lists at 0 credits — stricter);
7. a worker supports the job's command for the dataset's datastore (the sandbox has one for
   both training commands).

The layer names and the mag are not validated by the server (the worker fails later if they
are wrong): the job record keeps them as sent, in `args.training_annotations`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .annotations import can_read
from .api import datastore_json, identity, secured, state_of
from .auth import User, error, is_admin_of, is_team_manager_or_admin_of_org
from .state import SandboxState, new_object_id
from .world import user_compact

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
DEFAULT_AI_PLAN = "Team_AI"
AI_PLANS = ("Team_AI", "Power_AI")
CATEGORIES = ("em_neurons", "em_nuclei", "em_synapses", "em_neuron_types", "em_cell_organelles")
WORKER_COMMANDS = frozenset({"train_neuron_model", "train_instance_model"})
NO_AI_PLAN = "Only organizations with an AI plan are allowed to start this job."
ZERO_ANNOTATIONS = "Need at least one training annotation for model training."
WRONG_ORGANIZATION = "Training AI models is only allowed for datasets of your own organization."
ANNOTATION_NOT_FOUND = "Annotation could not be found or accessed."
NOT_ADMIN_OR_MANAGER = "Starting paid jobs is only allowed for Administrators, Dataset Managers or Team Managers."
NO_WORKER = "No webknossos-worker supporting the requested job is available for the selected datastore."
JOB_NOT_FOUND = "Job could not be found."


def name_in_use(name: str) -> str:
    """`Msg.AiModel.nameInUse`."""
    return f"An AI model with the name “{name}” already exists in this organization. Please chose a different name"


def ai_plan(state: SandboxState, organization: str) -> str | None:
    """The organization's AI plan: `state.ai_plans`, else `Team_AI` for the default user's organization."""
    if organization in state.ai_plans:
        return state.ai_plans[organization]
    return DEFAULT_AI_PLAN if organization == state.current_user.get("organization") else None


def _invalid(detail: str) -> Response:
    return error(400, f"Invalid Json format: {detail}")


def _parse(body: Any, instance: bool) -> dict[str, Any] | str:
    """`validateJson[Run…ModelTrainingParameters]`: the parameters, or what is wrong with them."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    annotations = body.get("trainingAnnotations")
    if not isinstance(annotations, list):
        return "/trainingAnnotations: error.path.missing"
    for i, item in enumerate(annotations):
        if not isinstance(item, dict):
            return f"/trainingAnnotations({i}): error.expected.jsobject"
        if not isinstance(item.get("annotationId"), str) or not OBJECT_ID.match(item["annotationId"]):
            return f"/trainingAnnotations({i})/annotationId: not a valid ObjectId"
        for key in ("colorLayerName", "segmentationLayerName"):
            if not isinstance(item.get(key), str):
                return f"/trainingAnnotations({i})/{key}: error.expected.jsstring"
        mag = item.get("mag")
        if not (isinstance(mag, list) and len(mag) == 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in mag)):
            return f"/trainingAnnotations({i})/mag: error.expected.vec3int"
    if not isinstance(body.get("name"), str):
        return "/name: error.path.missing"
    category = body.get("aiModelCategory")
    if category is not None and category not in CATEGORIES:
        return f"/aiModelCategory: unknown value {category!r}"
    for key in ("comment", "workflowYaml"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"/{key}: error.expected.jsstring"
    numbers = ("instanceDiameterNm", "maxDistanceNm") if instance else ()
    for key in numbers:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"/{key}: error.expected.jsnumber"
    return body


def job_json(state: SandboxState, job: dict[str, Any]) -> dict[str, Any]:
    """`JobService.publicWrites` (`JobCompactInfo`)."""
    owner = state.users.get(job["owner"]) or {}
    return {
        "id": job["id"],
        "command": job["command"],
        "organizationId": owner.get("organization"),
        "ownerFirstName": owner.get("firstName"),
        "ownerLastName": owner.get("lastName"),
        "ownerEmail": owner.get("email"),
        "args": job["args"],
        "state": job["state"],
        "returnValue": None,
        "resultLink": None,
        "voxelyticsWorkflowHash": None,
        "created": job["created"],
        "started": None,
        "ended": None,
        "lastRetry": None,
        "costInMilliCredits": job.get("costInMilliCredits"),
    }


def model_json(request: Request, model: dict[str, Any], user: User) -> dict[str, Any]:
    """`AiModelService.publicWrites`."""
    state = state_of(request)
    owner = state.users.get(model["user"])
    job = state.jobs.get(model["trainingJob"] or "")
    own = model["organization"] == user.get("organization")
    return {
        "id": model["id"],
        "name": model["name"],
        "isOwnedByUsersOrganization": own,
        "dataStore": datastore_json(request),
        "user": user_compact(owner) if owner else None,
        "comment": model["comment"],
        "trainingJob": job_json(state, job) if job else None,
        "created": model["created"],
        "sharedOrganizationIds": [model["organization"]] if own else None,
        "category": model["category"],
    }


def _may_start_paid_jobs(user: User) -> bool:
    return is_team_manager_or_admin_of_org(user, user.get("organization")) or bool(user.get("isDatasetManager"))


async def _run_training(request: Request, command: str, instance: bool) -> Response:
    state, user = state_of(request), identity(request)
    try:
        raw = await request.json()
    except (ValueError, UnicodeDecodeError):
        return _invalid("the body is not JSON")
    body = _parse(raw, instance)
    if isinstance(body, str):
        return _invalid(body)
    organization = user["organization"]
    if not user.get("isSuperUser") and ai_plan(state, organization) is None:
        return error(400, NO_AI_PLAN)
    annotations = body["trainingAnnotations"]
    if not annotations and body.get("workflowYaml") is None:
        return error(400, ZERO_ANNOTATIONS)
    with state.lock:
        found = [state.annotations.get(a["annotationId"]) for a in annotations]
        first = found[0] if found else None
        if annotations and (first is None or not can_read(state, user, first)):
            return error(400, ANNOTATION_NOT_FOUND)
        dataset = state.datasets.get(first.dataset_id or "") if first is not None else None
        if first is not None and (dataset is None or dataset.organization != organization):
            return error(403, WRONG_ORGANIZATION)
        if any(a is None or not can_read(state, user, a) for a in found):
            return error(400, ANNOTATION_NOT_FOUND)
        if any(m["name"] == body["name"] and m["organization"] == organization for m in state.ai_models.values()):
            return error(400, name_in_use(body["name"]))
        if not _may_start_paid_jobs(user):
            return error(400, NOT_ADMIN_OR_MANAGER)
        if command not in WORKER_COMMANDS:
            return error(400, NO_WORKER)
        model_id = new_object_id()
        args: dict[str, Any] = {
            "training_annotations": annotations,
            "organization_id": organization,
            "model_id": model_id,
            "custom_workflow_provided_by_user": body.get("workflowYaml"),
        }
        if instance:
            args["instance_diameter_nm"] = body.get("instanceDiameterNm", body.get("maxDistanceNm"))
        now = int(time.time() * 1000)
        job = {"id": new_object_id(), "owner": user["id"], "command": command, "args": args, "state": "PENDING", "created": now,
               "costInMilliCredits": 0}
        state.jobs[job["id"]] = job
        model = {
            "id": model_id, "name": body["name"], "organization": organization, "user": user["id"], "trainingJob": job["id"],
            "trainingAnnotations": [a["annotationId"] for a in annotations], "comment": body.get("comment"),
            "category": body.get("aiModelCategory"), "created": now,
        }
        state.ai_models[model_id] = model
        return JSONResponse(model_json(request, model, user))


@secured
async def run_neuron_training(request: Request) -> Response:
    """`AiModelController.runNeuronTraining` (`POST /aiModels/runNeuronModelTraining`)."""
    return await _run_training(request, "train_neuron_model", instance=False)


@secured
async def run_instance_training(request: Request) -> Response:
    """`AiModelController.runInstanceTraining` (`POST /aiModels/runInstanceModelTraining`)."""
    return await _run_training(request, "train_instance_model", instance=True)


@secured
async def list_models(request: Request) -> Response:
    """`AiModelController.listAiModels`: the models of the user's organization (`AiModelDAO.readAccessQ`)."""
    state, user = state_of(request), identity(request)
    with state.lock:
        models = [m for m in state.ai_models.values() if m["organization"] == user.get("organization")]
        return JSONResponse([model_json(request, m, user) for m in sorted(models, key=lambda m: m["id"])])


def _readable_job(state: SandboxState, user: User, job: dict[str, Any]) -> bool:
    """`JobDAO.readAccessQ`: one's own jobs, and every job of one's organization for its admins."""
    owner = state.users.get(job["owner"]) or {}
    return job["owner"] == user["id"] or is_admin_of(user, owner.get("organization"))


@secured
async def get_job(request: Request) -> Response:
    """`JobController.get`: 404 unless readable."""
    state, user = state_of(request), identity(request)
    job_id = request.path_params["job_id"]
    if not OBJECT_ID.match(job_id):
        return error(400, f"The passed resource id “{job_id}” is invalid")
    job = state.jobs.get(job_id)
    if job is None or not _readable_job(state, user, job):
        return error(404, JOB_NOT_FOUND)
    return JSONResponse(job_json(state, job))


@secured
async def list_jobs(request: Request) -> Response:
    """`JobController.list`: the readable jobs, newest first."""
    state, user = state_of(request), identity(request)
    jobs = sorted((j for j in state.jobs.values() if _readable_job(state, user, j)), key=lambda j: j["id"], reverse=True)
    return JSONResponse([job_json(state, j) for j in jobs])


routes = [
    Route("/aiModels/runNeuronModelTraining", run_neuron_training, methods=["POST"]),
    Route("/aiModels/runInstanceModelTraining", run_instance_training, methods=["POST"]),
    Route("/aiModels", list_models),
    Route("/jobs", list_jobs),
    Route("/jobs/{job_id}", get_job),
]
