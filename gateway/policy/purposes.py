"""Purposes of processing: legal basis, retention, what a TC string must show.

Every record, consent event and audience names one; ingestion, consent and
retention read them here.
"""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from gateway.policy.constraints import (
    STRICT,
    PolicyName,
    PositiveInt,
    Problems,
    StrictBool,
    TcfPurpose,
    duplicates,
    raise_if,
)

Basis = Literal["consent", "legitimate_interest", "contract", "legal_obligation"]


class Purpose(BaseModel):
    """A purpose of processing, its legal basis and its retention."""

    model_config = STRICT

    name: PolicyName
    description: str
    basis: Basis
    retention_days: PositiveInt
    tcf_purposes: tuple[TcfPurpose, ...] = ()
    # Selling or sharing personal data in the CCPA/CPRA sense (sharing is for
    # cross-context behavioural advertising): a `Sec-GPC: 1` request objects
    # to every purpose so marked.
    sale_or_sharing: StrictBool = False

    @model_validator(mode="after")
    def _check_tcf(self) -> Self:
        problems: Problems = []
        if self.tcf_purposes and self.basis != "consent":
            problems.append((("tcf_purposes",), "only allowed for basis consent"))
        problems += duplicates(tuple(map(str, self.tcf_purposes)), ("tcf_purposes",))
        raise_if(problems)
        return self


class TcfPolicy(BaseModel):
    """The operator's place in the IAB TCF: its Global Vendor List id.

    A TC string proves consent only for a vendor it disclosed and gave vendor
    consent to; this is the vendor id those checks look for.
    """

    model_config = STRICT

    vendor_id: Annotated[int, Field(strict=True, ge=1, le=65535)]
