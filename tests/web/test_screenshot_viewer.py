"""The screenshot viewer: the full-page screenshot in parts loaded as they come into view."""

from __future__ import annotations

import math
import urllib.error
import urllib.request

import pytest

from tests.web.conftest import Server, Visitor


def test_the_screenshot_is_shown_in_parts_loaded_lazily(visitor: Visitor, server: Server) -> None:
    bundle = server.info["bundle"]
    visitor.log_in("erin")
    visitor.go(f"/bundles/{bundle}")
    visitor.page.get_by_role("link", name="View the full-page screenshot").click()
    visitor.page.wait_for_url(f"{server.url}/bundles/{bundle}/screenshot")
    images = visitor.page.locator(".tiles img")
    height = int(visitor.page.locator(".tiles img").first.get_attribute("height") or 0)
    assert height > 0
    total = sum(int(images.nth(i).get_attribute("height") or 0) for i in range(images.count()))
    assert images.count() == math.ceil(total / 2048)
    assert all(images.nth(i).get_attribute("loading") == "lazy" for i in range(images.count()))
    first = images.first
    first.scroll_into_view_if_needed()
    visitor.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle())
    assert visitor.dialogs == []
    visitor.check("screenshot-viewer")


def test_tiles_need_a_session(server: Server) -> None:
    """No session, no picture: the log-in page (401) instead of the tile."""
    url = f"{server.url}/bundles/{server.info['bundle']}/screenshot/tiles/1"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers.get("content-type", "").startswith("text/html")
