"""Sequence diagrams of a connection: aligned text for a terminal, and SVG.

Both draw one arrow per message on the wire, client on the left, server on the right, with a
protection marker on messages that travelled under record protection.
"""

from __future__ import annotations

import html
import unicodedata

from lucidtls.explain.decode import MessageView

LOCK = "🔒"


def _width(text: str) -> int:
    """Terminal columns of *text* (wide characters such as emoji take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _label(m: MessageView, marker: str) -> str:
    return f"{m.name} {marker}" if m.protected and marker else m.name


def text_diagram(msgs: list[MessageView], *, width: int = 56, marker: str = LOCK,
                 application_data: bool = True) -> str:
    """The messages as arrows between two lifelines::

        client                                                  server
          │ ── ClientHello ─────────────────────────────────────▶ │
          │ ◀──────────────────────────── EncryptedExtensions 🔒 ── │
    """
    inner = max(width, *(_width(_label(m, marker)) + 8 for m in msgs)) if msgs else width
    lines = [f"{'client':<{inner + 4}}server"]
    app_at = _application_data_index(msgs) if application_data else -1
    for i, m in enumerate(msgs):
        if i == app_at:
            lines.append(_text_appdata(inner, marker))
        label = _label(m, marker)
        pad = inner - _width(label) - 6
        if m.sender == "client":
            arrow = f"── {label} {'─' * pad}──▶"
        else:
            arrow = f"◀──{'─' * pad} {label} ──"
        lines.append(f"  │ {arrow} │")
    if app_at == len(msgs):
        lines.append(_text_appdata(inner, marker))
    if marker:
        lines.append(f"{marker} = sent under record protection (encrypted and authenticated)")
    return "\n".join(lines) + "\n"


def _application_data_index(msgs: list[MessageView]) -> int:
    """Where application data starts: after the last Finished (-1 when there is none)."""
    last = -1
    for i, m in enumerate(msgs):
        if m.name == "Finished":
            last = i
    return last + 1 if last >= 0 else -1


def _text_appdata(inner: int, marker: str) -> str:
    text = f"application data {marker}".strip()
    pad = inner - _width(text) - 3
    left = pad // 2
    return f"  │ ◀{'═' * left} {text} {'═' * (pad - left)}▶ │"


# --- SVG ------------------------------------------------------------------------------------
_SVG_W = 720
_LEFT, _RIGHT = 110, 610
_TOP = 70
_ROW = 34


def _padlock(x: int, y: int, color: str) -> str:
    """A small drawn padlock centred on (x, y): no font needs an emoji glyph."""
    return (f'<g class="lock" transform="translate({x - 6},{y - 7})"><title>encrypted</title>'
            f'<path d="M3,7 V4.5 a3,3 0 0 1 6,0 V7" fill="none" stroke="{color}" '
            f'stroke-width="1.6"/><rect x="1" y="7" width="10" height="8" rx="1.5" '
            f'fill="{color}"/></g>')


def svg_diagram(msgs: list[MessageView], *, application_data: bool = True) -> str:
    """The diagram as a standalone ``<svg>`` element (no external references)."""
    rows = len(msgs) + (1 if application_data and _application_data_index(msgs) >= 0 else 0)
    height = _TOP + _ROW * rows + 50
    svg_open = (f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{_SVG_W}" '
                f'height="{height}" viewBox="0 0 {_SVG_W} {height}" role="img" '
                f'aria-label="TLS handshake sequence diagram" font-family="sans-serif" '
                f'font-size="13">')
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" '
            'markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            '<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>')
    out = [svg_open, defs,
           '<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>']
    for x, name in ((_LEFT, "Client"), (_RIGHT, "Server")):
        out.append(f'<rect x="{x - 55}" y="12" width="110" height="30" rx="6" fill="#eef2f7" '
                   f'stroke="#345"/>')
        out.append(f'<text x="{x}" y="32" text-anchor="middle" font-weight="bold">{name}</text>')
        out.append(f'<line x1="{x}" y1="42" x2="{x}" y2="{height - 20}" stroke="#345" '
                   f'stroke-dasharray="4 3"/>')
    y = _TOP
    app_at = _application_data_index(msgs) if application_data else -1
    for i, m in enumerate([*msgs, None]):
        if i == app_at:
            out.append(f'<g class="appdata"><line x1="{_LEFT}" y1="{y}" x2="{_RIGHT}" '
                       f'y2="{y}" stroke="#1d6b3a" stroke-width="3" marker-start="url(#arrow)" '
                       f'marker-end="url(#arrow)"/><text x="{(_LEFT + _RIGHT) // 2}" '
                       f'y="{y - 8}" text-anchor="middle" fill="#1d6b3a">application data</text>'
                       f'{_padlock(_RIGHT + 22, y - 7, "#1d6b3a")}</g>')
            y += _ROW
        if m is None:
            break
        color = "#1d6b3a" if m.protected else "#24292f"
        if m.name.startswith("Alert"):
            color = "#a33"
        x1, x2 = (_LEFT, _RIGHT) if m.sender == "client" else (_RIGHT, _LEFT)
        dash = ' stroke-dasharray="6 3"' if m.name == "ChangeCipherSpec" else ""
        title = html.escape(f"{m.name} from {m.sender}"
                            + (f", under {m.keys}" if m.protected else ", in the clear"))
        lock = _padlock(_RIGHT + 22, y - 7, color) if m.protected else ""
        out.append(f'<g class="msg" data-name="{html.escape(m.name)}"><title>{title}</title>')
        out.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}" '
                   f'stroke-width="2" marker-end="url(#arrow)"{dash}/>')
        out.append(f'<text x="{(_LEFT + _RIGHT) // 2}" y="{y - 6}" text-anchor="middle" '
                   f'fill="{color}">{html.escape(m.name)}</text>{lock}</g>')
        y += _ROW
    out.append(_padlock(16, height - 12, "#1d6b3a"))
    out.append(f'<text x="30" y="{height - 6}" font-size="11" fill="#555">encrypted: sent under '
               f'record protection (green)</text>')
    out.append("</svg>")
    return "\n".join(out)
