"""extract: an audience's consented, pseudonymous records as Polars frames.

The pure core turns raw rows (JSON text as the database keeps it) into typed
frames and decides consent per subject; the edges read the database in chunks
by keyset pagination (no ORM objects, no row-at-a-time loading). Nothing here
touches the vault: the pipelines never see a clear value.
"""

import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Engine, Text, case, cast, null, select

from gateway.consent.rules import decide
from gateway.errors import DecryptionError
from gateway.linkage.encoder import linkage_fields
from gateway.linkage.sealed import Sealer, unpack_frame
from gateway.policy.audiences import Audience
from gateway.policy.datasets import Dataset
from gateway.policy.models import PolicySet
from gateway.storage.models import ConsentEventRow, RecordRow, SubjectKeyRow

CHUNK_ROWS = 50_000
READ_AHEAD = 2  # chunks read while the last one is decoded (`read_ahead`)
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
_T = TypeVar("_T")

# What each policy field type becomes in a frame; everything else is text.
_POLARS_TYPES: Mapping[str, pl.DataType] = {
    "number": pl.Float64(),
    "integer": pl.Int64(),
    "boolean": pl.Boolean(),
}
RAW_SCHEMA: Mapping[str, pl.DataType] = {
    "record_id": pl.Utf8(),
    "subject_id": pl.Utf8(),
    "identifiers": pl.Utf8(),
    "data": pl.Utf8(),
    "version": pl.Int64(),
    "link_fields": pl.Binary(),
}
FACTS_SCHEMA: Mapping[str, pl.DataType] = {
    "identifier_key": pl.Utf8(),
    "granted": pl.Boolean(),
    "explicit": pl.Boolean(),
    "event_time": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True, slots=True)
class _Fact:
    """One consent event as `rules.decide` reads it."""

    granted: bool
    explicit: bool
    event_time: datetime


@dataclass(frozen=True)
class Extracted:
    """An audience's records, one frame per dataset, and what was left out."""

    frames: dict[str, pl.DataFrame]
    records_read: int
    records_without_consent: int
    records_erased: int

    def counts(self) -> dict[str, int]:
        """Plain figures for the run summary (no identifiers)."""
        return {
            "records_read": self.records_read,
            "records_without_consent": self.records_without_consent,
            "records_erased": self.records_erased,
            **{f"records_{name}": frame.height for name, frame in self.frames.items()},
        }


def stored_columns(dataset: Dataset) -> dict[str, pl.DataType]:
    """The non-identifier fields a record's `data` may hold, with frame types.

    Identifiers live in `identifiers` (pseudonyms), direct personal data only
    in the vault: neither is in `data`.
    """
    return {
        name: _POLARS_TYPES.get(spec.type, pl.Utf8())
        for name, spec in dataset.fields.items()
        if spec.field_class in ("quasi_identifier", "attribute", "free_text")
    }


def identifier_names(dataset: Dataset) -> list[str]:
    """The identifier fields whose pseudonyms become `<name>_key` columns.

    Not the subject key: its pseudonym is the record's `subject_id` already,
    and a second copy of it would cost a column of ten million values.
    """
    return [
        name
        for name, spec in dataset.fields.items()
        if spec.field_class == "identifier" and name != dataset.subject_key
    ]


def decode(
    raw: pl.DataFrame, dataset: Dataset, sealer: Sealer | None = None
) -> pl.DataFrame:
    """Typed columns from raw rows: `<identifier>_key` pseudonyms and data fields.

    With a `sealer`, a dataset with linkage roles also gets its records'
    per-field encodings, opened (the columns of `gateway.linkage.fields`,
    null where a record has none); otherwise the sealed blobs are dropped.
    ``version`` is the record's version (it grows with every update). No
    stage reads the partner's client id, so it is not here.

    Datetime fields (stored as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``) become UTC
    datetimes; a field absent from a record is null.
    """
    names = identifier_names(dataset)
    data_types = stored_columns(dataset)
    frame = raw.with_columns(
        pl.col("identifiers").str.json_decode(
            pl.Struct({name: pl.Utf8() for name in names})
        )
        if names
        else pl.col("identifiers"),
        pl.col("data").str.json_decode(pl.Struct(dict(data_types))),
    )
    frame = frame.select(
        "record_id",
        "subject_id",
        *(pl.col("identifiers").struct.field(n).alias(f"{n}_key") for n in names),
        *(pl.col("data").struct.field(n) for n in data_types),
        "version",
    )
    if sealer is not None and linkage_fields(dataset):
        frame = pl.concat(
            [frame, open_encodings(raw["record_id"], raw["link_fields"], sealer)],
            how="horizontal",
        )
    stamps = [
        name
        for name, spec in dataset.fields.items()
        if spec.type == "datetime" and name in data_types
    ]
    return frame.with_columns(
        pl.col(name).str.strptime(pl.Datetime("us", "UTC"), STAMP_FORMAT)
        for name in stamps
    )


