"""Give a batch's stored forms the pseudonyms their identifiers already go by.

`transform` pseudonymizes under the active key. After a rotation of the
pseudonym key, an identifier the data knows under an older key keeps that
pseudonym (`gateway.consent.pseudonyms`): an existing subject keeps its
subject id, hence its data key and its records, and consent recorded under
an older key is found.
"""

from collections.abc import Mapping, Sequence

from gateway.consent.identifiers import IdentifierKind
from gateway.consent.pseudonyms import PseudonymResolver
from gateway.ingest.transform import StoredForm


def settle(
    resolver: PseudonymResolver,
    kinds: Mapping[str, IdentifierKind],
    client_id: str,
    subject_key: str,
    forms: Sequence[StoredForm],
) -> tuple[list[StoredForm], list[tuple[str, ...]]]:
    """Forms under the pseudonyms their identifiers go by, one lookup for all.

    Returns:
        The forms (the same objects when the keyring has one pseudonym key),
        and per form the other pseudonyms of its identifiers that the data
        holds, for consent decisions to look at too.
    """
    if not resolver.rotated:
        return list(forms), [() for _ in forms]
    # Identifiers go to the vault as the very string that was pseudonymized.
    pairs = [
        (kinds[name].namespace(client_id), form.vault[name])
        for form in forms
        for name in form.identifiers
    ]
    resolved = iter(resolver.resolve_many(pairs))
    settled: list[StoredForm] = []
    aliases: list[tuple[str, ...]] = []
    for form in forms:
        identifiers: dict[str, str] = {}
        others: set[str] = set()
        for name in form.identifiers:
            found = next(resolved)
            identifiers[name] = found.pseudonym
            others.update(found.known)
        settled.append(
            form._replace(identifiers=identifiers, subject_id=identifiers[subject_key])
        )
        aliases.append(tuple(sorted(others - set(identifiers.values()))))
    return settled, aliases
