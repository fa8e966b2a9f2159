"""assignment: the fitted segmentation a later run assigns people with (pure).

A run that finds neither a drifted feature nor a changed level policy does
not refit its clusterings: it places every person with the previous run's
fitted segmentation, so a person whose features did not move stays in the
segment they were in, and one whose features moved goes to the segment
now nearest to them. What that takes is aggregates only, no row of anyone:

- per cluster level, the columns it kept after variable selection, the
  standard scaling (mean, scale) and principal components it projected
  them on (`Projection`);
- per segment, its centroid in that projection, with its parent: a level
  below the first is assigned inside each parent segment, as it was fitted.

Every model family assigns by the same rule: nearest centroid in the
level's projection. That is how the fit itself labelled every row
(`pipelines.cluster_models`: Ward and HDBSCAN cannot place new points, so
the fit already assigned the population to their clusters' centroids), so
assigning the fitting data again reproduces its labels. Rules levels and
scores are no fitted model: they are recomputed every run.

No centroid may stand for fewer people than the floor (a mean of a handful
of people is an aggregate under it): the fit already dissolves such
clusters into their nearest others (`pipelines.cluster_models`), and
`stored_model` still leaves out any centroid of fewer members (counted in
``withheld_centroids``); those people then go to the nearest stored
centroid of the same parent, much as the floor merges a segment.

The model is stored as JSON in the run's summary (``assignment_model``) and
read back from the audience's previous finished run. A `fingerprint` of
the level definitions it was fitted under, and the feature columns, must
match the current run's, or the run refits (`refit_reason`).
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import pairwise_distances_argmin

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
MODEL_VERSION = 1
ASSIGNED = "assigned"
REFIT = "refit"
NO_MODEL = "no previous model"
POLICY_CHANGED = "policy changed"


@dataclass(frozen=True)
class Projection:
    """Standard scaling, then principal components, of a level's kept columns.

    Attributes:
        columns: The columns the level kept, in order.
        mean: Their means at fit.
        scale: Their standard deviations at fit.
        pca_mean: The scaled columns' means the components are centred on.
        components: One row per kept principal component.
    """

    columns: tuple[str, ...]
    mean: Floats
    scale: Floats
    pca_mean: Floats
    components: Floats

    def project(self, values: Floats, columns: Sequence[str]) -> Floats:
        """Project rows of `values` (named by `columns`) into the level's space.

        Raises:
            ValueError: A column of the projection is not in `columns`.
        """
        names = list(columns)
        missing = [name for name in self.columns if name not in names]
        if missing:
            raise ValueError(f"the projection needs columns {missing}")
        # The fancy index copies: the scaling below works in place on the copy.
        picked = values[:, [names.index(name) for name in self.columns]]
        picked -= self.mean
        picked /= self.scale
        return self.rotate(picked)

    def rotate(self, scaled: Floats) -> Floats:
        """Project already-scaled rows; `scaled` is centred in place."""
        scaled -= self.pca_mean
        return scaled @ self.components.T

    def as_dict(self) -> dict[str, Any]:
        """Return the projection as JSON values."""
        return {
            "columns": list(self.columns),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "pca_mean": self.pca_mean.tolist(),
            "components": self.components.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Projection":
        """Rebuild a projection stored by `as_dict`."""
        columns = tuple(str(c) for c in data["columns"])
        components = np.asarray(data["components"], dtype=np.float64)
        vectors = [
            np.asarray(data[key], dtype=np.float64)
            for key in ("mean", "scale", "pca_mean")
        ]
        shape = (len(columns),)
        if any(v.shape != shape for v in vectors) or components.ndim != 2:
            raise ValueError("a stored projection has inconsistent shapes")
        if components.shape[1] != len(columns):
            raise ValueError("a stored projection has inconsistent shapes")
        return cls(columns, *vectors, components)


@dataclass(frozen=True)
class Centre:
    """One fitted segment: its centroid in its level's projection, and parent."""

    segment_id: str
    parent_id: str | None
    centroid: tuple[float, ...]
    method: str
    size: int  # members at fit: decides whether the centroid may be stored
    stability: float | None = None
    silhouette: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the centre as JSON values (its size stays out)."""
        return {
            "segment_id": self.segment_id,
            "parent_id": self.parent_id,
            "centroid": list(self.centroid),
            "method": self.method,
            "stability": self.stability,
            "silhouette": self.silhouette,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Centre":
        """Rebuild a centre stored by `as_dict`."""
        parent = data["parent_id"]
        return cls(
            str(data["segment_id"]),
            None if parent is None else str(parent),
            tuple(float(v) for v in data["centroid"]),
            str(data["method"]),
            0,
            _number(data.get("stability")),
            _number(data.get("silhouette")),
        )


@dataclass(frozen=True)
class LevelModel:
    """A fitted cluster level: its projection and its segments' centres.

    Centres are grouped by parent (None at the first level) and, within a
    parent, in the order of the fit's numbering (largest first), which
    breaks an exact tie between two centroids as the fit did.
    """

    projection: Projection
    centres: tuple[Centre, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the level as JSON values."""
        return {
            "projection": self.projection.as_dict(),
            "centres": [c.as_dict() for c in self.centres],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LevelModel":
        """Rebuild a level stored by `as_dict`."""
        projection = Projection.from_dict(data["projection"])
        centres = tuple(Centre.from_dict(c) for c in data["centres"])
        width = len(projection.components)
        if any(len(c.centroid) != width for c in centres):
            raise ValueError("a stored centroid does not match its projection")
        return cls(projection, centres)


@dataclass(frozen=True)
class SegmentationModel:
    """What a later run needs to assign people without refitting.

    Attributes:
        fingerprint: `fingerprint` of the level definitions at fit.
        columns: Every feature column of the fitting run, in order.
        levels: Policy level name -> its fitted cluster level; a cluster
            level that is absent was skipped at fit.
        metrics: The fit's segmentation metrics (model choice, candidates,
            level reports), reported again by runs that assign with it.
        fitted_run_id: The run that fitted it.
        withheld: Centroids left out for holding fewer than the floor.
    """

    fingerprint: str
    columns: tuple[str, ...]
    levels: Mapping[str, LevelModel]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    fitted_run_id: str | None = None
    withheld: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the model as JSON values, for the run's summary."""
        return {
            "version": MODEL_VERSION,
            "fingerprint": self.fingerprint,
            "fitted_run_id": self.fitted_run_id,
            "columns": list(self.columns),
            "levels": {name: lv.as_dict() for name, lv in self.levels.items()},
            "metrics": dict(self.metrics),
            "withheld_centroids": self.withheld,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SegmentationModel":
        """Rebuild a model stored by `as_dict`.

        Raises:
            ValueError: Another version, or an inconsistent model.
        """
        if data.get("version") != MODEL_VERSION:
            raise ValueError("the stored segmentation model has another version")
        try:
            return cls(
                str(data["fingerprint"]),
                tuple(str(c) for c in data["columns"]),
                {
                    str(name): LevelModel.from_dict(level)
                    for name, level in data["levels"].items()
                },
                dict(data["metrics"]),
                data.get("fitted_run_id"),
                int(data.get("withheld_centroids", 0)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("the stored segmentation model is incomplete") from exc


def read_model(data: object) -> SegmentationModel | None:
    """The model a previous run stored, or None if it stored none usable."""
    if not isinstance(data, Mapping):
        return None
    try:
        return SegmentationModel.from_dict(data)
    except ValueError:
        return None


def fingerprint(definition: Mapping[str, Any]) -> str:
    """A digest of what a segmentation is fitted under (levels, k ranges...)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def stored_model(
    fits: Mapping[str, LevelModel],
    metrics: Mapping[str, Any],
    *,
    definition: Mapping[str, Any],
    floor: int,
    run_id: str,
) -> SegmentationModel:
    """The model to store from a fit: centroids of `floor` members or more."""
    levels = {}
    withheld = 0
    for name, level in fits.items():
        kept = tuple(c for c in level.centres if c.size >= floor)
        withheld += len(level.centres) - len(kept)
        if kept:
            levels[name] = LevelModel(level.projection, kept)
    return SegmentationModel(
        fingerprint(definition),
        tuple(metrics["columns"]),
        levels,
        {key: value for key, value in metrics.items() if key != "columns"},
        run_id,
        withheld,
    )


def refit_reason(
    model: SegmentationModel | None,
    definition: Mapping[str, Any],
    columns: Sequence[str],
    drifted: Sequence[str] = (),
    drifted_levels: Sequence[int] = (),
) -> str | None:
    """Why this run must refit its segmentation; None when it may assign.

    Args:
        model: The previous run's model, None when it left none.
        definition: This run's level definitions (`fingerprint` input).
        columns: This run's feature columns, in matrix order.
        drifted: Features whose PSI against the previous run crossed the
            policy's threshold.
        drifted_levels: Levels whose segment sizes drifted in the previous
            run (measured after it assigned: its next run refits).
    """
    if model is None:
        return NO_MODEL
    if model.fingerprint != fingerprint(definition):
        return POLICY_CHANGED
    if list(model.columns) != list(columns):
        missing = [c for c in model.columns if c not in columns]
        new = [c for c in columns if c not in model.columns]
        return f"feature columns changed: missing {missing}, new {new}"
    if drifted:
        return f"features drifted: {sorted(drifted)}"
    if drifted_levels:
        return (
            f"segment sizes drifted in the previous run: levels {list(drifted_levels)}"
        )
    return None


def assign_level(
    level: LevelModel,
    values: Floats,
    columns: Sequence[str],
    above: tuple[Ints, Sequence[str]] | None = None,
) -> tuple[Ints, list[Centre]]:
    """Put each row in its nearest centre, inside its parent segment.

    Args:
        level: The fitted level.
        values: Feature rows (not modified).
        columns: Their column names.
        above: The level above: a parent index per row (-1 for none) and
            the parent ids; None for a first level.

    Returns:
        An index into the returned centres per row (-1 for none) and the
        centres that received members, in their stored order.
    """
    points = level.projection.project(values, columns)
    codes = np.full(len(values), -1, dtype=np.int64)
    kept: list[Centre] = []
    groups: dict[str | None, list[Centre]] = {}
    for centre in level.centres:
        groups.setdefault(centre.parent_id, []).append(centre)
    for parent, centres in groups.items():
        if parent is None:
            rows = np.arange(len(values))
        elif above is None or parent not in above[1]:
            continue  # its parent has no segment this run
        else:
            rows = np.flatnonzero(above[0] == list(above[1]).index(parent))
        if not len(rows):
            continue
        matrix = np.asarray([c.centroid for c in centres], dtype=np.float64)
        nearest = pairwise_distances_argmin(points[rows], matrix)
        used = np.unique(nearest)
        # A centre nobody is nearest to yields no empty segment.
        renumber = np.full(len(centres), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used)) + len(kept)
        codes[rows] = renumber[nearest]
        kept.extend(centres[int(i)] for i in used)
    return codes, kept


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
