"""Generalize quasi-identifiers: the stored value names a group, not a person (pure).

A quasi-identifier (birth date, postal code) is kept exactly only in the vault;
the record carries the coarser value returned here.
"""

import re

_ISO_DATE = re.compile(r"([0-9]{4})-[0-9]{2}-[0-9]{2}")
_POSTAL_CODE = re.compile(r"[0-9A-Z]{2,10}")


def _year(value: str) -> str:
    # A normalized date (YYYY-MM-DD) or date-time (YYYY-MM-DDT...Z) starts the same.
    match = _ISO_DATE.match(value)
    if match is None:
        raise ValueError("rule 'year' expects an ISO date (YYYY-MM-DD)")
    return match[1]


def _prefix(value: str, length: int) -> str:
    if not _POSTAL_CODE.fullmatch(value) or len(value) < length:
        raise ValueError(f"rule 'prefix{length}' expects a normalized postal code")
    return value[:length]


def generalize(rule: str, normalized_value: str) -> str | None:
    """Return the generalized form of a normalized quasi-identifier.

    Rules:
        ``year``: ISO date ``YYYY-MM-DD`` → ``YYYY``.
        ``prefix2`` / ``prefix3``: the first 2 / 3 characters of a normalized
            postal code. In France ``prefix2`` is the département, except for
            Corsica, whose codes all start with ``20`` (2A and 2B are not
            written in postal codes): ``20`` then stands for the whole island,
            a coarser group, which is the safe direction. Overseas
            départements (``971``-``976``) share ``97``; use ``prefix3`` to
            tell them apart.
        ``suppress``: ``None``: the value is not kept in clear at all.

    Args:
        rule: One of ``year``, ``prefix2``, ``prefix3``, ``suppress``.
        normalized_value: The value as returned by the normalizer.

    Returns:
        The generalized value, or ``None`` for ``suppress``.

    Raises:
        ValueError: An unknown rule, or a value the rule cannot apply to (the
            message names the rule, never the value).
    """
    match rule:
        case "year":
            return _year(normalized_value)
        case "prefix2":
            return _prefix(normalized_value, 2)
        case "prefix3":
            return _prefix(normalized_value, 3)
        case "suppress":
            return None
    raise ValueError(f"unknown generalization rule {rule!r}")
