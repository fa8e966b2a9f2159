"""Find a data subject from one of its identifiers, by pseudonyms only.

An identifier in clear becomes the pseudonyms it was stored under: one per
pseudonym key in the keyring (older keys after a rotation), per partner for
a partner-scoped identifier, and per phone region the partners normalise
with. Those pseudonyms lead to the subjects (a dataset's subject key) whose
records carry them, and the records lead to every other identifier they
were stored with.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError
from gateway.fields.normalize import FieldInvalid, normalize_value
from gateway.storage import subjects_repo
from gateway.storage.models import RecordRow

MAX_IDENTIFIER_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Located:
    """Everything that points at one data subject, as pseudonyms and rows."""

    identifier_type: str
    subjects: tuple[str, ...]
    identifier_keys: tuple[str, ...]
    records: tuple[RecordRow, ...]

    @property
    def pseudonyms(self) -> tuple[str, ...]:
        """Every pseudonym of the subject: its subject ids and identifier keys."""
        return tuple(sorted(set(self.subjects) | set(self.identifier_keys)))


def request_pseudonyms(
    session: Session, ctx: GatewayContext, identifier_type: str, identifier: str
) -> set[str]:
    """The pseudonyms an identifier in clear may have been stored under.

    Raises:
        InvalidRequestError: Unknown identifier type, or a value that is not
            one (the message never quotes it).
    """
    kind = ctx.identifier_kinds.get(identifier_type)
    if kind is None:
        known = ", ".join(sorted(ctx.identifier_kinds))
        raise InvalidRequestError(f"identifier_type: unknown (known: {known})")
    if not isinstance(identifier, str) or not identifier.strip():
        raise InvalidRequestError("identifier: required, as a non-empty string")
    if len(identifier) > MAX_IDENTIFIER_LENGTH:
        raise InvalidRequestError("identifier: too long")
    partners = subjects_repo.partners(session)
    regions = {ctx.settings.default_region, *(p.default_region for p in partners)}
    values: set[str] = set()
    problem: FieldInvalid | None = None
    for region in sorted(regions):
        try:
            values.add(
                str(
                    normalize_value(
                        kind.field_type,
                        identifier,
                        max_length=kind.max_length,
                        region=region,
                    )
                )
            )
        except FieldInvalid as exc:
            problem = exc
    if not values:
        message = problem.message if problem else "not a valid identifier"
        raise InvalidRequestError(f"identifier: {message}")
    namespaces = (
        {kind.namespace(partner.id) for partner in partners}
        if kind.scope == "partner"
        else {kind.namespace("")}
    )
    return {
        pseudonymize(namespace, value)
        for pseudonymize in ctx.pseudonymizers
        for namespace in namespaces
        for value in values
    }


def locate(
    session: Session, ctx: GatewayContext, identifier_type: str, identifier: str
) -> Located:
    """Every subject, record and identifier pseudonym the identifier leads to."""
    pseudonyms = request_pseudonyms(session, ctx, identifier_type, identifier)
    subjects = subjects_repo.subjects_with_identifier(
        session, identifier_type, pseudonyms
    )
    # A subject whose records are gone (retention) may still hold a data key.
    subjects |= set(subjects_repo.subject_key_rows(session, pseudonyms))
    records = subjects_repo.records_of(session, subjects)
    keys = set(pseudonyms)
    for record in records:
        keys.update(str(value) for value in record.identifiers.values())
    return Located(
        identifier_type=identifier_type,
        subjects=tuple(sorted(subjects)),
        identifier_keys=tuple(sorted(keys)),
        records=tuple(records),
    )
