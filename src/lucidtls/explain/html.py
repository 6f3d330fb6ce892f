"""A single self-contained HTML report: the sequence diagram (inline SVG), the narrated steps,
and every message's decoded fields and bytes in hex. No scripts, fonts or images are fetched."""

from __future__ import annotations

import datetime
from html import escape
from pathlib import Path

from lucidtls.explain.decode import MessageView
from lucidtls.explain.diagram import LOCK, svg_diagram
from lucidtls.explain.narrate import Narration

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:62rem;margin:2rem auto;
padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}.sub{color:#57606a;margin-top:0}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
.diagram{overflow-x:auto;border:1px solid #d0d7de;border-radius:6px;padding:.5rem}
.step{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.step h3{margin:.2rem 0 .4rem}.classic{color:#57606a;font-style:italic}
.step ul{margin:.3rem 0;padding-left:1.3rem}.step li{word-break:break-word}
.wrong{background:#fff8c5;border-left:4px solid #d4a72c;padding:.4rem .7rem;margin-top:.5rem}
.failure{background:#ffebe9;border-left:4px solid #cf222e;padding:.5rem .8rem}
details.msg{border:1px solid #d0d7de;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
details.msg summary{cursor:pointer;font-weight:600}
.dir{color:#57606a;font-weight:normal}
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.9rem}
td{border-top:1px solid #eaeef2;padding:.2rem .4rem;vertical-align:top;word-break:break-all}
td.k{white-space:nowrap;color:#57606a;word-break:normal;width:1%}
pre.hex{font-size:.78rem;background:#f6f8fa;padding:.5rem;overflow-x:auto;max-height:22rem}
"""


def hexdump(data: bytes, width: int = 16) -> str:
    """Offset, hex bytes and printable ASCII, like ``xxd``."""
    lines = []
    for off in range(0, len(data), width):
        chunk = data[off:off + width]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:06x}  {hexpart:<{width * 3 - 1}}  {text}")
    return "\n".join(lines)


def _message_html(m: MessageView) -> str:
    arrow = "client → server" if m.sender == "client" else "server → client"
    prot = f"{LOCK} under {m.keys}" if m.protected else "in the clear"
    rows = "".join(f'<tr><td class="k">{escape(k)}</td><td>{escape(v)}</td></tr>'
                   for k, v in m.fields)
    hexblock = f'<pre class="hex">{escape(hexdump(m.raw))}</pre>' if m.raw else ""
    size = f", {len(m.raw)} bytes" if m.raw else ""
    return (f'<details class="msg" data-name="{escape(m.name)}"><summary>{escape(m.name)} '
            f'<span class="dir">{arrow}, {escape(prot)}{size}</span></summary>'
            f'<table>{rows}</table>{hexblock}</details>')


def render_html(n: Narration, *, title: str = "lucidtls: a TLS handshake explained") -> str:
    """The report as one HTML document."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1>"]
    summary = f"{n.version}, {n.suite}"
    if n.group:
        summary += f", {n.group}"
    if n.kx == "RSA":
        summary += ", RSA key transport"
    if n.hello_retry:
        summary += ", HelloRetryRequest"
    summary += ", mutual TLS" if n.mutual else ", server authenticated"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts.append(f'<p class="sub">{escape(summary)} — recorded {stamp}</p>')
    if n.failure:
        parts.append(f'<p class="failure">{escape(n.failure)}</p>')
    parts.append('<h2>Sequence diagram</h2><div class="diagram">')
    parts.append(svg_diagram(n.messages))
    parts.append("</div><h2>The handshake in steps</h2>")
    for s in n.steps:
        items = "".join(f"<li>{escape(h)}</li>" for h in s.happened)
        wrong = f'<div class="wrong"><strong>Where the simple story is wrong:</strong> ' \
                f'{escape(s.wrong)}</div>' if s.wrong else ""
        parts.append(f'<section class="step" id="step-{escape(s.number)}"><h3>Step '
                     f'{escape(s.number)}. {escape(s.title)}</h3><p class="classic">The simple '
                     f'story: {escape(s.classic)}</p><ul>{items}</ul>{wrong}</section>')
    parts.append("<h2>Messages</h2>")
    parts.extend(_message_html(m) for m in n.messages)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(n: Narration, path: str | Path, **kw: str) -> Path:
    """Write the report to *path*; returns the absolute path."""
    p = Path(path).resolve()
    p.write_text(render_html(n, **kw), encoding="utf-8")
    return p
