"""The DPO's audit routes: proofs that verify by the RFC, clear errors otherwise."""

import io

from fastapi.testclient import TestClient

from gateway.audit import export_canonical, root_at
from gateway.audit.checkpoints import open_checkpoint
from gateway.audit.merkle import (
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.context import GatewayContext
from gateway.storage.db import transaction
from tests.factories import make_client


def _leaves(ctx: GatewayContext, size: int) -> list[bytes]:
    sink = io.BytesIO()
    with transaction(ctx.read_sessions) as session:
        export_canonical(session, sink)
    return [leaf_hash(line) for line in sink.getvalue().splitlines()[:size]]


def test_proofs_over_http_verify_against_the_verified_root(
    client: TestClient, ctx: GatewayContext
) -> None:
    dpo = make_client(ctx, "dpo")
    make_client(ctx, "partner")  # one more audited event at least
    verified = client.get("/v1/audit/verify", headers=dpo.headers).json()
    size, root = verified["size"], bytes.fromhex(verified["root_hash"])

    response = client.get(
        f"/v1/audit/proof/{size - 1}",
        params={"tree_size": size},
        headers=dpo.headers,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    leaf = bytes.fromhex(proof["leaf_hash"])
    assert verify_inclusion(size - 1, size, leaf, path, root)

    response = client.get(
        "/v1/audit/consistency",
        params={"first": size - 1, "second": size},
        headers=dpo.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first"], body["second"]) == (size - 1, size)
    leaves = _leaves(ctx, size)
    assert root_from_leaf_hashes(leaves) == root
    old_root = root_from_leaf_hashes(leaves[:-1])
    hashes = [bytes.fromhex(h) for h in body["proof"]]
    assert verify_consistency(size - 1, size, old_root, root, hashes)


def test_a_proof_outside_the_log_is_a_problem_document(
    client: TestClient, ctx: GatewayContext
) -> None:
    dpo = make_client(ctx, "dpo")
    for path, params in (
        ("/v1/audit/proof/999999999", {}),
        ("/v1/audit/consistency", {"first": 5, "second": 2}),
        ("/v1/audit/consistency", {"first": -1, "second": 2}),
    ):
        response = client.get(path, params=params, headers=dpo.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_checkpoint_route_signs_the_verified_tree(
    client: TestClient, ctx: GatewayContext
) -> None:
    dpo = make_client(ctx, "dpo")
    response = client.get("/v1/audit/checkpoint", headers=dpo.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    saved = open_checkpoint(body["checkpoint"], ctx.keyring)
    assert saved.tree_size == body["tree_size"]
    assert saved.root_hash.hex() == body["root_hash"]
    with transaction(ctx.read_sessions) as session:
        assert root_at(session, saved.tree_size) == saved.root_hash
