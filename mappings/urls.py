"""The console's routes (login + staff everywhere; ``healthz`` is public).

Sections follow the navigation. Ingest (``/v1/``) is routed from ``segmix_site/urls.py``.
"""

from __future__ import annotations

from django.urls import path

from .views import (
    debugger,  # source debugger (part 3)
    deliveries,  # delivery history (part 3)
    destinations,
    editor,  # mapping editor (part 2)
    editor_tools,  # mapping editor: test send, impact, history (part 2)
    mapping_list,
    site,
    sources,
    tester,  # event tester (part 2)
    trace,  # per-message delivery trace (part 3)
)

urlpatterns = [
    # Site ----------------------------------------------------------------------------------------
    path("healthz", site.healthz, name="healthz"),
    path("", site.home, name="home"),
    # Sources -------------------------------------------------------------------------------------
    path("sources/", sources.source_list, name="source_list"),
    path("sources/<int:pk>/", sources.source_detail, name="source_detail"),
    path("sources/<int:pk>/rename", sources.source_rename, name="source_rename"),
    path("sources/<int:pk>/enabled", sources.source_enabled, name="source_enabled"),
    path("sources/<int:pk>/regenerate-key", sources.source_regenerate, name="source_regenerate"),
    # --- debugger (part 3) ---
    path("sources/<int:pk>/debugger", debugger.source_debugger, name="source_debugger"),
    path(
        "sources/<int:pk>/debugger/events/<int:event_pk>",
        debugger.debugger_event,
        name="source_debugger_event",
    ),
    path(
        "sources/<int:pk>/debugger/rejects/<int:reject_pk>",
        debugger.debugger_reject,
        name="source_debugger_reject",
    ),
    # --- end debugger ---
    # Destinations --------------------------------------------------------------------------------
    path("destinations/", destinations.destination_list, name="destination_list"),
    path("destinations/new", destinations.destination_new, name="destination_new"),
    path("destinations/new/check", destinations.destination_check, name="destination_new_check"),
    path("destinations/<int:pk>/", destinations.destination_settings, name="destination_settings"),
    path("destinations/<int:pk>/check", destinations.destination_check, name="destination_check"),
    path(
        "destinations/<int:pk>/enabled",
        destinations.destination_enabled,
        name="destination_enabled",
    ),
    path(
        "destinations/<int:pk>/resume", destinations.destination_resume, name="destination_resume"
    ),
    # --- event tester (part 2) ---
    path("destinations/<int:pk>/tester", tester.destination_tester, name="destination_tester"),
    path(
        "destinations/<int:pk>/tester/send",
        tester.destination_tester_send,
        name="destination_tester_send",
    ),
    # --- end event tester ---
    # --- deliveries (part 3) ---
    path(
        "destinations/<int:pk>/deliveries",
        deliveries.destination_deliveries,
        name="destination_deliveries",
    ),
    path(
        "destinations/<int:pk>/deliveries/replay",
        deliveries.deliveries_replay,
        name="deliveries_replay",
    ),
    path(
        "destinations/<int:pk>/deliveries/progress",
        deliveries.deliveries_progress,
        name="deliveries_progress",
    ),
    path(
        "destinations/<int:pk>/deliveries/<int:delivery_pk>",
        trace.delivery_trace,
        name="delivery_trace",
    ),
    path(
        "destinations/<int:pk>/deliveries/<int:delivery_pk>/retry",
        trace.delivery_retry,
        name="delivery_retry",
    ),
    # --- end deliveries ---
    # Mappings tab --------------------------------------------------------------------------------
    path("destinations/<int:pk>/mappings/", mapping_list.mapping_list, name="mapping_list"),
    path("destinations/<int:pk>/mappings/new", mapping_list.mapping_new, name="mapping_new"),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/enabled",
        mapping_list.mapping_enabled,
        name="mapping_enabled",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/rename",
        mapping_list.mapping_rename,
        name="mapping_rename",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/duplicate",
        mapping_list.mapping_duplicate,
        name="mapping_duplicate",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/move",
        mapping_list.mapping_move,
        name="mapping_move",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/delete",
        mapping_list.mapping_delete,
        name="mapping_delete",
    ),
    # --- mapping editor (part 2) ---
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit",
        editor.mapping_edit,
        name="mapping_edit",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/trigger",
        editor.mapping_edit_trigger,
        name="mapping_edit_trigger",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/trigger/check",
        editor.mapping_edit_trigger_check,
        name="mapping_edit_trigger_check",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/fields",
        editor.mapping_edit_fields,
        name="mapping_edit_fields",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/preview",
        editor.mapping_edit_preview,
        name="mapping_edit_preview",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/payload",
        editor.mapping_edit_payload,
        name="mapping_edit_payload",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/test-send",
        editor_tools.mapping_edit_test_send,
        name="mapping_edit_test_send",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/edit/impact",
        editor_tools.mapping_edit_impact,
        name="mapping_edit_impact",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/versions/<int:version>/diff",
        editor_tools.mapping_version_diff,
        name="mapping_version_diff",
    ),
    path(
        "destinations/<int:pk>/mappings/<int:mapping_pk>/versions/<int:version>/restore",
        editor_tools.mapping_version_restore,
        name="mapping_version_restore",
    ),
    # --- end mapping editor ---
    # Navigation index pages ----------------------------------------------------------------------
    path("debugger/", site.debugger_index, name="debugger_index"),
    path("deliveries/", site.deliveries_index, name="deliveries_index"),
]
