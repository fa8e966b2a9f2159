"""FEBRL records through the gateway's real ingestion, extract and linkage code.

Used by bench/dedupe.py: a fresh gateway (throwaway SQLite database, fresh
keyring, so a fresh linkage key) per call; a partner; a segmentation grant
per record; the records ingested by `gateway.ingest.service.ingest` (the
function behind POST /v1/datasets/customers/records: validation,
normalization, pseudonyms, vault, linkage encodings, audit); then the
stored, pseudonymous records read back by `pipelines.extract` and linked by
`pipelines.linking.link_records`, exactly as `gateway pipeline run` does.

FEBRL has no e-mail or phone: its `soc_sec_id` stands in for an exact
identifier, sent as the e-mail ``ssn<digits>@febrl.example`` (so it is
pseudonymized by keyed HMAC like any e-mail).
"""

import re
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from benchctx import bench_context, bench_partner

from gateway.consent import service as consent_service
from gateway.consent.events import RecordConsents, parse_events
from gateway.crypto.keyring import KeyPurpose
from gateway.ingest.batch import SubmitRecords
from gateway.ingest.service import ingest
from gateway.linkage.sealed import Sealer
from gateway.storage.db import transaction
from pipelines.extract import extract
from pipelines.linking import LinkConfig, link_records
from pipelines.roles import by_role, model_identifiers

BATCH = 500
_DIGITS = re.compile(r"\D")


def _record(row: Mapping[str, str | None]) -> dict[str, Any]:
    rec_id = str(row["record_id"])
    record: dict[str, Any] = {"source_id": rec_id, "customer_id": rec_id}
    for name in (
        "first_name",
        "last_name",
        "street",
        "city",
        "birth_date",
        "postal_code",
    ):
        if row.get(name):
            record[name] = row[name]
    digits = _DIGITS.sub("", row.get("identifier") or "")
    if digits:
        record["email"] = f"ssn{digits}@febrl.example"
    return record


def ingest_and_link(
    rows: Sequence[Mapping[str, str | None]], config: LinkConfig
) -> tuple[dict[str, str], Counter[str], float, float]:
    """Ingest then link FEBRL rows; returns (rec_id -> entity, rejections, s, s)."""
    with tempfile.TemporaryDirectory(prefix="gw-febrl-") as tmp:
        home = Path(tmp)
        url = f"sqlite:///{home / 'gateway.db'}"
        with bench_context(home, url, linkage_workers=0) as ctx:
            client = bench_partner(ctx, "febrl", ["customers"])
            records = [_record(row) for row in rows]
            started = time.perf_counter()
            for start in range(0, len(records), BATCH):
                chunk = records[start : start + BATCH]
                grants = [
                    {
                        "identifier_type": "customer_id",
                        "identifier": r["customer_id"],
                        "purpose": "segmentation",
                        "status": "granted",
                        "timestamp": "2026-01-01T00:00:00Z",
                        "source": "bench:febrl",
                    }
                    for r in chunk
                ]
                with transaction(ctx.sessions) as session:
                    consent_service.record(
                        session, ctx, client, RecordConsents(parse_events(grants))
                    )
            rejected: Counter[str] = Counter()
            source_of: dict[str, str] = {}
            for start in range(0, len(records), BATCH):
                batch = SubmitRecords(
                    "customers", "segmentation", records[start : start + BATCH]
                )
                for result in ingest(ctx, client, batch).results:
                    if result.status == "rejected":
                        rejected[result.reason or ""] += 1
                    elif result.record_id is not None:
                        source_of[result.record_id] = result.source_id or ""
            ingested = time.perf_counter()
            audience = ctx.policies.audiences["retail_default"]
            key = ctx.keyring.active(KeyPurpose.LINKAGE)
            sealer = Sealer(key.kid, key.material)
            extracted = extract(
                ctx.engine, ctx.policies, audience, sealer=sealer
            ).frames
            frames = by_role(extracted, ctx.policies, audience)
            linked = link_records(
                frames,
                config,
                model_identifiers=model_identifiers(ctx.policies, audience),
                linkage_kid=key.kid,
            )
            linked_at = time.perf_counter()
    entities = linked.entities.select(
        pl.col("record_id").replace_strict(source_of).alias("rec_id"), "entity_id"
    )
    return (
        dict(entities.iter_rows()),
        rejected,
        ingested - started,
        linked_at - ingested,
    )
