"""What segmentation reads from the policies: dataset roles, field roles, levels.

The pipelines never name a dataset or a field: a dataset declares its `role`
(the profiles of people, or their behavioural events) and each field the
pipelines use declares its own `role` (which field is the event time, the
amount, the channel...). The enum levels are the policy's `values`, nowhere
else. The feature names an audience can produce follow from these alone, so the
policy loader checks level rules against them before any data is read.

Pure and free of data libraries: the loader imports it.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from gateway.policy.datasets import Dataset, FieldSpec

DatasetRole = Literal["profile", "events"]
PROFILE: DatasetRole = "profile"
EVENTS: DatasetRole = "events"
# A field role is the name of the column the pipelines give that field.
ProfileRole = Literal[
    "birth_date",
    "postal_code",
    "gender",
    "loyalty_tier",
    "first_name",
    "last_name",
    "street",
    "city",
]
EventRole = Literal[
    "event_type", "occurred_at", "amount", "currency", "channel", "device", "category"
]
FieldRole = ProfileRole | EventRole
ROLES_OF: Mapping[DatasetRole, tuple[str, ...]] = {
    PROFILE: get_args(ProfileRole),
    EVENTS: get_args(EventRole),
}
# The field type each role needs; enum roles take their levels from `values`.
ROLE_TYPES: Mapping[str, tuple[str, ...]] = {
    "birth_date": ("date",),
    "postal_code": ("postal_code",),
    "first_name": ("string",),
    "last_name": ("string",),
    "street": ("string",),
    "city": ("string",),
    "gender": ("enum",),
    "loyalty_tier": ("enum",),
    "event_type": ("enum",),
    "occurred_at": ("datetime",),
    "amount": ("number", "integer"),
    "currency": ("currency",),
    "channel": ("enum",),
    "device": ("enum",),
    "category": ("string", "enum"),
}
# Roles whose clear values the linkage encodings are made from (at ingestion,
# by the gateway: the pipelines only ever see the keyed encodings).
LINKAGE_ROLES = (
    "first_name",
    "last_name",
    "street",
    "city",
    "postal_code",
    "birth_date",
)
# Of those, the roles no segmentation feature reads.
LINKAGE_ONLY_ROLES = ("first_name", "last_name", "street", "city")
ENUM_ROLES = ("gender", "loyalty_tier", "event_type", "channel", "device")
# Event types the behavioural features give a meaning to.
PURCHASE = "purchase"
REFUND = "refund"
# The level a missing categorical value gets; also the share of events that
# did not say their channel or device.
UNKNOWN = "unknown"
# UTC hours [0, 6), [6, 12), [12, 18), [18, 24): the data carries no time zone
# per person, and metropolitan France is UTC+1/+2, close enough for quarters.
DAYPARTS = ("night", "morning", "afternoon", "evening")


def field_roles(dataset: "Dataset") -> dict[str, str]:
    """Map each role declared in a dataset to the field that plays it."""
    return {spec.role: name for name, spec in dataset.fields.items() if spec.role}


def role_field(dataset: "Dataset", role: str) -> "FieldSpec | None":
    """The field spec playing a role in a dataset, or None."""
    name = field_roles(dataset).get(role)
    return None if name is None else dataset.fields[name]


def audience_roles(
    datasets: Mapping[str, "Dataset"], names: tuple[str, ...]
) -> dict[str, str]:
    """Map each dataset role to the audience's dataset that has it.

    Unknown datasets and datasets without a role are left out; the policy
    checks make sure no role is taken twice.
    """
    roles: dict[str, str] = {}
    for name in names:
        dataset = datasets.get(name)
        if dataset is not None and dataset.role is not None:
            roles.setdefault(dataset.role, name)
    return roles


def enum_levels(
    datasets: Mapping[str, "Dataset"], names: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Each enum role's levels, as the audience's datasets declare them.

    A role no dataset declares has no levels (its column is all missing).
    """
    levels: dict[str, tuple[str, ...]] = dict.fromkeys(ENUM_ROLES, ())
    for role, name in audience_roles(datasets, names).items():
        for field_role in ROLES_OF[role]:
            spec = role_field(datasets[name], field_role)
            if field_role in levels and spec is not None and spec.values:
                levels[field_role] = spec.values
    return levels


