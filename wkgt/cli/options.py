"""Typer options shared by the commands (as in the webknossos CLI: annotated aliases)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..errors import InvalidInput
from ..planner.choices import DEFAULT_SEED, ModelKind
from ..planner.vectors import Vec3f, parse_floats, parse_ints, parse_mag

if TYPE_CHECKING:
    from ..planner.placement import Region
    from ..planner.plan import PlanOptions

PLANNING = "Planning options"
OUTPUT = "Output options"
SERVER = "Server options"

ModelOption = Annotated[
    ModelKind,
    typer.Option(help="What will be trained: neurons (8 nm rule) or instances.", rich_help_panel=PLANNING, show_default=False),
]
MagOption = Annotated[
    Optional[str], typer.Option(help="Train at this mag, e.g. 2-2-1 (must be available).", rich_help_panel=PLANNING, show_default=False)
]
ObjectSizeOption = Annotated[
    Optional[float],
    typer.Option(
        "--object-size", metavar="NM", help="Instances: diameter of the smallest object (nm).", rich_help_panel=PLANNING
    ),
]
MinVoxelSizeOption = Annotated[
    Optional[float],
    typer.Option(
        "--min-voxel-size", metavar="NM", help="Finest useful voxel size (nm); replaces the 8 nm rule.", rich_help_panel=PLANNING
    ),
]
BoxEdgeOption = Annotated[
    Optional[float],
    typer.Option("--box-edge-nm", metavar="NM", help="Physical edge the boxes aim at (default 1000 nm).", rich_help_panel=PLANNING, show_default=False),
]
BoxSizeOption = Annotated[
    Optional[str],
    typer.Option(metavar="X,Y,Z", help="Box size in voxels of the chosen mag (checked against the guide).", rich_help_panel=PLANNING, show_default=False),
]
CountOption = Annotated[
    Optional[int], typer.Option(help="Number of boxes (default: fewest reaching 5 M voxels).", rich_help_panel=PLANNING, show_default=False)
]
TotalVoxelsOption = Annotated[
    Optional[int], typer.Option(help="Total voxels to reach, in the chosen mag.", rich_help_panel=PLANNING, show_default=False)
]
RoiOption = Annotated[
    Optional[str],
    typer.Option(metavar="X,Y,Z,W,H,D", help="Place boxes only in this region (mag-1 voxels).", rich_help_panel=PLANNING, show_default=False),
]
MarginOption = Annotated[int, typer.Option(help="Keep this many mag-1 voxels from the region's border.", rich_help_panel=PLANNING, show_default=False)]
SeedOption = Annotated[int, typer.Option(help="Random seed: same inputs and seed give the same boxes.", rich_help_panel=PLANNING)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.", rich_help_panel=OUTPUT)]
SaveOption = Annotated[
    Optional[Path], typer.Option(metavar="FILE", help="Also save the plan as JSON to FILE.", rich_help_panel=OUTPUT, show_default=False)
]


@dataclass(frozen=True)
class PlanningOptions:
    """The user's planning choices, still as typed on the command line."""

    model: ModelKind = ModelKind.NEURONS
    mag: str | None = None
    object_size: float | None = None
    min_voxel_size: float | None = None
    box_edge_nm: float | None = None
    box_size: str | None = None
    count: int | None = None
    total_voxels: int | None = None
    roi: str | None = None
    margin: int = 0
    seed: int = DEFAULT_SEED

    def parse(self) -> PlanOptions:
        """Validate the options as typed and turn them into the planner's choices."""
        from ..planner.plan import PlanOptions

        for name, value in (("--object-size", self.object_size), ("--min-voxel-size", self.min_voxel_size), ("--box-edge-nm", self.box_edge_nm)):
            if value is not None and not value > 0:
                raise_invalid(f"{name} must be positive, got {value:g}")
        return PlanOptions(
            model=self.model,
            mag=parse_mag(self.mag) if self.mag else None,
            object_size_nm=self.object_size,
            min_voxel_size_nm=self.min_voxel_size,
            box_edge_nm=self.box_edge_nm,
            box_size=parse_ints(self.box_size, "--box-size") if self.box_size else None,  # type: ignore[arg-type]
            count=self.count,
            total_voxels=self.total_voxels,
            roi=parse_region(self.roi, "--roi") if self.roi else None,
            margin=self.margin,
            seed=self.seed,
        )


def raise_invalid(message: str) -> None:
    raise InvalidInput(message)


def parse_voxel_size(text: str) -> Vec3f:
    return parse_floats(text, "--voxel-size")  # type: ignore[return-value]


