"""Prometheus metrics: counts and latencies, labelled by route template and reason.

No label ever carries a value a partner sent: routes are templates
(`/v1/datasets/{dataset}/records`), datasets and reasons come from the policy.
"""

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from gateway.storage import segments_repo
from gateway.storage.db import transaction

# Audience name -> whether its latest finished run drifted (None: unknown).
DriftSource = Callable[[], Mapping[str, bool | None]]


class PipelineDriftCollector(Collector):
    """``gateway_pipeline_drifted{audience}``, read when scraped.

    Pipeline runs happen in another process (`gateway pipeline run`), so a
    gauge set there would never reach the server's registry: the figure is
    read from where the run stored it, its summary, at each scrape.
    """

    def __init__(self, source: DriftSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """Yield one sample per audience with a run that measured its drift."""
        gauge = GaugeMetricFamily(
            "gateway_pipeline_drifted",
            "1 when the audience's latest pipeline run drifted from the run before "
            "it (PSI over the audience policy's thresholds), else 0",
            labels=["audience"],
        )
        for audience, drifted in sorted(self._source().items()):
            if drifted is not None:
                gauge.add_metric([audience], float(drifted))
        yield gauge


def latest_drift(
    sessions: sessionmaker[Session], audiences: tuple[str, ...]
) -> dict[str, bool | None]:
    """Whether each audience's latest finished run drifted (None: no such run)."""
    flags: dict[str, bool | None] = {}
    with transaction(sessions) as session:
        for audience in audiences:
            run = segments_repo.latest_run(session, audience)
            drift = (run.summary or {}).get("drift") if run is not None else None
            flags[audience] = (
                bool(drift.get("drifted")) if isinstance(drift, dict) else None
            )
    return flags


class Metrics:
    """The gateway's metrics, in a registry of their own (one per app)."""

    def __init__(self, drift: DriftSource | None = None) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "gateway_records_total",
            "Records processed, by dataset, outcome and rejection reason",
            ["dataset", "status", "reason"],
            registry=self.registry,
        )
        self.consent_events = Counter(
            "gateway_consent_events_total",
            "Consent events, by outcome",
            ["status"],
            registry=self.registry,
        )
        self.requests = Counter(
            "gateway_http_requests_total",
            "HTTP requests, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request latency, by route template",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Kept: with several workers `/metrics` reads a registry of its own.
        self.drift = PipelineDriftCollector(drift) if drift is not None else None
        if self.drift is not None:
            self.registry.register(self.drift)
