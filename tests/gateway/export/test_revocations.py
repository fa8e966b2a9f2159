"""The Art. 19 feed: a destination learns, in its own ids, whom it must delete."""

from datetime import UTC, datetime

from gateway.subjects.erase import erase
from tests.databases import BOTH
from tests.factories import consent, send_consents
from tests.gateway.export.conftest import (
    World,
    all_members,
    make_destination,
    segments_seen,
    store_test_run,
)

FEED = "/v1/audiences/retail_default/revocations"


def _feed(world: World, headers: dict[str, str], **params: object) -> list[dict]:
    entries: list[dict] = []
    cursor: object = params.pop("cursor", None)
    while True:
        response = world.http.get(
            FEED, params={**params, "cursor": cursor or ""}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        entries += page["revoked"]
        if page["next_cursor"] is None:
            return entries
        cursor = page["next_cursor"]


@BOTH
def test_erased_and_withdrawn_people_reach_only_those_who_received_them(
    world: World,
) -> None:
    store_test_run(world, datetime.now(UTC))
    puller, bystander = make_destination(world), make_destination(world)
    parent = segments_seen(world, puller)["web, frequent"]  # people 0-7
    sent = all_members(world, puller, parent["segment_id"], limit=100)
    assert _feed(world, puller.headers) == []

    erase(world.ctx, "test", "email", world.people[0]["email"])
    erase(world.ctx, "test", "email", world.people[10]["email"])  # never sent
    send_consents(
        world.http,
        world.partner,
        [
            consent(
                "customer_id",
                world.people[1]["customer_id"],
                "withdrawn",
                timestamp="2026-06-01T10:00:00Z",
            )
        ],
    )
    send_consents(  # another purpose: the audience's purpose still holds
        world.http,
        world.partner,
        [
            consent(
                "customer_id",
                world.people[2]["customer_id"],
                "withdrawn",
                purpose="analytics",
                timestamp="2026-06-01T10:00:00Z",
            )
        ],
    )

    revoked = _feed(world, puller.headers, limit=1)
    assert [entry["reason"] for entry in revoked] == ["erased", "withdrawn"]
    assert {entry["id"] for entry in revoked} <= set(sent)
    assert all(datetime.fromisoformat(e["at"]).utcoffset() is not None for e in revoked)
    # The ids are the ones this destination knows, and now no longer gets.
    still = all_members(world, puller, parent["segment_id"], limit=100)
    assert set(still) == set(sent) - {entry["id"] for entry in revoked}
    assert _feed(world, bystander.headers) == []

    # Polling: resume_cursor at the end, and nothing new since.
    last = world.http.get(FEED, headers=puller.headers).json()
    assert last["next_cursor"] is None
    again = world.http.get(
        FEED, params={"cursor": last["resume_cursor"]}, headers=puller.headers
    ).json()
    assert again["revoked"] == []
    assert again["resume_cursor"] == last["resume_cursor"]


@BOTH
def test_feed_refuses_other_audiences_and_bad_cursors(world: World) -> None:
    outsider = make_destination(world)
    response = world.http.get(
        "/v1/audiences/no_such_audience/revocations", headers=outsider.headers
    )
    assert response.status_code == 404
    bad = world.http.get(FEED, params={"cursor": "abc"}, headers=outsider.headers)
    assert bad.status_code == 422
    assert "abc" not in bad.text
