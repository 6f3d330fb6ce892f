"""The HTML report in a real browser: headless Chromium loads the file and its DOM holds a
non-empty SVG diagram with the message names."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lucidtls.explain import run_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    shutil.which("google-chrome")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"),
]


class _SvgCollector(HTMLParser):
    """The elements and text inside the first <svg> of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.done = False
        self.elements: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "svg" or self.depth:
            self.depth += 1
            self.elements.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.depth and not self.done:
            self.depth -= 1
            if self.depth == 0:
                self.done = True

    def handle_data(self, data: str) -> None:
        if self.depth and not self.done:
            self.text.append(data)


def _dump_dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.parametrize("mutual", [False, True], ids=["oneway", "mutual"])
def test_report_renders_in_chromium(tmp_path, mutual):
    page = tmp_path / "report.html"
    result = run_demo(mutual=mutual, html_path=page)
    dom = _dump_dom(page, tmp_path / "profile")
    svg = _SvgCollector()
    svg.feed(dom)
    assert svg.done, "no <svg> element in the rendered DOM"
    # Non-empty: one arrow per message, plus the lifelines and the application data.
    assert svg.elements.count("line") >= len(result.narration.messages) + 2
    text = " ".join(svg.text)
    expected = ["ClientHello", "ServerHello", "EncryptedExtensions", "Certificate",
                "CertificateVerify", "Finished"]
    if mutual:
        expected.append("CertificateRequest")
    for name in expected:
        assert name in text, (name, text)
    # The narration made it too (the DOM is the browser's parse, not our string).
    assert "Where the simple story is wrong" in dom
    assert result.narration.suite in dom
