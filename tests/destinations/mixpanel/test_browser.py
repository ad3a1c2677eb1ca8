"""``$browser`` and ``$browser_version`` from the user agent (spec §7.4)."""

from __future__ import annotations

import pytest

from mappings.destinations.mixpanel.browser import browser_name, browser_version

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "browser", "version"),
    [
        # 1. " OPR/" → Opera, or Opera Mini when "Mini" is also there (no version rule for Mini)
        (CHROME + " OPR/106.0.0.0", "Opera", "106.0.0.0"),
        ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80) Presto/2.12 OPR/1.0", "Opera Mini", None),
        # Opera's version is the first Opera/ or OPR/ marker
        ("Opera/9.80 (Windows NT 6.1) Presto/2.12 Version/12.16 OPR/15.0", "Opera", "9.80"),
        # 2. BlackBerry, PlayBook, BB10, case-insensitive; version after "BlackBerry "
        ("BlackBerry 9900/7.1.0.74 Profile/MIDP", "BlackBerry", None),
        ("Mozilla/5.0 (BlackBerry 10.3.2; BB10) Version/10.3", "BlackBerry", "10.3.2"),
        ("Mozilla/5.0 (playbook; U; RIM Tablet OS 2.1.0)", "BlackBerry", None),
        # 3. IEMobile / WPDesktop (version from rv:)
        (
            "Mozilla/5.0 (Windows Phone 8.1; IEMobile/11.0; rv:11.0) like Gecko",
            "Internet Explorer Mobile",
            "11.0",
        ),
        (
            "Mozilla/5.0 (Windows NT 6.2; ARM; WPDesktop) Chrome/1.0",
            "Internet Explorer Mobile",
            None,
        ),
        # 4. Samsung Internet before Chrome
        (
            "Mozilla/5.0 (Linux; Android 14) SamsungBrowser/23.0 Chrome/115.0 Mobile Safari/537.36",
            "Samsung Internet",
            "23.0",
        ),
        # 5. Edge (legacy "Edge/" and Chromium "Edg/")
        (CHROME + " Edg/120.0.2210.91", "Microsoft Edge", "120.0.2210.91"),
        (
            "Mozilla/5.0 (Windows NT 10.0) Chrome/70.0 Safari/537.36 Edge/18.17763",
            "Microsoft Edge",
            "18.17763",
        ),
        # 6. FBIOS (no version rule)
        ("Mozilla/5.0 (iPhone) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0]", "Facebook Mobile", None),
        # 7. Chrome
        (CHROME, "Chrome", "120.0.6099.109"),
        ("Mozilla/5.0 Chrome/120 Safari/537.36", "Chrome", None),  # no dot: no version
        # 8. CriOS (Chrome on iOS)
        (
            "Mozilla/5.0 (iPhone) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
            "Chrome iOS",
            "120.0.6099.119",
        ),
        # 9. UC Browser
        (
            "Mozilla/5.0 (Linux; U; Android 8.1) UCBrowser/13.4.0.1306 Mobile Safari/537.36",
            "UC Browser",
            "13.4.0.1306",
        ),
        ("UCWEB/2.0 (MIDP-2.0; U) UCBrowser/9.4.1.482", "UC Browser", "2.0"),
        # 10. Firefox on iOS
        ("Mozilla/5.0 (iPhone) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "Firefox iOS", "121.0"),
        # 11. Safari / Mobile Safari (Version/)
        (
            "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.2 Safari/605.1.15",
            "Safari",
            "17.2",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2) Version/17.2 Mobile/15E148 Safari/604.1",
            "Mobile Safari",
            "17.2",
        ),
        # 12. Android Mobile: lowercase "android" + one whitespace character
        ("Mozilla/5.0 (Android; android 4.0.3)", "Android Mobile", "4.0.3"),
        ("Mozilla/5.0 (Linux; U; android 4.0.3; ko-kr) AppleWebKit/534.30", "", None),
        ("Mozilla/5.0 (Linux; Android 14.1) AppleWebKit/537.36", "Android Mobile", None),
        # 13. Konqueror
        (
            "Mozilla/5.0 (compatible; Konqueror:4.14; Linux) KHTML/4.14.2 (like Gecko)",
            "Konqueror",
            "4.14",
        ),
        ("Mozilla/5.0 (compatible; Konqueror/4.5; Linux) KHTML/4.5.4", "Konqueror", None),
        # 14. Firefox
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox",
            "128.0",
        ),
        # 15. Internet Explorer (rv: or "MSIE ")
        (
            "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko",
            "Internet Explorer",
            "11.0",
        ),
        (
            "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
            "Internet Explorer",
            "9.0",
        ),
        # 16. Gecko → Mozilla (rv:)
        ("Mozilla/5.0 (X11; rv:1.9.2) Gecko/20100101 SeaMonkey/2.0", "Mozilla", "1.9.2"),
        # 17. Nothing matches
        ("curl/8.4.0", "", None),
    ],
)
def test_browser_and_version(user_agent, browser, version):
    assert browser_name(user_agent) == browser
    assert browser_version(user_agent) == version


def test_rules_are_tried_in_order():
    # "Chrome" appears in Edge, Samsung and Opera user agents: the earlier rule wins.
    assert browser_name(CHROME + " OPR/1.0 Edg/2.0") == "Opera"
    assert browser_name("Edge Chrome Safari") == "Microsoft Edge"
    # Safari's rule only looks for "iPhone", not "iPad"
    assert browser_name("Mozilla/5.0 (iPad) Version/17.2 Safari/604.1") == "Safari"


def test_substring_tests_are_case_sensitive_except_blackberry():
    assert browser_name("chrome/120.0") == ""
    assert browser_name("BLACKBERRY") == "BlackBerry"


def test_the_version_is_the_first_marker_followed_by_a_dotted_number():
    assert browser_version("Chrome/120 Chrome/121.0 Chrome/122.0") == "121.0"
    assert browser_version("Firefox/x Firefox/3.6.28") == "3.6.28"


def test_the_android_marker_needs_javascript_whitespace_after_it():
    assert browser_version("Mozilla/5.0 (Android; android\t9.0; Linux)") == "9.0"
    assert browser_version("Mozilla/5.0 (Android; android\u00a09.0)") == "9.0"
    assert browser_version("Mozilla/5.0 (Android; android\ufeff9.0)") == "9.0"
    # U+0085 is whitespace to Python's \s, not to JavaScript's
    assert browser_version("Mozilla/5.0 (Android; android\u00859.0)") is None
    assert browser_version("Mozilla/5.0 (Linux; android;9.0) Android") is None


def test_non_ascii_digits_are_not_a_version():
    assert browser_version("Chrome/١٢٠.٠") is None
