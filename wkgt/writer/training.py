"""Starting WEBKNOSSOS's training job: one request, never retried blindly, and the rerun check.

``POST /api/v{N}/aiModels/runNeuronModelTraining`` (or ``runInstanceModelTraining``), body
``{trainingAnnotations: [{annotationId, colorLayerName, segmentationLayerName, mag: [x,y,z]}],
name, aiModelCategory, comment}`` (+ ``instanceDiameterNm`` for instances), as the training
dialog sends it (``frontend/javascripts/admin/rest_api.ts`` ``runNeuronTraining``,
``ai_training_job_context.tsx``); the server answers with the new AI model, its ``trainingJob``
inside (``AiModelController.runNeuronTraining``). Model names are unique per organization
(``aiModel.nameInUse``), so a model of the same name and the same training annotations is this
job, started before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ..client.ai_models import ai_models
from ..client.session import Session, _Retryable
from ..errors import AuthError, InvalidInput, WkgtError, WriteError
from ..planner.rules import ModelKind
from ..planner.vectors import Vec3

ROUTES = {ModelKind.NEURONS: "/aiModels/runNeuronModelTraining", ModelKind.INSTANCES: "/aiModels/runInstanceModelTraining"}
CATEGORIES = {ModelKind.NEURONS: "em_neurons", ModelKind.INSTANCES: "em_nuclei"}
TrainingStatus = Literal["dry-run", "started", "exists"]


@attrs.frozen
class TrainingAnnotation:
    """One annotation of the run: the image layer, the ground-truth layer and the training mag."""

    annotation_id: str
    color_layer: str
    segmentation_layer: str
    mag: Vec3

    def to_json(self) -> dict[str, Any]:
        return {
            "annotationId": self.annotation_id,
            "colorLayerName": self.color_layer,
            "segmentationLayerName": self.segmentation_layer,
            "mag": list(self.mag),
        }


@attrs.frozen
class TrainingRequest:
    """The exact request that starts the training."""

    model: ModelKind
    name: str
    annotations: tuple[TrainingAnnotation, ...]
    comment: str | None = None
    instance_diameter_nm: float | None = None

    @property
    def route(self) -> str:
        return ROUTES[self.model]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "trainingAnnotations": [a.to_json() for a in self.annotations],
            "name": self.name,
            "aiModelCategory": CATEGORIES[self.model],
        }
        if self.comment is not None:
            body["comment"] = self.comment
        if self.model is ModelKind.INSTANCES and self.instance_diameter_nm is not None:
            body["instanceDiameterNm"] = self.instance_diameter_nm
        return body

    def to_dict(self, server: str, api_version: int | None) -> dict[str, Any]:
        return {"method": "POST", "url": f"{server}/api/v{api_version}{self.route}", "body": self.body()}


def _same_annotations(model: dict[str, Any], request: TrainingRequest) -> bool:
    """Whether ``model``'s training job was started with exactly ``request``'s annotations."""
    args = ((model.get("trainingJob") or {}).get("args")) or {}
    raw = args.get("training_annotations") or args.get("trainingAnnotations")
    if not isinstance(raw, list):
        return False

    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        return (item.get("annotationId"), item.get("colorLayerName"), item.get("segmentationLayerName"), tuple(item.get("mag") or ()))

    try:
        return sorted(map(key, raw)) == sorted(key(a.to_json()) for a in request.annotations)
    except (AttributeError, TypeError):
        return False


def existing_model(session: Session, request: TrainingRequest, models: Sequence[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The model this request made before (same name in the token's organization, same
    annotations, layers and mags); another model of that name is refused (exit 2). A server
    that lists models to super users only leaves the check to its own name rule (a second
    start is refused there: ``aiModel.nameInUse``)."""
    if models is None:
        try:
            models = ai_models(session)
        except AuthError:
            return None
    for model in models:
        if model.get("name") != request.name or model.get("isOwnedByUsersOrganization") is False:
            continue
        if _same_annotations(model, request):
            return model
        raise InvalidInput(
            f"an AI model named {request.name!r} exists already in your organization, trained on other annotations, "
            "layers or mags; choose another --name"
        )
    return None


def start_training(session: Session, request: TrainingRequest) -> dict[str, Any]:
    """Post once; if the outcome is unclear (timeout, dropped connection, 5xx), look for the model
    instead of posting again, and say what happened."""
    session.config.require_token()
    route, body = request.route, request.body()
    try:
        return session.translate(  # type: ignore[no-any-return]
            "starting the training", lambda: session.api()._post_json_with_json_response(route, body, dict[str, Any])
        )
    except (AuthError, InvalidInput):
        raise
    except WkgtError as err:
        if not isinstance(err, _Retryable):  # the server refused (4xx): nothing was started
            raise WriteError(f"the server refused to start the training: {err}") from None
        try:
            found = existing_model(session, request)
        except WkgtError:
            raise WriteError(
                f"starting the training failed ({err}) and wkgt could not check whether the server started it; "
                "rerun the same command: it finds the job if it exists"
            ) from None
        if found is not None:
            return found
        raise WriteError(f"starting the training failed ({err}); the server lists no model {request.name!r}, so a rerun is safe") from None
