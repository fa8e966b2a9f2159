"""Prometheus metrics: counts and latencies, labelled by route template and reason.

No label ever carries a value a partner sent: routes are templates
(`/v1/datasets/{dataset}/records`), datasets and reasons come from the policy.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    """The gateway's metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
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
