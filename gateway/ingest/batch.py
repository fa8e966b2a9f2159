"""What a partner's batch is and may be, apart from how it is processed.

The HTTP edge checks the same rules on the body's shape before it builds a
`SubmitRecords`, and asks for the dataset before it reads the body; both read
them here so the edge and the service never disagree on what a batch may be.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.policy.datasets import Dataset
from gateway.policy.purposes import Purpose
from gateway.storage.models import ClientRow

# The shape of a policy purpose name; anything else cannot name one.
PURPOSE_NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
PURPOSE_MAX = 64


@dataclass(frozen=True, slots=True)
class SubmitRecords:
    """A partner's batch for one dataset and declared purpose.

    Records are kept as sent: each is judged on its own (`validate_record`),
    so one that is not even an object is rejected in its result and never
    fails its batch. `idempotency_key`: the request's Idempotency-Key; `gpc`:
    it came with `Sec-GPC: 1`.
    """

    dataset: str
    purpose: str
    records: Sequence[Any]
    idempotency_key: str | None = None
    gpc: bool = False

    def body(self) -> dict[str, Any]:
        """The request body the batch was sent as (the idempotency digest's input)."""
        return {"purpose": self.purpose, "records": list(self.records)}


def check_batch(ctx: GatewayContext, batch: SubmitRecords) -> None:
    """The batch's own rules (the HTTP edge checks the same on the body's shape)."""
    if len(batch.purpose) > PURPOSE_MAX or not PURPOSE_NAME.fullmatch(batch.purpose):
        raise InvalidRequestError("purpose: required, a purpose name (a-z 0-9 _ .)")
    if not batch.records:
        raise InvalidRequestError("records: required, as a non-empty list")
    limit = ctx.settings.max_batch_records
    if len(batch.records) > limit:
        raise InvalidRequestError(f"records: at most {limit} per request")


def dataset_for(ctx: GatewayContext, client: ClientRow, name: str) -> Dataset:
    """The dataset, if it exists and this client may submit it.

    Raises:
        NotFoundError: No such dataset.
        PermissionDeniedError: The client may not submit it.
    """
    dataset = ctx.policies.datasets.get(name)
    if dataset is None:
        raise NotFoundError("no such dataset")
    if name not in client.datasets:
        raise PermissionDeniedError("this client may not submit this dataset")
    return dataset


def allowed_purpose(
    ctx: GatewayContext, client: ClientRow, dataset: Dataset, purpose: str
) -> Purpose | None:
    """The purpose, if both the dataset and the client allow it; else None."""
    if purpose not in dataset.purposes or purpose not in client.purposes:
        return None
    return ctx.policies.purposes.get(purpose)
