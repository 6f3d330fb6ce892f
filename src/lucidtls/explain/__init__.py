"""lucidtls.explain: the handshake made visible.

Record a connection's trace events with a ``Recorder`` (``observer=recorder.client`` /
``recorder.server``), then::

    narration = explain(recorder)            # Narration: facts + the steps
    print(text_diagram(narration.messages))  # arrows client ⇄ server, 🔒 on encrypted messages
    print(narration.text())                  # the classic eight steps, what really happened
    write_html(narration, "report.html")     # one self-contained HTML file

``run_demo()`` does all of it for a loopback server and client with a throwaway CA.
"""

from __future__ import annotations

from pathlib import Path

from lucidtls.explain.decode import MessageView, messages
from lucidtls.explain.demo import DemoResult, run_demo, tls12_available
from lucidtls.explain.diagram import svg_diagram, text_diagram
from lucidtls.explain.html import render_html, write_html
from lucidtls.explain.narrate import Narration, format_steps, narrate
from lucidtls.explain.story import Step
from lucidtls.explain.trace import Entry, Recorder, read_keylog


def explain(recorder: Recorder, *, keylog_path: str | Path | None = None,
            show_secrets: bool = False) -> Narration:
    """The narration of a recorded connection. With *show_secrets*, secret values are read
    from the NSS key log at *keylog_path* (the connection must have written one)."""
    secrets = None
    if show_secrets:
        cr = next((m.obj.random for m in messages(recorder)
                   if m.name == "ClientHello" and m.obj is not None), None)
        secrets = read_keylog(keylog_path, cr) if keylog_path is not None else {}
    return narrate(recorder, secrets)


def report_text(narration: Narration, *, marker: str = "🔒") -> str:
    """What ``connect --explain`` / ``serve --explain`` print: the diagram, then the steps."""
    return text_diagram(narration.messages, marker=marker) + "\n" + narration.text()


__all__ = [
    "DemoResult", "Entry", "MessageView", "Narration", "Recorder", "Step", "explain",
    "format_steps", "messages", "narrate", "read_keylog", "render_html", "report_text",
    "run_demo", "svg_diagram", "text_diagram", "tls12_available", "write_html",
]
