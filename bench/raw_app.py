"""Baseline for bench/ingest.py: the same HTTP stack with no privacy work.

FastAPI + uvicorn (same worker count as the gateway run), a sync route (run in
the thread pool, as the gateway's records route is), the same engine set-up
(`gateway.storage.db.make_engine`: on SQLite WAL, synchronous=FULL, BEGIN
IMMEDIATE; on PostgreSQL psycopg with pool_pre_ping), and for each request:
pydantic validation of the same "customers" records, then one SQLAlchemy Core
executemany INSERT into one table, in one transaction. No auth, consent,
pseudonyms, vault, audit.

A second, "normalizing" baseline on the same app, POST
/v1/normalized/datasets/{dataset}/records: the same validation, then every
record normalized by the gateway's own pure functions (e-mail lower-cased,
phone to E.164 with phonenumbers, date, postal code, NFC strings), as any
careful pipeline would, then the same insert into `bench_normalized_records`.
A record that fails normalization makes the request 422. The gap between the
two baselines is the normalization; from there to the gateway, the privacy work.

    uvicorn --app-dir bench raw_app:create_app --factory   # BENCH_RAW_DATABASE_URL=...
"""

import os
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Date, Engine, MetaData, String, Table

from gateway.fields.normalize import (
    FieldInvalid,
    normalize_date,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_string,
)
from gateway.storage.db import make_engine

metadata = MetaData()


def _records_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("source_id", String(128), primary_key=True),
        Column("customer_id", String(128), nullable=False),
        Column("email", String(254)),
        Column("phone", String(40)),
        Column("first_name", String(256)),
        Column("last_name", String(256)),
        Column("street", String(256)),
        Column("birth_date", Date),
        Column("postal_code", String(10)),
        Column("city", String(256)),
        Column("gender", String(16)),
        Column("loyalty_tier", String(16)),
    )


raw_records = _records_table("bench_raw_records")
normalized_records = _records_table("bench_normalized_records")


def _birth_date(value: date) -> date:
    # pydantic already parsed the date; the gateway's normalizer reads text, and
    # the Date column wants a date back (SQLite's Date type takes no strings).
    return date.fromisoformat(normalize_date(value.isoformat()))


# Field -> the gateway normalizer its policy type (policies/datasets/customers.yaml)
# selects. customer_id, gender and loyalty_tier are left as pydantic made them.
NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "email": normalize_email,
    "phone": lambda value: normalize_phone(value, "FR"),
    "first_name": normalize_string,
    "last_name": normalize_string,
    "street": normalize_string,
    "birth_date": _birth_date,
    "postal_code": normalize_postal_code,
    "city": normalize_string,
}


class CustomerIn(BaseModel):
    """One customers record, validated by type only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source_id: str = Field(
        min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
    )
    customer_id: str = Field(min_length=1, max_length=128)
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    phone: str | None = Field(
        default=None, max_length=40, pattern=r"^\+?[0-9\s().\-/]{4,}$"
    )
    first_name: str | None = Field(default=None, max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    street: str | None = Field(default=None, max_length=256)
    birth_date: date | None = None
    postal_code: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=256)
    gender: Literal["female", "male", "other", "unknown"] | None = None
    loyalty_tier: Literal["none", "bronze", "silver", "gold", "platinum"] | None = None


class RecordsIn(BaseModel):
    """A batch, shaped like the gateway's."""

    purpose: str
    records: list[CustomerIn] = Field(min_length=1, max_length=1000)


def normalize(row: dict[str, Any]) -> dict[str, Any]:
    """Normalize one validated record in place; FieldInvalid names the field."""
    for name, normalizer in NORMALIZERS.items():
        value = row[name]
        if value is not None:
            try:
                row[name] = normalizer(value)
            except FieldInvalid as exc:
                raise FieldInvalid(exc.reason, f"{name}: {exc.message}") from None
    return row


def create_table(url: str) -> None:
    """Create the baseline tables (before the servers start: no worker races)."""
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def create_app() -> FastAPI:
    """App factory (`uvicorn --factory`), one per worker process."""
    engine: Engine = make_engine(os.environ["BENCH_RAW_DATABASE_URL"])
    app = FastAPI(title="raw baseline")
    insert = raw_records.insert()
    insert_normalized = normalized_records.insert()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/datasets/{dataset}/records")
    def submit(body: RecordsIn) -> dict[str, int]:  # {dataset} is not checked
        rows = [r.model_dump() for r in body.records]
        with engine.begin() as conn:
            conn.execute(insert, rows)
        return {"accepted": len(rows), "rejected": 0}

    @app.post("/v1/normalized/datasets/{dataset}/records")
    def submit_normalized(body: RecordsIn) -> dict[str, int]:  # nor is it here
        rows = []
        for index, record in enumerate(body.records):
            try:
                rows.append(normalize(record.model_dump()))
            except FieldInvalid as exc:  # the message never holds the value
                detail = f"record {index}: {exc.message}"
                raise HTTPException(status_code=422, detail=detail) from None
        with engine.begin() as conn:
            conn.execute(insert_normalized, rows)
        return {"accepted": len(rows), "rejected": 0}

    return app