def share_names(levels: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The share features, in column order, for the given enum levels.

    Channel and device have an "unknown" share for events that did not say,
    so that each family sums to 1 for an entity with events.
    """
    return (
        *(f"share_channel_{c}" for c in (*levels["channel"], UNKNOWN)),
        *(f"share_device_{d}" for d in (*levels["device"], UNKNOWN)),
        *(f"share_daypart_{p}" for p in DAYPARTS),
        "share_weekend",
    )


def rule_features(
    datasets: Mapping[str, "Dataset"], names: tuple[str, ...]
) -> tuple[str, ...]:
    """The numeric features a level rule of this audience may name.

    Only those the declared fields can feed: no events dataset, no
    behaviour; no channel field, no channel shares; no amount, no monetary
    figures.
    """
    events_name = audience_roles(datasets, names).get(EVENTS)
    if events_name is None:
        return ()
    declared = field_roles(datasets[events_name])
    levels = enum_levels(datasets, names)
    out = ["frequency", "n_events", "recency_days"]
    if "amount" in declared:
        out += ["monetary_total", "monetary_mean"]
    for family in ("channel", "device"):
        if family in declared:
            out += [f"share_{family}_{v}" for v in (*levels[family], UNKNOWN)]
    out += [f"share_daypart_{p}" for p in DAYPARTS]
    out.append("share_weekend")
    return tuple(out)


# Feature groups: the named sets of features a level of an audience clusters
# on. Each group lists the field roles that feed it (a group none of whose
# roles is declared produces nothing) and how a feature column is recognised
# as one of its own: by its base name (before "=" for one-hot levels) or by
# a prefix for share families. One place, so the policy check, the pipeline
# and the report cannot disagree on what "demographic" means.
FEATURE_GROUPS: Mapping[str, tuple[str, ...]] = {
    "demographic": ("birth_date", "gender", "loyalty_tier"),
    "geographic": ("postal_code",),
    "rfm": ("event_type", "occurred_at", "amount"),
    "channel": ("channel",),
    "device": ("device",),
    "time": ("occurred_at",),
    "category": ("category",),
}
_GROUP_NAMES: Mapping[str, str] = {
    "age_band": "demographic",
    "gender": "demographic",
    "loyalty_tier": "demographic",
    "region": "geographic",
    "recency_days": "rfm",
    "frequency": "rfm",
    "n_events": "rfm",
    "monetary_total": "rfm",
    "monetary_mean": "rfm",
    "share_weekend": "time",
}
_GROUP_PREFIXES: Mapping[str, str] = {
    "share_channel_": "channel",
    "share_device_": "device",
    "share_daypart_": "time",
    "share_category_": "category",
}
# The levels when an audience names none: the method our users read, a broad
# profile first, then purchase behaviour inside it, then preferences.
# (name, title, groups, method).
DEFAULT_LEVELS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("profile", "Broad profile", ("demographic", "geographic"), "cluster"),
    (
        "behaviour",
        "Purchase behaviour",
        ("rfm", "channel", "device", "time"),
        "cluster",
    ),
    ("preferences", "Preferences", ("category",), "cluster"),
)


def feature_group(column: str) -> str | None:
    """The group a feature column belongs to ("gender=female" → demographic)."""
    base = column.partition("=")[0]
    if base in _GROUP_NAMES:
        return _GROUP_NAMES[base]
    for prefix, group in _GROUP_PREFIXES.items():
        if base.startswith(prefix):
            return group
    return None


def producible_groups(
    datasets: Mapping[str, "Dataset"], names: tuple[str, ...]
) -> tuple[str, ...]:
    """The groups at least one declared field role of the audience can feed."""
    declared: set[str] = set()
    for role, name in audience_roles(datasets, names).items():
        declared |= {r for r in field_roles(datasets[name]) if r in ROLES_OF[role]}
    return tuple(
        group for group, roles in FEATURE_GROUPS.items() if declared & set(roles)
    )
