"""Ready-to-copy set-up code for the "Connect your app" panel. Pure: strings in, text out.

Values are embedded as JSON string literals (valid in JavaScript and Python) with ``<`` escaped,
so no write key or token can end a ``<script>`` element the user pastes into a page. The
templates render the result as escaped text.

>>> print(analytics_python("wk_1", "https://segmix.example.com").splitlines()[3])
analytics.write_key = "wk_1"
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The seed's warning and instruction, kept close to its words.
AUTOCAPTURE_WARNING = (
    "In most cases Mixpanel does not recommend implementing Autocapture with Segment, to "
    "minimise the risk of identity-management issues. Consult Mixpanel's team if you choose "
    "this approach."
)
AUTOCAPTURE_IMPORTANT = (
    "The snippet includes options for both Simplified and Original ID Merge: comment out the "
    "method you are not using."
)
TOKEN_PLACEHOLDER = "YOUR_MIXPANEL_PROJECT_TOKEN"


@dataclass(frozen=True)
class Endpoint:
    """Where Segment libraries should send: this segmix host, as the browser reached it."""

    scheme: str  # "https" or "http"
    host: str  # host[:port], e.g. "segmix.example.com"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def literal(value: str) -> str:
    """A string literal valid in JavaScript and Python, safe inside an HTML ``<script>``."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def analytics_js(write_key: str, endpoint: Endpoint) -> str:
    """analytics-next from npm, pointed at segmix for settings (cdnURL) and events (apiHost)."""
    return f"""// npm install @segment/analytics-next
import {{ AnalyticsBrowser }} from "@segment/analytics-next";

export const analytics = AnalyticsBrowser.load(
  {{ writeKey: {literal(write_key)}, cdnURL: {literal(endpoint.base_url)} }},
  {{
    integrations: {{
      "Segment.io": {{ apiHost: {literal(endpoint.host + "/v1")}, protocol: {literal(endpoint.scheme)} }},
    }},
  }},
);

analytics.page();"""


def analytics_js_snippet_load(write_key: str, endpoint: Endpoint) -> str:
    """For Segment's copy-paste snippet: the lines that replace its ``analytics.load(…)``."""
    return f"""analytics._cdn = {literal(endpoint.base_url)};
analytics.load({literal(write_key)}, {{
  integrations: {{
    "Segment.io": {{ apiHost: {literal(endpoint.host + "/v1")}, protocol: {literal(endpoint.scheme)} }},
  }},
}});
analytics.page();"""


def analytics_python(write_key: str, base_url: str) -> str:
    """analytics-python: module-level ``write_key`` and ``host``."""
    return f"""# pip install segment-analytics-python
import segment.analytics as analytics

analytics.write_key = {literal(write_key)}
analytics.host = {literal(base_url)}

analytics.track("user-123", "Signed Up", {{"plan": "pro"}})
analytics.flush()  # before a short-lived script exits"""


def analytics_node(write_key: str, base_url: str) -> str:
    """@segment/analytics-node: ``writeKey`` and ``host`` (no path: the library drops it)."""
    return f"""// npm install @segment/analytics-node
import {{ Analytics }} from "@segment/analytics-node";

const analytics = new Analytics({{ writeKey: {literal(write_key)}, host: {literal(base_url)} }});

analytics.track({{ userId: "user-123", event: "Signed Up", properties: {{ plan: "pro" }} }});"""


def autocapture(project_token: str | None, id_merge_mode: str = "simplified") -> str:
    """The seed's "Autocapture with Segment" set-up, steps 2–6, as one ``<script>`` block.

    Both ID-merge options are present; the one that does not match ``id_merge_mode`` is commented
    out, as the seed instructs.
    """
    token = literal(project_token or TOKEN_PLACEHOLDER)
    simplified = (
        'mixpanel.register({ $device_id: anonymousId, distinct_id: "$device:" + anonymousId });'
    )
    original = "mixpanel.register({ $device_id: anonymousId, distinct_id: anonymousId });"
    if id_merge_mode == "original":
        simplified = "// " + simplified
    else:
        original = "// " + original
    return f"""<!-- 1. Load Segment's analytics.js pointed at segmix (see "analytics.js" above). -->
<!-- 3. Load the Mixpanel JavaScript SDK: Mixpanel's own loader snippet, or mixpanel-browser. -->
<script>
  // Copies Segment's ids into Mixpanel, so autocaptured events join the same users.
  // Comment out the ID Merge option your project does not use
  // (Mixpanel → Project Settings → Identity Merge).
  function segmixSyncIds(anonymousId, userId) {{
    if (!window.mixpanel || !anonymousId) return;
    // Simplified ID Merge:
    {simplified}
    // Original ID Merge:
    {original}
    if (userId) mixpanel.identify(userId);
  }}

  // 2. An event sent through Segment (and segmix) to Mixpanel.
  analytics.track("app loaded");

  // 4. Turn on Autocapture, and 5. start from Segment's ids once Mixpanel has loaded.
  mixpanel.init({token}, {{
    autocapture: true,
    loaded: function () {{
      analytics.ready(function () {{
        segmixSyncIds(analytics.user().anonymousId(), analytics.user().id());
      }});
    }},
  }});

  // 6. Segment middleware: pass every identity Segment sees on to Mixpanel.
  analytics.addSourceMiddleware(function ({{ payload, next }}) {{
    segmixSyncIds(payload.obj.anonymousId, payload.obj.userId);
    next(payload);
  }});
</script>"""
