"""The Mappings tab: presets in order, triggers in words and FQL, counts, the alias warning,
the inline toggle and the "…" menu, and New Mapping."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from mappings.configuration import save_mapping
from mappings.models import Delivery, Event, Mapping, MappingVersion

from .conftest import XSS, XSS_ESCAPED, body

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def mappings_url(destination) -> str:
    return f"/destinations/{destination.pk}/mappings/"


def names(destination) -> list[str]:
    return [m.name for m in destination.mappings.order_by("position", "id")]


def first(destination) -> Mapping:
    return destination.mappings.order_by("position", "id").first()


def delivery(destination, source, outcome: dict, *, age: timedelta = timedelta(hours=1)):
    n = next(_ids)
    event = Event.objects.create(
        source=source,
        message_id=f"m-{n}",
        dedup_hash=f"{n:064d}",
        type="track",
        received_at=timezone.now(),
        message={},
        raw={},
    )
    return Delivery.objects.create(
        event=event, destination=destination, outcome=outcome, created_at=timezone.now() - age
    )


def test_the_six_presets_are_listed_in_order_with_triggers_in_words_and_fql(
    staff_client, destination
):
    html = body(staff_client.get(mappings_url(destination)))
    positions = [html.index(f">{name}</a>") for name in names(destination)]
    assert positions == sorted(positions) and len(positions) == 6
    assert (
        "Event type is &quot;track&quot; and event name is not &quot;Order Completed&quot;" in html
    )
    assert (
        '<code class="fql">type = &quot;track&quot; and event != &quot;Order Completed&quot;</code>'
        in html
    )
    assert "Track Purchase" in html and "Group Identify User" in html
    assert 'aria-pressed="true"' in html
    edit = f"/destinations/{destination.pk}/mappings/{first(destination).pk}/edit"
    assert f'href="{edit}"' in html


def test_each_row_counts_the_last_24_hours_of_deliveries(staff_client, destination, source):
    track = first(destination)
    key = str(track.pk)
    delivered = {"status": "matched", "records": [{"outcome": "delivered"}]}
    delivery(destination, source, {key: delivered})
    delivery(destination, source, {key: delivered})
    delivery(destination, source, {key: {"status": "validation_error", "records": []}})
    delivery(destination, source, {key: {"status": "matched", "records": [{"outcome": "failed"}]}})
    delivery(destination, source, {key: {"status": "matched", "records": [{"outcome": "retry"}]}})
    delivery(destination, source, {key: delivered}, age=timedelta(hours=25))  # too old
    html = body(staff_client.get(mappings_url(destination)))
    row = html[html.index(f'id="mapping-{track.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "2 delivered" in row and "2 failed" in row


def test_enabled_alias_mappings_carry_a_warning_under_simplified_id_merge(
    staff_client, destination
):
    alias = save_mapping(
        Mapping(destination=destination, name="Aliases", trigger='type = "alias"', action="alias")
    )
    html = body(staff_client.get(mappings_url(destination)))
    assert "alias ignored" in html
    assert "Mixpanel ignores $create_alias on projects using Simplified ID Merge" in html
    alias.enabled = False
    save_mapping(alias)
    assert "alias ignored" not in body(staff_client.get(mappings_url(destination)))
    alias.enabled = True
    save_mapping(alias)
    destination.settings["idMergeMode"] = "original"
    destination.save()
    assert "alias ignored" not in body(staff_client.get(mappings_url(destination)))


def test_the_toggle_swaps_only_its_row_and_keeps_a_version(staff_client, destination, htmx):
    track = first(destination)
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/enabled", {"enabled": "0"}, **htmx
    )
    html = body(response)
    assert html.lstrip().startswith(f'<tr id="mapping-{track.pk}">')
    assert 'aria-pressed="false"' in html and "Off" in html
    track.refresh_from_db()
    assert track.enabled is False and track.version == 2
    assert MappingVersion.objects.filter(mapping=track).count() == 2


def test_the_toggle_without_javascript_redirects_to_the_row(staff_client, destination):
    track = first(destination)
    response = staff_client.post(f"{mappings_url(destination)}{track.pk}/enabled", {"enabled": "0"})
    assert response["Location"] == f"{mappings_url(destination)}#mapping-{track.pk}"


def test_renaming_swaps_the_row(staff_client, destination, htmx):
    track = first(destination)
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/rename", {"name": "All tracks"}, **htmx
    )
    assert ">All tracks</a>" in body(response)
    assert "Mapping renamed." in body(response)
    track.refresh_from_db()
    assert track.name == "All tracks"


def test_renaming_to_a_taken_name_shows_the_error_in_the_open_menu(staff_client, destination, htmx):
    track = first(destination)
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/rename", {"name": "Page Calls"}, **htmx
    )
    assert response.status_code == 422
    html = body(response)
    assert "Another mapping of this destination has this name." in html
    assert '<details class="menu" open>' in html
    track.refresh_from_db()
    assert track.name == "Track Calls"


def test_duplicating_adds_a_disabled_copy_right_below(staff_client, destination, htmx):
    track = first(destination)
    response = staff_client.post(f"{mappings_url(destination)}{track.pk}/duplicate", **htmx)
    html = body(response)
    assert html.lstrip().startswith('<div id="mappings-table">')
    assert names(destination)[:3] == ["Track Calls", "Track Calls (copy)", "Order Completed Calls"]
    copy = destination.mappings.get(name="Track Calls (copy)")
    assert copy.enabled is False
    assert (copy.trigger, copy.action, copy.mapping) == (track.trigger, track.action, track.mapping)
    staff_client.post(f"{mappings_url(destination)}{track.pk}/duplicate", **htmx)
    assert "Track Calls (copy) 2" in names(destination)


def test_moving_swaps_with_the_neighbour_without_a_new_version(staff_client, destination, htmx):
    track = first(destination)
    url = f"{mappings_url(destination)}{track.pk}/move"
    staff_client.post(url, {"direction": "down"}, **htmx)
    assert names(destination)[:2] == ["Order Completed Calls", "Track Calls"]
    track.refresh_from_db()
    assert track.version == 1
    staff_client.post(url, {"direction": "up"}, **htmx)
    staff_client.post(url, {"direction": "up"}, **htmx)  # already first: stays
    assert names(destination)[:2] == ["Track Calls", "Order Completed Calls"]


def test_the_first_row_has_no_move_up_and_the_last_no_move_down(staff_client, destination):
    html = body(staff_client.get(mappings_url(destination)))
    assert html.count(">Move up</button>") == 5
    assert html.count(">Move down</button>") == 5


def test_deleting_asks_for_confirmation_then_deletes(staff_client, destination):
    track = first(destination)
    url = f"{mappings_url(destination)}{track.pk}/delete"
    html = body(staff_client.get(url))
    assert "Delete the mapping “Track Calls”?" in html
    assert destination.mappings.count() == 6
    response = staff_client.post(url)
    assert response["Location"] == mappings_url(destination)
    assert destination.mappings.count() == 5
    assert "Mapping “Track Calls” deleted." in body(staff_client.get(mappings_url(destination)))


def test_a_mapping_of_another_destination_is_a_404(staff_client, destination, source):
    from mappings.configuration import create_destination

    other = create_destination("Other", {"projectToken": "t"})
    mapping = first(other)
    url = f"{mappings_url(destination)}{mapping.pk}/delete"
    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url).status_code == 404
    assert Mapping.objects.filter(pk=mapping.pk).exists()


def test_new_mapping_lists_every_action_with_its_default_subscription(staff_client, destination):
    html = body(staff_client.get(f"{mappings_url(destination)}new"))
    for title in (
        "Track Event",
        "Identify User",
        "Group Identify User",
        "Alias",
        "Track Purchase",
        "Increment Properties",
    ):
        assert f">{title}</label>" in html
    assert "Default trigger: <code>type = &quot;identify&quot;</code>" in html
    assert "suggested: <code>type = &quot;alias&quot;</code>" in html


def test_new_mapping_creates_a_disabled_mapping_with_defaults_and_opens_the_editor(
    staff_client, destination
):
    response = staff_client.post(f"{mappings_url(destination)}new", {"action": "trackEvent"})
    mapping = destination.mappings.get(name="Track Event")
    assert response.status_code == 302
    assert response["Location"] == f"{mappings_url(destination)}{mapping.pk}/edit"
    assert mapping.enabled is False
    assert mapping.trigger == 'type = "track"'
    assert mapping.mapping["event"] == {"@path": "$.event"}
    assert names(destination)[-1] == "Track Event"
    staff_client.post(f"{mappings_url(destination)}new", {"action": "trackEvent"})
    assert names(destination)[-1] == "Track Event 2"


def test_a_new_alias_mapping_starts_from_the_suggested_trigger(staff_client, destination):
    staff_client.post(f"{mappings_url(destination)}new", {"action": "alias"})
    mapping = destination.mappings.get(action="alias")
    assert mapping.trigger == 'type = "alias"'


def test_new_mapping_without_an_action_shows_an_error(staff_client, destination):
    response = staff_client.post(f"{mappings_url(destination)}new", {"action": "nope"})
    assert response.status_code == 422
    assert "Select a valid choice" in body(response)


def test_a_mapping_named_like_a_script_is_shown_as_text(staff_client, destination, htmx):
    track = first(destination)
    track.name = XSS
    track.trigger = 'type = "track" and event = "<script>alert(1)</script>"'
    save_mapping(track)
    for response in (
        staff_client.get(mappings_url(destination)),
        staff_client.get(f"{mappings_url(destination)}{track.pk}/delete"),
        staff_client.post(
            f"{mappings_url(destination)}{track.pk}/enabled", {"enabled": "1"}, **htmx
        ),
        staff_client.post(f"{mappings_url(destination)}{track.pk}/duplicate", **htmx),
    ):
        assert XSS.encode() not in response.content
        assert XSS_ESCAPED in response.content


def test_the_list_never_shows_the_destinations_secret(staff_client, destination):
    from .conftest import API_SECRET

    assert API_SECRET not in body(staff_client.get(mappings_url(destination)))


def test_htmx_get_of_the_tab_returns_only_the_table(staff_client, destination, htmx):
    html = body(staff_client.get(mappings_url(destination), **htmx))
    assert html.lstrip().startswith('<div id="mappings-table">')
    assert "<html" not in html


def test_moving_with_htmx_returns_the_table_fragment(staff_client, destination, htmx):
    track = first(destination)
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/move", {"direction": "down"}, **htmx
    )
    html = body(response)
    assert html.lstrip().startswith('<div id="mappings-table">') and "<html" not in html
    assert html.index(">Order Completed Calls</a>") < html.index(">Track Calls</a>")


def test_moving_without_javascript_redirects_back(staff_client, destination):
    track = first(destination)
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/move", {"direction": "sideways"}
    )
    assert response.status_code == 400
    response = staff_client.post(
        f"{mappings_url(destination)}{track.pk}/move", {"direction": "down"}
    )
    assert response["Location"] == mappings_url(destination)
