"""The preview document: for one event, each mapping's verdict and the exact requests.

Pure. Used by ``manage.py preview`` (one JSON line per event) and the console's Event Content
panel. Requests are built for the event alone (live delivery batches it with others); headers are
masked; bodies are decoded (gunzipped; form ``data`` parsed).
"""

from __future__ import annotations

from typing import Any

from .destinations.mixpanel import wire
from .evaluation import DestinationPlan, MappingEvaluation, build_requests_for, evaluate_event


def request_document(request: wire.PreparedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": request.masked_headers(),
        "format": request.format,
        "body": request.decoded_body(),
    }


def evaluation_warnings(evaluation: MappingEvaluation) -> list[str]:
    warnings = [f"{f.code} ({f.severity}): {f.message}" for f in evaluation.findings]
    if evaluation.result:
        warnings.extend(f"{n.code}: {n.message}" for n in evaluation.result.notes)
    return warnings


def preview_event(
    event: Any,
    plan: DestinationPlan,
    *,
    stored_event_id: str,
    received_at_ms: int,
    now_ms: int,
    api_url_override: str | None,
    user_agent: str,
    import_max_bytes: int,
    profile_batch_size: int,
) -> dict[str, Any]:
    """``{"messageId", "mappings": [{"name", "matched", "why", "warnings", "requests", …}]}``."""
    evaluations = evaluate_event(
        event, plan, stored_event_id=stored_event_id, received_at_ms=received_at_ms, now_ms=now_ms
    )
    compiled_by_name = {c.config.name: c for c in plan.mappings}
    mappings = []
    for evaluation in evaluations:
        requests = []
        if evaluation.records:
            requests = [
                request_document(r)
                for r in build_requests_for(
                    evaluation.records,
                    plan,
                    compiled_by_name[evaluation.mapping.name],
                    api_url_override=api_url_override,
                    user_agent=user_agent,
                    import_max_bytes=import_max_bytes,
                    profile_batch_size=profile_batch_size,
                )
            ]
        entry: dict[str, Any] = {
            "name": evaluation.mapping.name,
            "matched": evaluation.matched,
            "status": evaluation.status,
            "why": evaluation.why,
            "warnings": evaluation_warnings(evaluation),
            "requests": requests,
        }
        if evaluation.error:
            entry["error"] = evaluation.error
        mappings.append(entry)
    message_id = event.get("messageId") if isinstance(event, dict) else None
    return {"messageId": message_id, "mappings": mappings}
