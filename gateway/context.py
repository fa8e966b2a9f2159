"""What a running gateway holds: settings, policies, keys, database, clock."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.checkpoints import CheckpointSigner
from gateway.consent.identifiers import IdentifierKind, identifier_kinds
from gateway.crypto.keyring import KeyPurpose, Keyring
from gateway.crypto.pseudonym import Pseudonymizer
from gateway.linkage.pool import EncodingPool
from gateway.policy.models import PolicySet
from gateway.settings import Settings

if TYPE_CHECKING:  # spaCy and Presidio load only when detection is first used
    from gateway.pii.analyzer import PiiAnalyzer


def utc_now() -> datetime:
    """The wall clock, in UTC: the one place the gateway reads it."""
    return datetime.now(UTC)


@dataclass
class GatewayContext:
    """Built once per process at start-up and handed to every service."""

    settings: Settings
    policies: PolicySet
    keyring: Keyring
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utc_now)

    @cached_property
    def pseudonymizer(self) -> Pseudonymizer:
        """Keyed HMAC pseudonyms under the active pseudonymization key."""
        return Pseudonymizer(self.keyring.active(KeyPurpose.PSEUDONYM))

    @cached_property
    def pseudonymizers(self) -> tuple[Pseudonymizer, ...]:
        """One per pseudonym key of the keyring: the active one, then oldest first.

        After a rotation, data stored earlier goes by pseudonyms under older
        keys (an HMAC cannot be re-keyed without the clear value): whoever
        looks an identifier up in clear tries each of these.
        """
        older = sorted(
            (
                key
                for key in self.keyring.keys
                if key.purpose == KeyPurpose.PSEUDONYM and not key.active
            ),
            key=lambda key: key.version,
        )
        return (self.pseudonymizer, *(Pseudonymizer(key) for key in older))

    @cached_property
    def checkpoint_signer(self) -> CheckpointSigner:
        """Signs the audit log's tree heads with the active audit key."""
        return CheckpointSigner.of(self.keyring)

    @cached_property
    def linkage(self) -> EncodingPool:
        """Linkage encodings (CLK, block keys) under the active linkage key."""
        return EncodingPool(
            self.keyring.active(KeyPurpose.LINKAGE), self.settings.linkage_workers
        )

    @cached_property
    def pii(self) -> "PiiAnalyzer":
        """The process's PII analyzer, built from the policies on first use."""
        from gateway.pii.analyzer import load_analyzer  # noqa: PLC0415 - heavy

        return load_analyzer(self.policies.pii)

    @cached_property
    def identifier_kinds(self) -> dict[str, IdentifierKind]:
        """Identifier fields by name, from the policies."""
        return identifier_kinds(self.policies)

    def dispose(self) -> None:
        """Close every pooled connection (both engines on SQLite) and helpers."""
        if "linkage" in self.__dict__:  # only if it was ever used
            self.linkage.close()
        self.engine.dispose()
        read_bind = self.read_sessions.kw.get("bind")
        if read_bind is not None and read_bind is not self.engine:
            read_bind.dispose()
