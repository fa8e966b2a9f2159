"""The `gateway` command: one typer sub-app per area, one module each.

`root` holds the command itself and what every area shares; the sub-apps
are added in the order `gateway --help` lists them.
"""

from gateway.cli import (
    audit,
    clients,
    consent,
    keys,
    linkage,
    pii,
    pipeline,
    policies,
    retention,
    subjects,
)
from gateway.cli import server as _server  # noqa: F401 - adds init and serve
from gateway.cli.root import app, main

for area, name in (
    (clients.clients_app, "clients"),
    (policies.policies_app, "policies"),
    (audit.audit_app, "audit"),
    (consent.consent_app, "consent"),
    (linkage.linkage_app, "linkage"),
    (pipeline.pipeline_app, "pipeline"),
    (pii.pii_app, "pii"),
    (subjects.subjects_app, "subjects"),
    (retention.retention_app, "retention"),
    (keys.keys_app, "keys"),
):
    app.add_typer(area, name=name)

__all__ = ["app", "main"]
