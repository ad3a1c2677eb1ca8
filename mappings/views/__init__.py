"""Console views, one module per screen family (function-based: form → core function → render).

``site`` (health check, home, navigation index pages), ``sources``, ``destinations`` and
``mapping_list`` (the Mappings tab). ``common`` holds the staff gate and the access helpers.
The mapping editor, event tester, debugger and deliveries (issue 5, parts 2 and 3) add their own
modules here.
"""

from __future__ import annotations

from .site import healthz, home

__all__ = ["healthz", "home"]
