"""What every policy model is built from: strict scalars, and problems with places.

A check that spans several fields reports each problem with its location in
the model (`PolicyConstraintError`), so the loader can point at the YAML line
that holds it. Scalars are strict: a quoted "395" or a "yes" in a reviewed
policy file is a typo, not something to coerce silently.
"""

from collections import Counter
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]

PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
TcfPurpose = Annotated[int, Field(strict=True, ge=1, le=11)]
StrictBool = Annotated[bool, Field(strict=True)]

# Every policy model: an unknown key is an error, a loaded policy never changes.
STRICT = ConfigDict(extra="forbid", frozen=True)


class PolicyConstraintError(ValueError):
    """One or more cross-field rules broken; each problem has its own location."""

    def __init__(self, problems: Problems) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in problems))


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(top)"


def raise_if(problems: Problems) -> None:
    """Raise every problem found at once, so a policy author fixes them in one go."""
    if problems:
        raise PolicyConstraintError(problems)


def duplicates(items: tuple[str, ...], loc: Loc) -> Problems:
    """A problem at each repeat of an item already listed (the first stays)."""
    counts = Counter(items)
    return [
        ((*loc, index), f"duplicate '{item}'")
        for index, item in enumerate(items)
        if counts[item] > 1 and items.index(item) != index
    ]