def open_encodings(
    record_ids: pl.Series, sealed: pl.Series, sealer: Sealer
) -> pl.DataFrame:
    """The `gateway.linkage.fields` columns of sealed blobs, one row per record.

    A blob that does not open (altered, or moved from another record) is
    read as no encodings: the record then links only by its identifiers.
    """
    packed: list[bytes | None] = []
    for record_id, blob in zip(record_ids.to_list(), sealed.to_list(), strict=True):
        try:
            packed.append(None if blob is None else sealer.open(record_id, blob))
        except DecryptionError:
            packed.append(None)
    return unpack_frame(record_ids.to_list(), packed).drop("record_id")


def subject_identifiers(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every (subject_id, identifier pseudonym) pair found in the frames."""
    subjects = [frame.select("subject_id").unique() for frame in frames.values()]
    pairs = [
        frame.select("subject_id", pl.col(column).alias("identifier_key"))
        .drop_nulls()
        .unique()
        for frame in frames.values()
        for column in frame.columns
        if column.endswith("_key")
    ]
    # The subject pseudonym is the pseudonym of the subject key (customer_id).
    pairs += [
        frame.select("subject_id", pl.col("subject_id").alias("identifier_key"))
        for frame in subjects
    ]
    if not pairs:
        return pl.DataFrame(schema={"subject_id": pl.Utf8, "identifier_key": pl.Utf8})
    return pl.concat(pairs).unique()


def consented_subjects(
    identifiers: pl.DataFrame, facts: pl.DataFrame, basis: str
) -> pl.DataFrame:
    """Decide the purpose for each subject over all its identifiers' events.

    A subject is decided as one: a withdrawal under any identifier seen on
    any of its records counts, as at ingestion. The rule itself is
    `gateway.consent.rules.decide`, applied to each subject's events.

    Returns:
        ``subject_id``, ``allowed`` for every subject in `identifiers`.
    """
    subjects = identifiers.select("subject_id").unique()
    with_facts = identifiers.join(facts, on="identifier_key", how="inner")
    no_events = decide((), basis).allowed
    grouped = with_facts.group_by("subject_id").agg(
        pl.col("granted"), pl.col("explicit"), pl.col("event_time")
    )
    decided = {
        subject: decide(
            (_Fact(g, e, t) for g, e, t in zip(granted, explicit, times, strict=True)),
            basis,
        ).allowed
        for subject, granted, explicit, times in grouped.iter_rows()
    }
    return subjects.with_columns(
        pl.col("subject_id")
        .replace_strict(decided, default=no_events, return_dtype=pl.Boolean)
        .alias("allowed")
    )


def keep_lawful(
    frames: Mapping[str, pl.DataFrame],
    decisions: pl.DataFrame,
    erased: pl.DataFrame,
) -> tuple[dict[str, pl.DataFrame], int, int]:
    """Drop records of subjects without consent, then of erased subjects.

    Returns:
        The kept frames, the number dropped for consent, for erasure.
    """
    allowed = decisions.filter(pl.col("allowed"))["subject_id"]
    out = erased["subject_id"]
    kept: dict[str, pl.DataFrame] = {}
    no_consent = gone = 0
    for name, frame in frames.items():
        # One filter, one copy of what is kept: these frames hold millions of
        # rows, and a join per condition would copy them twice.
        consented = pl.col("subject_id").is_in(allowed.implode())
        flags = frame.select(
            consented.alias("consented"),
            (consented & ~pl.col("subject_id").is_in(out.implode())).alias("lawful"),
        )
        no_consent += frame.height - int(flags["consented"].sum())
        gone += int(flags["consented"].sum()) - int(flags["lawful"].sum())
        kept[name] = frame.filter(flags["lawful"])
    return kept, no_consent, gone


# --- I/O edges ---------------------------------------------------------------


def read_raw(
    engine: Engine,
    dataset: str,
    purpose: str,
    chunk_rows: int = CHUNK_ROWS,
    linkage_kid: str | None = None,
    *,
    identifiers: bool = True,
) -> Iterator[pl.DataFrame]:
    """A dataset's records stored for `purpose`, in chunks, by keyset on id.

    Only records collected for the audience's purpose are read (purpose
    limitation): a record sent for analytics never feeds segmentation.
    Encodings made under another linkage key than `linkage_kid` (before a
    rotation, until the backfill re-encodes them) are read as missing: two
    encodings under different keys must never be compared. Without
    `linkage_kid`, none are read. `identifiers` False: the identifier
    pseudonyms are read as null (a dataset whose only identifier is its
    subject key, already in ``subject_id``).
    """
    after = ""
    link_fields: Any = null()
    if linkage_kid is not None:
        current = RecordRow.linkage_kid == linkage_kid
        link_fields = case((current, RecordRow.link_fields), else_=null())
    columns = (
        RecordRow.id,
        RecordRow.subject_id,
        cast(RecordRow.identifiers, Text) if identifiers else null(),
        cast(RecordRow.data, Text),
        RecordRow.version,
        link_fields,
    )
    while True:
        stmt = (
            select(*columns)
            .where(
                RecordRow.dataset == dataset,
                RecordRow.purpose == purpose,
                RecordRow.id > after,
            )
            .order_by(RecordRow.id)
            .limit(chunk_rows)
        )
        with engine.connect() as conn:
            # Plain driver tuples: SQLAlchemy's Row objects cost more than the
            # read itself at ten million rows.
            rows = conn.execute(stmt).cursor.fetchall()  # type: ignore[union-attr]
        if not rows:
            return
        yield pl.DataFrame(rows, schema=dict(RAW_SCHEMA), orient="row")
        after = rows[-1][0]


def read_facts(engine: Engine, purpose: str) -> pl.DataFrame:
    """Every consent event of a purpose (the ledger is small next to records)."""
    stmt = select(
        ConsentEventRow.identifier_key,
        ConsentEventRow.granted,
        ConsentEventRow.explicit,
        ConsentEventRow.event_time,
    ).where(ConsentEventRow.purpose == purpose)
    with engine.connect() as conn:
        rows: list[Any] = [tuple(row) for row in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=dict(FACTS_SCHEMA), orient="row")


def read_erased(engine: Engine) -> pl.DataFrame:
    """Subjects whose data key was destroyed: their records never enter again."""
    stmt = select(SubjectKeyRow.subject_id).where(
        SubjectKeyRow.destroyed_at.is_not(None)
    )
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(stmt)]
    return pl.DataFrame({"subject_id": ids}, schema={"subject_id": pl.Utf8})


_DONE = object()  # the reader's last item (`read_ahead`)


def _offer(ready: "queue.Queue[Any]", stop: threading.Event, item: object) -> bool:
    """Put `item` when there is room; False when the consumer has gone."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
        except queue.Full:
            continue
        return True
    return False


