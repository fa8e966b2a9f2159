"""Baseline for bench/ingest.py: the same HTTP stack with no privacy work.

FastAPI + uvicorn (same worker count as the gateway run), a sync route (run in
the thread pool, as the gateway's records route is), the same engine set-up
(`gateway.storage.db.make_engine`: on SQLite WAL, synchronous=FULL, BEGIN
IMMEDIATE; on PostgreSQL psycopg with pool_pre_ping), and for each request:
pydantic validation of the same "customers" records, then one SQLAlchemy Core
executemany INSERT into one table, in one transaction. No auth, consent,
pseudonyms, vault, audit.

    uvicorn --app-dir bench raw_app:create_app --factory   # BENCH_RAW_DATABASE_URL=...
"""

import os
from datetime import date
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Date, Engine, MetaData, String, Table

from gateway.storage.db import make_engine

metadata = MetaData()
raw_records = Table(
    "bench_raw_records",
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


def create_table(url: str) -> None:
    """Create the baseline table (before the server starts: no race between workers)."""
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

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/datasets/{dataset}/records")
    def submit(body: RecordsIn) -> dict[str, int]:  # {dataset} is not checked
        rows = [r.model_dump() for r in body.records]
        with engine.begin() as conn:
            conn.execute(insert, rows)
        return {"accepted": len(rows), "rejected": 0}

    return app