def parse_region(text: str, what: str) -> Region:
    """``"x,y,z,w,h,d"`` (mag-1 voxels) → Region; the size must be positive."""
    from ..planner.placement import Region

    values = parse_ints(text, what, 6, positive=False)
    if any(v <= 0 for v in values[3:]):
        raise_invalid(f"{what} size must be positive, got {text!r}")
    return Region(values[:3], values[3:])  # type: ignore[arg-type]


WebknossosUrlOption = Annotated[
    Optional[str],
    typer.Option("--webknossos-url", metavar="URL", help="Server (default: WK_URL, ./.env, webknossos.org).", rich_help_panel=SERVER, show_default=False),
]
TokenOption = Annotated[
    Optional[str],
    typer.Option("--token", metavar="TOKEN", help="API token (default: WK_TOKEN or ./.env). Never printed.", rich_help_panel=SERVER, show_default=False),
]
OrganizationOption = Annotated[
    Optional[str],
    typer.Option(metavar="ORG", help="Organization of a dataset given by name, when the name is ambiguous.", rich_help_panel=SERVER, show_default=False),
]
TimeoutOption = Annotated[float, typer.Option(metavar="SECONDS", help="HTTP timeout per request.", rich_help_panel=SERVER)]

TISSUE = "Tissue options"
ROUNDS = "Later rounds"

NoTissueCheckOption = Annotated[
    bool,
    typer.Option("--no-tissue-check", help="Place boxes anywhere in the region (do not read the coarsest mag).", rich_help_panel=TISSUE),
]
MinTissueOption = Annotated[
    float,
    typer.Option("--min-tissue", metavar="FRACTION", help="Share of each box that must be tissue (foreground).", rich_help_panel=TISSUE),
]
JobsOption = Annotated[
    int, typer.Option("--jobs", metavar="N", help="Parallel jobs for the tissue scoring (chunks of the coarsest mag).", rich_help_panel=TISSUE)
]
DistributionStrategyOption = Annotated[
    str,
    typer.Option(
        "--distribution-strategy",
        metavar="STRATEGY",
        help="Where the tissue-scoring jobs run: multiprocessing, slurm, kubernetes or dask (cluster_tools).",
        rich_help_panel=TISSUE,
    ),
]
JobResourcesOption = Annotated[
    Optional[str],
    typer.Option(
        "--job-resources", metavar="KEY=VALUE,...", help="Resources of cluster jobs (slurm, kubernetes, dask), e.g. mem=4G.",
        rich_help_panel=TISSUE, show_default=False,
    ),
]
TissueBudgetOption = Annotated[
    Optional[str],
    typer.Option(
        "--tissue-budget", metavar="BYTES",
        help="Memory the tissue check may use, e.g. 1GiB (default); it picks the mag to read by it.",
        rich_help_panel=TISSUE, show_default=False,
    ),
]
AvoidOption = Annotated[
    Optional[list[str]],
    typer.Option("--avoid", metavar="ANNOTATION", help="Keep clear of this annotation's boxes (id or URL; repeatable).", rich_help_panel=ROUNDS, show_default=False),
]
AvoidPreviousOption = Annotated[
    bool,
    typer.Option("--avoid-previous", help="Keep clear of the boxes of every earlier wkgt annotation of this dataset.", rich_help_panel=ROUNDS),
]
GapOption = Annotated[
    Optional[float],
    typer.Option("--gap-nm", metavar="NM", help="Distance new boxes keep from avoided boxes (default 250 nm).", rich_help_panel=ROUNDS, show_default=False),
]
PreviewOption = Annotated[
    Optional[Path],
    typer.Option("--preview", metavar="FILE.png", help="Draw the plan (top and side views, scale bar) into a PNG.", rich_help_panel=OUTPUT, show_default=False),
]


def parse_tissue_budget(text: str | None) -> int | None:
    """``"1GiB"``, ``"512M"`` → bytes; ``None`` keeps the default."""
    if text is None:
        return None
    from ..planner.tissue import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError:
        raise InvalidInput(f"--tissue-budget expects a size such as 1GiB or 512M, got {text!r}") from None


def parse_job_resources(text: str | None) -> dict[str, object] | None:
    """``"mem=4G,cpus=2"`` (or a JSON object) → dict; numbers become numbers."""
    if text is None:
        return None
    import json

    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as err:
            raise InvalidInput(f"--job-resources is not valid JSON: {err}") from None
        if not isinstance(value, dict):
            raise InvalidInput("--job-resources JSON must be an object")
        return value
    out: dict[str, object] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--job-resources expects KEY=VALUE pairs, got {pair!r}")
        try:
            out[key.strip().replace("-", "_")] = int(value)
        except ValueError:
            try:
                out[key.strip().replace("-", "_")] = float(value)
            except ValueError:
                out[key.strip().replace("-", "_")] = value.strip()
    return out