def _read_into(
    chunks: Iterator[Any], ready: "queue.Queue[Any]", stop: threading.Event
) -> None:
    try:
        for chunk in chunks:
            if not _offer(ready, stop, (chunk, None)):
                return
    except BaseException as err:  # noqa: BLE001 - handed to the consumer
        _offer(ready, stop, (None, err))
        return
    _offer(ready, stop, (_DONE, None))


def read_ahead(chunks: Iterator[_T], depth: int = READ_AHEAD) -> Iterator[_T]:
    """`chunks`, read `depth` ahead in a thread of their own.

    The database steps through rows with Python's lock released and Polars
    decodes with it released too: reading the next chunk while this one is
    decoded keeps both cores busy. An error while reading is raised here, in
    order; when the consumer stops early, the reader stops at its next chunk.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_into, args=(chunks, ready, stop), name="read-ahead", daemon=True
    )
    reader.start()
    try:
        while True:
            chunk, err = ready.get()
            if err is not None:
                raise err
            if chunk is _DONE:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()


def extract(
    engine: Engine,
    policies: PolicySet,
    audience: Audience,
    chunk_rows: int = CHUNK_ROWS,
    sealer: Sealer | None = None,
) -> Extracted:
    """Read an audience's datasets and keep the records it may lawfully use.

    `sealer`: the active linkage key's; encodings under another key are
    read as missing, and without a sealer none are read.
    """
    kid = sealer.kid if sealer is not None else None
    purpose = policies.purposes[audience.purpose]
    frames: dict[str, pl.DataFrame] = {}
    for name in audience.datasets:
        dataset = policies.datasets[name]
        # Opened a chunk at a time: the sealed blobs of one chunk, never of
        # the whole dataset, are in memory beside the opened columns.
        linked = kid if linkage_fields(dataset) else None
        raws = read_ahead(
            read_raw(
                engine,
                name,
                purpose.name,
                chunk_rows,
                linked,
                identifiers=bool(identifier_names(dataset)),
            )
        )
        chunks = [decode(raw, dataset, sealer) for raw in raws]
        frames[name] = (
            pl.concat(chunks, rechunk=False)
            if chunks
            else decode(pl.DataFrame(schema=dict(RAW_SCHEMA)), dataset, sealer)
        )
    read = sum(frame.height for frame in frames.values())
    decisions = consented_subjects(
        subject_identifiers(frames), read_facts(engine, purpose.name), purpose.basis
    )
    kept, no_consent, gone = keep_lawful(frames, decisions, read_erased(engine))
    return Extracted(kept, read, no_consent, gone)
