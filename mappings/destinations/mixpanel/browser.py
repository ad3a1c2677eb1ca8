"""``$browser`` and ``$browser_version`` from a user agent, exactly as Segment derives them (§7.4).

The first matching rule wins; substring tests are case-sensitive except the BlackBerry one. The
version is the first place where one of the browser's markers is *immediately* followed by a number
with at least one dot; ``Chrome/120`` (no dot) gives no version.

>>> ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
>>> browser_name(ua), browser_version(ua)
('Firefox', '128.0')
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = ["browser", "browser_name", "browser_version"]

_BLACKBERRY: Final = re.compile(r"BlackBerry|PlayBook|BB10", re.IGNORECASE)

# ``[0-9]`` rather than ``\d``: JavaScript's ``\d`` is ASCII-only. JavaScript's ``\s`` (the Android
# marker) is spelled out because Python's differs slightly (U+001C–U+001F, U+0085, U+FEFF).
_NUMBER: Final = r"([0-9]+(?:\.[0-9]+)+)"
_JS_SPACE: Final = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_VERSION_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "Internet Explorer Mobile": re.compile(r"rv:" + _NUMBER),
    "Microsoft Edge": re.compile(r"Edge?/" + _NUMBER),
    "Chrome": re.compile(r"Chrome/" + _NUMBER),
    "Chrome iOS": re.compile(r"CriOS/" + _NUMBER),
    "UC Browser": re.compile(r"(?:UCBrowser|UCWEB)/" + _NUMBER),
    "Safari": re.compile(r"Version/" + _NUMBER),
    "Mobile Safari": re.compile(r"Version/" + _NUMBER),
    "Opera": re.compile(r"(?:Opera|OPR)/" + _NUMBER),
    "Firefox": re.compile(r"Firefox/" + _NUMBER),
    "Firefox iOS": re.compile(r"FxiOS/" + _NUMBER),
    "Konqueror": re.compile(r"Konqueror:" + _NUMBER),
    "BlackBerry": re.compile(r"BlackBerry " + _NUMBER),
    "Android Mobile": re.compile("android" + _JS_SPACE + _NUMBER),
    "Samsung Internet": re.compile(r"SamsungBrowser/" + _NUMBER),
    "Internet Explorer": re.compile(r"(?:rv:|MSIE )" + _NUMBER),
    "Mozilla": re.compile(r"rv:" + _NUMBER),
}


def browser_name(user_agent: str) -> str:
    """The browser family, or ``""`` when no rule matches (``$browser: ""`` is still sent).

    >>> browser_name("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Version/17.0 Mobile Safari/604.1")
    'Mobile Safari'
    """
    ua = user_agent
    if " OPR/" in ua:
        return "Opera Mini" if "Mini" in ua else "Opera"
    if _BLACKBERRY.search(ua):
        return "BlackBerry"
    if "IEMobile" in ua or "WPDesktop" in ua:
        return "Internet Explorer Mobile"
    if "SamsungBrowser/" in ua:
        return "Samsung Internet"
    if "Edge" in ua or "Edg/" in ua:
        return "Microsoft Edge"
    if "FBIOS" in ua:
        return "Facebook Mobile"
    if "Chrome" in ua:
        return "Chrome"
    if "CriOS" in ua:
        return "Chrome iOS"
    if "UCWEB" in ua or "UCBrowser" in ua:
        return "UC Browser"
    if "FxiOS" in ua:
        return "Firefox iOS"
    if "Safari" in ua:
        return "Mobile Safari" if "iPhone" in ua else "Safari"
    if "Android" in ua:
        return "Android Mobile"
    if "Konqueror" in ua:
        return "Konqueror"
    if "Firefox" in ua:
        return "Firefox"
    if "MSIE" in ua or "Trident/" in ua:
        return "Internet Explorer"
    if "Gecko" in ua:
        return "Mozilla"
    return ""


def browser_version(user_agent: str) -> str | None:
    """The browser's version, or ``None`` (Opera Mini, Facebook Mobile, unknown, no dotted number).

    >>> browser_version("Mozilla/5.0 (Linux; Android 14.1) Chrome/120.0.6099.109 Mobile")
    '120.0.6099.109'
    >>> browser_version("Mozilla/5.0 (Linux; Android 14.1) AppleWebKit/537.36") is None
    True
    """
    pattern = _VERSION_PATTERNS.get(browser_name(user_agent))
    if pattern is None:
        return None
    match = pattern.search(user_agent)
    return match.group(1) if match else None


@lru_cache(maxsize=1024)
def browser(user_agent: str) -> tuple[str, str | None]:
    """``(browser_name, browser_version)``, cached: a few user agents make most of the traffic."""
    return browser_name(user_agent), browser_version(user_agent)
