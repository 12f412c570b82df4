"""Open a page in headless Chromium with no network and read back the DOM it built.

``unshare -n`` gives Chromium an empty network namespace, so anything a page would
fetch from a CDN fails exactly as on a reader's offline machine. Used by
test_browser.py and test_escaping.py.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                None)
UNSHARE = shutil.which("unshare")


def _offline_reason() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install -y chromium)"
    if UNSHARE is None:
        return "unshare (util-linux) is not installed: cannot cut the browser off the network"
    done = subprocess.run([UNSHARE, "-n", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"unshare -n is not permitted here ({done.stderr.strip()}): cannot cut the browser off the network"
    return None


OFFLINE_REASON = _offline_reason()
needs_offline_browser = pytest.mark.skipif(OFFLINE_REASON is not None, reason=OFFLINE_REASON or "")


# Appended to a copy of a page: after load, each <img> records the width the browser decoded
# (0 when it could not draw it), so a dumped DOM shows which SVG images really drew.
MEASURE_IMAGES = ("<script>window.addEventListener('load', function () { for (const im of document.images) "
                  "{ im.setAttribute('data-natural-width', String(im.naturalWidth)); } });</script>")


# Appended to a copy of a page: after load, the body records the page's full width and height in CSS pixels.
MEASURE_SIZE = ("<script>window.addEventListener('load', function () { var d = document.documentElement; "
                "document.body.setAttribute('data-page-size', d.scrollWidth + 'x' + d.scrollHeight); });</script>")


def dump_dom(page: Path, *, measure_images: bool = False, measure_size: bool = False, width: int = 1280) -> str:
    """Return the DOM of ``page`` after its scripts ran, loaded in Chromium with no network.

    With ``measure_images`` (or ``measure_size``) a copy of the page with :data:`MEASURE_IMAGES` (or
    :data:`MEASURE_SIZE`) appended is loaded instead, in a window ``width`` pixels wide.
    """
    with tempfile.TemporaryDirectory() as profile:
        target = page.resolve()
        script = (MEASURE_IMAGES if measure_images else "") + (MEASURE_SIZE if measure_size else "")
        if script:
            target = Path(profile) / f"measured-{page.name}"
            html = page.read_text(encoding="utf-8")
            cut = html.lower().rfind("</body>")
            target.write_text(html[:cut] + script + html[cut:] if cut >= 0 else html + script, encoding="utf-8")
        done = subprocess.run(
            [UNSHARE, "-n", CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--window-size={width},900",
             f"--user-data-dir={profile}/profile", "--virtual-time-budget=5000", "--dump-dom", target.as_uri()],
            capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, f"no DOM dumped for {page}: {done.stderr[-2000:]}"
    return done.stdout


def page_size(page: Path, width: int = 1280) -> tuple[int, int]:
    """Return the (width, height) in CSS pixels of ``page`` laid out in a window ``width`` pixels wide."""
    dom = dump_dom(page, measure_size=True, width=width)
    found = re.search(r'data-page-size="(\d+)x(\d+)"', dom)
    assert found, f"the page {page.name} did not record its size"
    return int(found.group(1)), int(found.group(2))


@dataclass
class DomSummary:
    """What a DOM holds: drawn charts, and every element by tag with its attributes."""

    charts_drawn: int = 0  # inline <svg class="marks"> with Vega marks, or such an SVG as an image that drew
    empty_charts: int = 0  # a chart with no marks, or an SVG image the browser could not draw
    elements: dict[str, list[dict[str, str]]] = field(default_factory=dict)


class _Counter(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.summary = DomSummary()
        self.stack: list[tuple[str, bool]] = []  # (tag, is a chart root)
        self.marks_in_chart: list[int] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        self.summary.elements.setdefault(tag, []).append(attributes)
        classes = attributes.get("class", "").split()
        if tag == "img" and attributes.get("src", "").startswith("data:image/svg+xml"):
            self._image_chart(attributes)
        if self.marks_in_chart and any(c.startswith("mark-") for c in classes):
            self.marks_in_chart[-1] += 1
        if tag in self.VOID:
            return
        is_chart = tag == "svg" and "marks" in classes
        if is_chart:
            self.marks_in_chart.append(0)
        self.stack.append((tag, is_chart))

    def _image_chart(self, attributes: dict[str, str]) -> None:
        header, _, payload = attributes["src"].partition(",")
        svg = base64.b64decode(payload).decode("utf-8") if header.endswith(";base64") else unquote(payload)
        is_chart = 'class="marks"' in svg and 'class="mark-' in svg
        drew = int(attributes.get("data-natural-width", "0") or 0) > 0
        if is_chart and drew:
            self.summary.charts_drawn += 1
        elif is_chart:
            self.summary.empty_charts += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, is_chart = self.stack.pop()
            if is_chart:
                marks = self.marks_in_chart.pop()
                if marks:
                    self.summary.charts_drawn += 1
                else:
                    self.summary.empty_charts += 1
            if open_tag == tag:
                break


def summarise(dom: str) -> DomSummary:
    """Parse a dumped DOM and count its drawn charts and elements."""
    counter = _Counter()
    counter.feed(dom)
    counter.close()
    while counter.stack:
        counter.handle_endtag(counter.stack[-1][0])
    return counter.summary
