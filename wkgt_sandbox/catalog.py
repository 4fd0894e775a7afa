"""Datasets the sandbox serves: catalog loading and the JSON views the server derives from them.

A catalog is a JSON list of dataset objects in the shape of `GET /api/v{N}/datasets/{id}`. Each data
layer may carry a sandbox-only key, stripped from every answer, saying where its voxels come from:

    "sandboxData": {"generator": "em" | "segments", "seed": 7, "mags": ["16-16-4", "8-8-2"],
                    "tissue": "full" | "partial"}
    "sandboxData": {"path": "/data/my_wk_dataset", "layer": "color"}

Without it a layer has no voxels (its chunks answer 404).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .imagedata import (
    DTYPES,
    ChunkSource,
    GeneratedVoxels,
    LocalDatasetVoxels,
    Mag,
    NoData,
    mag_literal,
    parse_mag,
    zarray,
)

SANDBOX_KEY = "sandboxData"
COMPACT_KEYS = (
    "id",
    "name",
    "owningOrganization",
    "folderId",
    "isActive",
    "directoryName",
    "created",
    "isEditable",
    "lastUsedByUser",
    "status",
    "tags",
    "isUnreported",
)


@dataclass
class CatalogDataset:
    """One dataset: its server JSON (without sandbox keys) and a voxel source per layer."""

    json: dict[str, Any]
    sources: dict[str, ChunkSource]
    recorded_zarrays: dict[tuple[str, Mag], dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.json["id"])

    @property
    def name(self) -> str:
        return str(self.json["name"])

    @property
    def organization(self) -> str:
        return str(self.json["owningOrganization"])

    @property
    def directory_name(self) -> str:
        return str(self.json.get("directoryName", self.name))

    @property
    def is_public(self) -> bool:
        return bool(self.json.get("isPublic", False))

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.json["dataSource"]["dataLayers"])

    def layer(self, name: str) -> dict[str, Any] | None:
        return next((layer for layer in self.layers if layer["name"] == name), None)

    def full(self, datastore_url: str) -> dict[str, Any]:
        """The dataset object of `GET /datasets/{id}`, pointing its datastore at `datastore_url`."""
        out = copy.deepcopy(self.json)
        out["dataStore"] = {**out.get("dataStore", {}), "url": datastore_url}
        return out

    def compact(self) -> dict[str, Any]:
        """A v16 dataset list entry (no voxel size, no mags)."""
        out = {k: copy.deepcopy(self.json.get(k)) for k in COMPACT_KEYS}
        out["status"] = out["status"] or ""
        out["tags"] = out["tags"] or []
        out["colorLayerNames"] = [x["name"] for x in self.layers if x["category"] == "color"]
        out["segmentationLayerNames"] = [x["name"] for x in self.layers if x["category"] == "segmentation"]
        return out

    def datasource_properties(self) -> dict[str, Any]:
        """The `datasource-properties.json` of the zarr streaming view of the dataset."""
        source = self.json["dataSource"]
        layers = []
        for layer in source["dataLayers"]:
            mags = [tuple(m["mag"]) for m in layer["mags"]]
            out = {
                "category": layer["category"],
                "name": layer["name"],
                "dataFormat": "zarr",
                "boundingBox": copy.deepcopy(layer["boundingBox"]),
                "elementClass": layer["elementClass"],
                "mags": [
                    {
                        "mag": list(m),
                        "path": f"./{layer['name']}/{mag_literal(m)}",
                        "axisOrder": {"x": 1, "y": 2, "z": 3, "c": 0},
                    }
                    for m in mags
                ],
            }
            for key in ("defaultViewConfiguration", "largestSegmentId"):
                if key in layer:
                    out[key] = copy.deepcopy(layer[key])
            out["resolutions"] = [list(m) for m in mags]
            out["numChannels"] = layer.get("numChannels", 1)
            layers.append(out)
        return {"id": copy.deepcopy(source["id"]), "dataLayers": layers, "scale": copy.deepcopy(source["scale"])}

    def layers_stored_in(self, folder: Path) -> set[str]:
        """Layers whose every mag lies inside `folder` (the datastore's folder: uploaded datasets and mags)."""
        inside = f"{folder.resolve()}/"
        return {x["name"] for x in self.layers if x.get("mags") and all(str(m.get("path") or "").startswith(inside) for m in x["mags"])}

    def serve_from_mag_paths(self, folder: Path, layer_names: set[str]) -> None:
        """Serve the voxels of `layer_names` from their mags' paths, as the layers are described now
        (`folder/datasource-properties.json` lists them with their absolute mag paths)."""
        folder.mkdir(parents=True, exist_ok=True)
        source = self.json["dataSource"]
        layers = [x for x in source["dataLayers"] if x["name"] in layer_names]
        properties = {"id": source["id"], "scale": source["scale"], "dataLayers": layers}
        (folder / "datasource-properties.json").write_text(json.dumps(properties))
        for x in layers:
            readable = x.get("elementClass") in DTYPES and bool(x.get("mags"))
            self.sources[x["name"]] = LocalDatasetVoxels(str(folder), x["name"], x["elementClass"]) if readable else NoData()

    def zarray(self, layer_name: str, mag: Mag) -> dict[str, Any] | None:
        """`.zarray` of a layer's mag, or None if the layer or mag does not exist."""
        layer = self.layer(layer_name)
        if layer is None or all(tuple(m["mag"]) != mag for m in layer["mags"]):
            return None
        return self.recorded_zarrays.get((layer_name, mag)) or zarray(layer, mag)


def _source_for(layer: dict[str, Any], voxel_size: tuple[float, float, float]) -> ChunkSource:
    spec = layer.pop(SANDBOX_KEY, None)
    if spec is None:
        return NoData()
    if "path" in spec:
        return LocalDatasetVoxels(spec["path"], spec.get("layer", layer["name"]), layer["elementClass"])
    mags = spec.get("mags")
    return GeneratedVoxels(
        generator=spec["generator"],
        seed=int(spec.get("seed", 0)),
        layer=layer,
        voxel_size=voxel_size,
        mags=None if mags is None else [parse_mag(m) for m in mags],
        tissue=spec.get("tissue", "full"),
    )


def dataset_from_json(obj: dict[str, Any]) -> CatalogDataset:
    """A catalog entry → CatalogDataset (sandbox keys are removed from the served JSON)."""
    obj = copy.deepcopy(obj)
    factor = obj["dataSource"]["scale"]["factor"]
    voxel_size = (float(factor[0]), float(factor[1]), float(factor[2]))
    sources = {layer["name"]: _source_for(layer, voxel_size) for layer in obj["dataSource"]["dataLayers"]}
    return CatalogDataset(json=obj, sources=sources)


def load_catalog(path: str | Path | None = None) -> list[CatalogDataset]:
    """Datasets from a catalog file, or the package's default catalog."""
    if path is None:
        text = resources.files(__package__).joinpath("default_catalog.json").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        entries = json.loads(text)
    except ValueError as err:
        raise ValueError(f"the catalog {path or 'default_catalog.json'} is not JSON ({err})") from None
    if not isinstance(entries, list):
        raise ValueError("a sandbox catalog must be a JSON list of dataset objects")
    return [dataset_from_json(e) for e in entries]
