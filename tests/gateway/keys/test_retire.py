"""`gateway.keys.retire_masters`: old master keys go once nothing needs them."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.context import GatewayContext
from gateway.crypto.envelope import unwrap_data_key
from gateway.crypto.keyring import KeyPurpose, load_keyring
from gateway.errors import KeyringError
from gateway.keys import KeyKind, retire_masters, rotate
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow, SubjectKeyRow
from gateway.vault import subject_ciphers
from tests.databases import BOTH
from tests.factories import customer, grant, make_client, send_records


@BOTH
def test_an_old_master_key_is_retired_only_once_no_data_key_needs_it(
    fresh_ctx: GatewayContext,
) -> None:
    ctx = fresh_ctx
    path = ctx.settings.keyring_path
    partner = make_client(ctx)
    first, late = customer(), customer()
    with TestClient(create_app(ctx)) as http:
        grant(http, partner, first)
        grant(http, partner, late)
        assert send_records(http, partner, [first]).status_code == 200
        with transaction(ctx.read_sessions) as session:
            # A DB backup of the data keys (subjects registered with none
            # have nothing to open).
            keyed = select(SubjectKeyRow).where(SubjectKeyRow.master_kid.is_not(None))
            backup = list(session.scalars(keyed))
        rotation = rotate(ctx, KeyKind.MASTER, path)
        # A server not restarted yet wraps a new subject's key under the old key.
        assert send_records(http, partner, [late]).status_code == 200

    kept = retire_masters(ctx, path)

    assert kept.retired == ()
    assert kept.in_use == (rotation.old_kid,)
    assert load_keyring(path).get(KeyPurpose.MASTER, rotation.old_kid)

    rotate(ctx, KeyKind.MASTER, path, resume=True)
    report = retire_masters(ctx, path)

    assert report.retired == (rotation.old_kid,)
    keyring = load_keyring(path)
    masters = [k.kid for k in keyring.keys if k.purpose == KeyPurpose.MASTER]
    assert masters == [rotation.new_kid]
    with transaction(ctx.read_sessions) as session:
        rows = list(session.scalars(keyed))
        assert set(subject_ciphers(session, keyring, {r.subject_id for r in rows})) == {
            r.subject_id for r in rows
        }
        events = session.scalars(
            select(AuditEventRow.details).where(AuditEventRow.action == "keys.retired")
        ).all()
    assert events == [f'{{"kids":["{rotation.old_kid}"],"kind":"master"}}']
    # The backup's wrapped keys now open under no key the gateway holds.
    for row in backup:
        assert row.wrapped_key is not None
        with pytest.raises(KeyringError):
            unwrap_data_key(
                keyring.get(KeyPurpose.MASTER, row.master_kid),
                row.wrapped_key,
                row.subject_id,
            )
