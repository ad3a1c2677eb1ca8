"""Read a form off a rendered page the way a browser would submit it (for click-path tests)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.data[self._select], self._select_chosen = value, True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        if tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.data[self._select] = self._select_first
            self._select = None
        if tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self.data[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_data(page: str, form_id: str = "editor-form") -> dict[str, str]:
    """The successful controls of ``<form id=form_id>`` (no submit buttons)."""
    reader = _FormReader(form_id)
    reader.feed(page)
    return reader.data


def request_bodies(page: str) -> list:
    """The decoded request bodies shown in Event Content panels (``<pre class="json">`` inside
    a request card), parsed back from their escaped HTML."""
    bodies = []
    for card in re.findall(r'<div class="request-card">(.*?)</details>', page, re.S):
        match = re.search(r'<pre class="json">(.*?)</pre>', card, re.S)
        if match:
            text = html.unescape(match.group(1))
            bodies.append(json.loads(text.removeprefix("data=")))
    return bodies
