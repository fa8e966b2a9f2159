"""Which pseudonym an identifier goes by, across rotations of the pseudonym key.

A pseudonym is an HMAC of the identifier: it cannot be moved to a new key
without the identifier in clear, and consent events never keep it in clear.
So an identifier the data already knows under an older key keeps going by
that pseudonym: its consent history, its subject's data key and records stay
together, and the pipelines and pull-time checks, which see pseudonyms only,
keep joining them. An identifier seen for the first time gets the active
key's pseudonym: new people are only ever stored under the new key.

"Known" means a consent event or a subject's data key carries the
pseudonym (both indexed). Record identifiers that are neither are moved to
the active key by the rotation itself (`gateway.keys.rekey`), from the vault.
With a single pseudonym key nothing is looked up: rotation costs nothing
until it happens.
"""

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.crypto.pseudonym import Pseudonymizer
from gateway.errors import KeyringError
from gateway.storage import pseudonyms_repo

Known = Callable[[Iterable[str]], set[str]]


@dataclass(frozen=True, slots=True)
class Resolved:
    """An identifier's pseudonym, and every pseudonym of it the data holds."""

    pseudonym: str
    known: tuple[str, ...] = ()


def choose(candidates: Sequence[str], known: AbstractSet[str]) -> str:
    """The pseudonym to use among an identifier's pseudonyms under every key.

    Args:
        candidates: Under the active key first, then older keys, oldest first.
        known: The candidates the data already holds.

    Returns:
        The active key's if the data knows it (the identifier was first seen
        after the rotation), else the oldest known one, else the active one.
    """
    if candidates[0] in known:
        return candidates[0]
    return next((c for c in candidates[1:] if c in known), candidates[0])


class PseudonymResolver:
    """Resolves identifiers in clear to the pseudonyms they go by, in batches."""

    def __init__(self, pseudonymizers: Sequence[Pseudonymizer], known: Known) -> None:
        if not pseudonymizers:
            raise KeyringError("at least the active pseudonym key is needed")
        self._pseudonymizers = tuple(pseudonymizers)
        self._known = known
        self._cache: dict[tuple[str, str], Resolved] = {}

    @property
    def rotated(self) -> bool:
        """Whether there are older keys to look under."""
        return len(self._pseudonymizers) > 1

    def resolve_many(self, pairs: Sequence[tuple[str, str]]) -> list[Resolved]:
        """Resolve (namespace, normalised value) pairs, with one lookup for all."""
        if not self.rotated:
            active = self._pseudonymizers[0]
            return [Resolved(active(namespace, value)) for namespace, value in pairs]
        todo = sorted({pair for pair in pairs if pair not in self._cache})
        candidates = [
            tuple(pseudonymize(*pair) for pseudonymize in self._pseudonymizers)
            for pair in todo
        ]
        found = self._known(c for each in candidates for c in each) if todo else set()
        for pair, each in zip(todo, candidates, strict=True):
            self._cache[pair] = Resolved(
                choose(each, found), tuple(c for c in each if c in found)
            )
        return [self._cache[pair] for pair in pairs]

    def __call__(self, namespace: str, value: str) -> str:
        """The pseudonym one identifier goes by (a lookup per new identifier)."""
        return self.resolve_many([(namespace, value)])[0].pseudonym


def resolver(
    session: Session, pseudonymizers: Sequence[Pseudonymizer]
) -> PseudonymResolver:
    """A resolver that looks pseudonyms up in the session's database."""
    return PseudonymResolver(
        pseudonymizers, lambda keys: pseudonyms_repo.known(session, keys)
    )
