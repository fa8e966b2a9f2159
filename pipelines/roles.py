"""From frames keyed by dataset to frames keyed by role, columns named by role.

The policies say which of an audience's datasets holds people's profiles and
which their behavioural events, and which field plays which part (see
`gateway.policy.segmentation`). Here each dataset's frame becomes the frame of
its role, its role fields renamed to the role names and the roles it does not
declare added as missing, so that linkage, quality and features never name a
dataset or a field. Pure: frames in, frames out.
"""

from collections.abc import Mapping

import polars as pl

from gateway.policy.audiences import Audience
from gateway.policy.models import PolicySet
from gateway.policy.segmentation import (
    LINKAGE_ONLY_ROLES,
    PROFILE,
    ROLES_OF,
    audience_roles,
    field_roles,
)
from pipelines.extract import stored_columns

# Identifier types the linkage model compares (equal / different), by the
# comparison's name in `pipelines.fs_link`.
_MODEL_IDENTIFIER_TYPES = {"email": "email_key", "phone": "phone_key"}


def model_identifiers(policies: PolicySet, audience: Audience) -> dict[str, str]:
    """The profile frame's identifier columns the linkage model compares.

    ``{"email_key": "<field>_key", ...}`` for the first e-mail and phone
    identifier of the audience's profile dataset.
    """
    roles = audience_roles(policies.datasets, audience.datasets)
    name = roles.get(PROFILE)
    if name is None:
        return {}
    dataset = policies.datasets[name]
    out: dict[str, str] = {}
    for field, spec in dataset.fields.items():
        comparison = _MODEL_IDENTIFIER_TYPES.get(spec.type)
        if (
            spec.field_class == "identifier"
            and comparison is not None
            and field != dataset.subject_key
        ):
            out.setdefault(comparison, f"{field}_key")
    return out


def by_role(
    frames: Mapping[str, pl.DataFrame], policies: PolicySet, audience: Audience
) -> dict[str, pl.DataFrame]:
    """The audience's frames keyed by dataset role, with role-named columns.

    Columns that are not data fields (ids, identifier pseudonyms, linkage
    encodings) are kept as they are; data fields without a role are dropped,
    since no stage reads them. Datasets without a role are left out.

    Args:
        frames: Extracted frames, keyed by dataset name.
        policies: The policies the frames were extracted under.
        audience: The audience being segmented.

    Returns:
        ``{"profile": ..., "events": ...}`` for the roles the audience has.
    """
    out: dict[str, pl.DataFrame] = {}
    for role, name in audience_roles(policies.datasets, audience.datasets).items():
        frame = frames.get(name)
        if frame is None:
            continue
        dataset = policies.datasets[name]
        data = set(stored_columns(dataset))
        renamed = {field: r for r, field in field_roles(dataset).items()}
        kept = [
            pl.col(column).alias(renamed.get(column, column))
            for column in frame.columns
            if column not in data or column in renamed
        ]
        present = {renamed[c] for c in frame.columns if c in renamed}
        # Linkage-only roles are never frame columns: their values reach
        # the pipelines only as the encodings.
        missing = [
            pl.lit(None).alias(r)
            for r in ROLES_OF[role]
            if r not in present and r not in LINKAGE_ONLY_ROLES
        ]
        out[role] = frame.select(*kept, *missing)
    return out
