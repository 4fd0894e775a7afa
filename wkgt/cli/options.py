"""Typer options shared by the commands (as in the webknossos CLI: annotated aliases)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, TypeVar

import typer

from ..errors import InvalidInput
from ..planner.choices import DEFAULT_SEED, ModelKind
from ..planner.vectors import Vec3f, parse_floats, parse_ints, parse_mag

if TYPE_CHECKING:
    from ..planner.placement import Region
    from ..planner.plan import PlanOptions

T = TypeVar("T")


def non_empty(param: typer.CallbackParam, value: T) -> T:
    """Option callback of names (layers, organizations, folders…): an empty or blank name is an
    error, never the default."""
    for text in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(text, str) and not text.strip():
            raise InvalidInput(f"{param.opts[0]} is empty")
    return () if value is None and param.multiple else value  # type: ignore[return-value]  # typer converts () back to None


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
        "--object-size", metavar="NM", help="Instances: diameter of the smallest object (nm).", rich_help_panel=PLANNING,
        show_default=False,
    ),
]
MinVoxelSizeOption = Annotated[
    Optional[float],
    typer.Option(
        "--min-voxel-size", metavar="NM", help="Finest useful voxel size (nm); replaces the 8 nm rule.", rich_help_panel=PLANNING,
        show_default=False,
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
MarginOption = Annotated[
    int,
    typer.Option("--margin-voxels", metavar="VOXELS", help="Keep this many mag-1 voxels from the region's border (default 0).", rich_help_panel=PLANNING, show_default=False),
]
MarginAliasOption = Annotated[Optional[int], typer.Option("--margin", hidden=True)]
"""The old name of ``--margin-voxels`` (lengths carry their unit in the name: ``--gap-nm``, ``--margin-voxels``)."""
SeedOption = Annotated[int, typer.Option(help="Random seed: same inputs and seed give the same boxes.", rich_help_panel=PLANNING)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.", rich_help_panel=OUTPUT)]
SaveOption = Annotated[
    Optional[Path],
    typer.Option(metavar="FILE", help="Also save the plan as JSON to FILE (create-boxes --plan FILE writes it as it is).", rich_help_panel=OUTPUT, show_default=False),
]
CsvOption = Annotated[
    Optional[Path],
    typer.Option(
        "--csv", metavar="FILE", help="Also write the boxes as CSV (name, top-left, size, centre, URL) for spreadsheets and task imports.",
        rich_help_panel=OUTPUT, show_default=False,
    ),
]
PlanLayerOption = Annotated[
    Optional[str], typer.Option("--layer", help="Layer to plan for (default: first color layer).", show_default=False, callback=non_empty)
]
TrainLayerOption = Annotated[
    Optional[str], typer.Option("--layer", help="Image layer to train on (default: first color layer).", show_default=False, callback=non_empty)
]
GroundTruthLayerOption = Annotated[
    Optional[str],
    typer.Option("--ground-truth-layer", metavar="NAME", help="Volume layer holding the ground truth (default: the first).", show_default=False, callback=non_empty),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress on stderr (shown only on a terminal, never with --json).", rich_help_panel=OUTPUT)
]


def aliased(value: T, alias: T | None, *, default: T, name: str, alias_name: str) -> T:
    """The value of an option given under its ``name`` or its old ``alias_name``; both, with
    different values, is an error."""
    if alias is None:
        return value
    if value != default and value != alias:
        raise InvalidInput(f"{alias_name} is the old name of {name}: give one of them")
    return alias


def load_reviewed_plan(path: Path | None) -> object:
    """``--plan FILE``: the reviewed plan saved by ``--save`` (or ``--json`` output), or None."""
    if path is None:
        return None
    from ..planner.reviewed import ReviewedPlan

    try:
        return ReviewedPlan.from_json(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"--plan {path}: not a wkgt plan (not UTF-8 text)") from None
    except InvalidInput as err:
        raise InvalidInput(f"--plan {path}: {err}") from None
    except OSError as err:
        raise InvalidInput(f"--plan {path}: cannot read it ({err.strerror or err})") from None


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
    rules: str = "guide"
    min_object_voxels: int | None = None
    min_box_voxels: int | None = None

    def parse(self) -> PlanOptions:
        """Validate the options as typed and turn them into the planner's choices."""
        from ..planner.plan import PlanOptions

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
            **parse_rule_options(self.rules, self.min_object_voxels, self.min_box_voxels),
        ).validate()


MAX_NAME_LENGTH = 200


def check_name(name: str | None) -> str | None:
    """An annotation name: at most :data:`MAX_NAME_LENGTH` characters, no control characters."""
    if name is None:
        return None
    if not name.strip():
        raise InvalidInput("--name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"--name is {len(name):,} characters long; at most {MAX_NAME_LENGTH} fit")
    if any(not c.isprintable() for c in name):
        raise InvalidInput("--name contains a control character (e.g. a line break)")
    return name


def parse_rule_options(rules: str, min_object_voxels: int | None, min_box_voxels: int | None = None) -> dict[str, object]:
    """The rule-set options, checked: a known set, positive numbers."""
    from ..planner.rules import rule_set

    rule_set(rules)
    for name, value in (("--min-object-voxels", min_object_voxels), ("--min-box-voxels", min_box_voxels)):
        if value is not None and value < 1:
            raise_invalid(f"{name} must be at least 1, got {value}")
    return {"rules": rules, "min_object_voxels": min_object_voxels, "min_box_voxels": min_box_voxels}


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
    typer.Option(
        metavar="ORG", help="Organization of a dataset given by name, when the name is ambiguous.", rich_help_panel=SERVER, show_default=False,
        callback=non_empty,
    ),
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


RULES = "Rule set options"
RulesOption = Annotated[
    str,
    typer.Option(
        "--rules",
        metavar="guide|webknossos",
        help="Rule set: the guide's worked examples (about 1 µm boxes, ≥ 250,000 voxels) or WEBKNOSSOS's docs "
        "(multiples of the minimum box, ≥ 230,000 voxels).",
        rich_help_panel=RULES,
    ),
]
MinObjectVoxelsOption = Annotated[
    Optional[int],
    typer.Option(
        "--min-object-voxels", metavar="N", help="Instances: voxels an object still spans in-plane at the training mag (default 24).",
        rich_help_panel=RULES, show_default=False,
    ),
]
MinBoxVoxelsOption = Annotated[
    Optional[int],
    typer.Option(
        "--min-box-voxels", metavar="N", help="Voxels a box holds at least (default: the rule set's 250,000 or 230,000).",
        rich_help_panel=RULES, show_default=False,
    ),
]
FALLBACK_FLAG = "--fallback-segmentation"


def optional_value(argv: list[str], flag: str = FALLBACK_FLAG) -> list[str]:
    """``--fallback-segmentation`` takes an optional value (typer has no such option): followed by
    a word it becomes ``--fallback-segmentation=WORD``, alone ``--fallback-segmentation=`` (the
    dataset's only segmentation layer). The commands have no positional arguments to confuse."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == flag:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if following is not None and not following.startswith("-"):
                out.append(f"{flag}={following}")
                i += 2
                continue
            out.append(f"{flag}=")
        else:
            out.append(argv[i])
        i += 1
    return out
