"""Typer options shared by the commands (as in the webknossos CLI: annotated aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import attrs
import typer

from ..errors import InvalidInput
from ..planner.placement import Region
from ..planner.plan import DEFAULT_SEED, PlanOptions
from ..planner.rules import ModelKind
from ..planner.vectors import Vec3f, parse_floats, parse_ints, parse_mag

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


@attrs.frozen
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
