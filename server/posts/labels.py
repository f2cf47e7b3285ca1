"""QR labels for inspection posts (岗位 / 风险点) — pure rendering, no Flask, no DB.

Every post carries a QR code encoding ``<public base URL>/q/<token>``.  This
module turns a :class:`LabelData` into

* :func:`render_png` — one label, 300 dpi PNG (for download / on-site printing),
* :func:`render_svg` — one label, SVG in millimetres (web preview, sign makers),
* :func:`render_pdf_sheet` — A4 sheets with two labels per page, paged.

All three backends draw the *same* layout, computed once in millimetres by
:func:`_layout` (y grows downwards) and then painted by a small backend each.

Label geometry (see ``LABEL_W_MM`` / ``LABEL_H_MM``): 130 x 185 mm, portrait.
The QR box, quiet zone included, is 112 mm wide; the smallest possible symbol
(version 1: 21 modules + 2 x 4 quiet-zone modules) therefore still prints
with a >= 80 mm symbol side, which is what scanning from about a metre away
needs.  Two such labels fit side by side on a *landscape* A4 page
(2 x 130 mm + 3 x 12.3 mm gaps = 297 mm); a portrait A4 page could take only
one of them, and shrinking the label to squeeze four onto a page would put
the QR below 80 mm.  Error correction is level Q (25 %): labels hang in
plants and get dirty, and the URL is short, so the extra modules are cheap.

Fonts: Chinese text needs a CJK font in every backend.  The repository ships
WenQuanYi Micro Hei (Apache-2.0 / GPLv3+font exception; see
``server/assets/fonts/LICENSE-wqy-microhei.txt``).  ``ZICHA_CJK_FONT`` may
point to another font file; for the PDF backend it must have TrueType
(``glyf``) outlines — reportlab cannot embed CFF-flavoured OpenType such as
the ``.otf`` Noto Sans CJK files.  The SVG does not embed a font; it names
a CJK font-family stack and leaves rendering to the viewer.
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "LabelData",
    "RISK_STYLE",
    "RISK_COLOUR_NAME",
    "LABEL_W_MM",
    "LABEL_H_MM",
    "QR_BOX_MM",
    "PNG_DPI",
    "LABELS_PER_PAGE",
    "FONT_ENV",
    "cjk_font_path",
    "pdf_font_name",
    "risk_caption",
    "qr_module_px",
    "render_png",
    "render_svg",
    "render_pdf_sheet",
]

# --------------------------------------------------------------------------
# Public data
# --------------------------------------------------------------------------

#: level -> (Chinese level name, band colour).  Colours follow the national
#: 红橙黄蓝 four-colour risk map convention.
RISK_STYLE: dict[str, tuple[str, str]] = {
    "red": ("重大风险", "#E60012"),
    "orange": ("较大风险", "#F39800"),
    "yellow": ("一般风险", "#FFF100"),
    "blue": ("低风险", "#0068B7"),
}

#: level -> the colour's own Chinese name, shown after the level name.
RISK_COLOUR_NAME: dict[str, str] = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}

# Text colour on the band: dark on yellow (white on #FFF100 is unreadable),
# white on the other three.
_BAND_TEXT_DARK = "#1A1A1A"
_BAND_TEXT_LIGHT = "#FFFFFF"

INSTRUCTION = "扫码进行安全检查"
SITE_PREFIX = "区域："

LABEL_W_MM = 130.0
LABEL_H_MM = 185.0
QR_BOX_MM = 112.0  # QR incl. 4-module quiet zone; symbol >= 80 mm for any version
QR_BORDER_MODULES = 4
PNG_DPI = 300
LABELS_PER_PAGE = 2

FONT_ENV = "ZICHA_CJK_FONT"
_BUNDLED_FONT = Path(__file__).resolve().parent.parent / "assets" / "fonts" / "wqy-microhei.ttf"

SVG_FONT_FAMILY = "WenQuanYi Micro Hei, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"


@dataclass(frozen=True)
class LabelData:
    post_name: str  # e.g. "1号液氨储罐区巡检点"
    site_name: str  # e.g. "危化品仓库"
    risk_level: str  # one of "red", "orange", "yellow", "blue"
    url: str  # what the QR encodes
    enterprise_name: str = ""

    def __post_init__(self) -> None:
        level = (self.risk_level or "").strip().lower()
        if level not in RISK_STYLE:
            raise ValueError(f"unknown risk_level {self.risk_level!r}; expected one of {sorted(RISK_STYLE)}")
        object.__setattr__(self, "risk_level", level)
        if not self.url or not self.url.strip():
            raise ValueError("url must not be empty")


def risk_caption(level: str) -> str:
    """The band text, e.g. ``"重大风险 红"``."""
    return f"{RISK_STYLE[level][0]} {RISK_COLOUR_NAME[level]}"


# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------


def cjk_font_path() -> Path:
    """The CJK font in use: ``$ZICHA_CJK_FONT`` if set, else the bundled one."""
    override = os.environ.get(FONT_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{FONT_ENV}={override!r} does not name a font file")
        return path
    return _BUNDLED_FONT


def _is_collection(path: str) -> bool:
    return path.lower().endswith((".ttc", ".otc"))


@lru_cache(maxsize=64)
def _pil_font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    # Face 0 of a collection.  BASIC layout: CJK needs no shaping and this
    # keeps measurements independent of whether libraqm is installed.
    # (FreeType faces are not thread-safe, but with the GIL Pillow never runs
    # two FreeType calls on one face at once; free-threaded builds lock.)
    return ImageFont.truetype(path, size_px, index=0, layout_engine=ImageFont.Layout.BASIC)


_MEASURE_PX = 1000


def _text_width(text: str, size_mm: float) -> float:
    """Advance width of ``text`` in mm at an em size of ``size_mm``."""
    if not text:
        return 0.0
    font = _pil_font(str(cjk_font_path()), _MEASURE_PX)
    return font.getlength(text) * size_mm / _MEASURE_PX


_pdf_font_lock = threading.Lock()
_pdf_fonts: dict[str, str] = {}  # font file path -> registered reportlab font name


def pdf_font_name() -> str:
    """Register the CJK font with reportlab once per font file; return its name (the labels
    and the hazard reports draw with it)."""
    path = str(cjk_font_path())
    name = _pdf_fonts.get(path)
    if name is not None:
        return name
    with _pdf_font_lock:
        name = _pdf_fonts.get(path)
        if name is None:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFError, TTFont

            name = f"ZichaCJK{len(_pdf_fonts)}"
            kwargs = {"subfontIndex": 0} if _is_collection(path) else {}
            try:
                font = TTFont(name, path, **kwargs)
            except TTFError as exc:  # e.g. CFF-based .otf
                raise ValueError(
                    f"cannot use {path!r} for PDF labels (needs TrueType outlines): {exc}"
                ) from exc
            pdfmetrics.registerFont(font)
            _pdf_fonts[path] = name
    return name


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------

# Characters XML 1.0 forbids (the SVG must stay well-formed) and any other
# control characters; newlines/tabs become plain spaces.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    return _SPACES.sub(" ", _BAD_CHARS.sub("", text or "")).strip()


# Latin words / numbers stay together ("T-101", "2#", "DN50"); every other
# character (CJK) is its own break opportunity.
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-_./#][A-Za-z0-9]+)*#?|\s+|.", re.S)
# Basic 禁则: never start a line with closing punctuation, never end one
# with opening punctuation.
_NO_LINE_START = frozenset("，。、：；！？）》」』】〕〉…—,.;:!?)]}%")
_NO_LINE_END = frozenset("（《「『【〔〈([{“‘")
ELLIPSIS = "…"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if out and not out[-1].isspace() and (tok[0] in _NO_LINE_START or out[-1][-1] in _NO_LINE_END):
            out[-1] += tok
        else:
            out.append(tok)
    return out


def _wrap(text: str, size: float, max_w: float) -> list[str]:
    """Greedy line breaking; never returns a line wider than ``max_w``
    (unless a single character is wider)."""
    lines: list[str] = []
    cur = ""
    for tok in _tokens(text):
        if tok.isspace():
            if cur:
                cur += " "
            continue
        if _text_width(cur + tok, size) <= max_w:
            cur += tok
            continue
        if cur.strip():
            lines.append(cur.rstrip())
        cur = ""
        if _text_width(tok, size) <= max_w:
            cur = tok
            continue
        for ch in tok:  # a token wider than the line: hard-break it
            if cur and _text_width(cur + ch, size) > max_w:
                lines.append(cur)
                cur = ch
            else:
                cur += ch
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _ellipsize(text: str, size: float, max_w: float) -> str:
    if _text_width(text, size) <= max_w:
        return text
    while text and _text_width(text + ELLIPSIS, size) > max_w:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def _fit_line(text: str, size: float, min_size: float, max_w: float) -> tuple[str, float]:
    """One line: shrink down to ``min_size`` if needed, then ellipsize."""
    width = _text_width(text, size)
    if width > max_w:
        size = max(min_size, size * max_w / width)
        text = _ellipsize(text, size, max_w)
    return text, size


# --------------------------------------------------------------------------
# Layout (millimetres, origin top-left, y downwards)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None
    radius: float = 0.0
    stroke: str | None = None
    stroke_w: float = 0.0


@dataclass(frozen=True)
class _Text:
    cx: float  # horizontal centre
    baseline: float
    text: str
    size: float  # em size, mm
    fill: str
    bold: bool = False


@dataclass(frozen=True)
class _QR:
    x: float
    y: float
    size: float  # box side incl. quiet zone, mm
    matrix: tuple[tuple[bool, ...], ...]  # incl. quiet zone


# CJK ideographs span roughly -0.09..0.80 em around the baseline; this puts
# their visual centre on the line's centre.
_CJK_CENTRE = 0.36
_LINE_HEIGHT = 1.2

_MARGIN = 6.0
_CONTENT_W = LABEL_W_MM - 2 * _MARGIN
_ENTERPRISE_H, _ENTERPRISE_SIZE, _ENTERPRISE_MIN = 8.0, 5.0, 3.5
_BAND_H, _BAND_SIZE = 18.0, 10.5
_GAP_AFTER_BAND = 3.0
_NAME_H = 21.0
_NAME_W = _CONTENT_W - 4
# (em size, max lines) tried in order; the last one ellipsizes if needed.
_NAME_STEPS = ((8.5, 2), (7.5, 2), (5.6, 3), (5.0, 3))  # size * 1.2 * lines < _NAME_H
_SITE_H, _SITE_SIZE, _SITE_MIN = 7.0, 4.8, 3.5
_INSTR_H, _INSTR_SIZE = 9.0, 6.0
_TEXT_DARK = "#1A1A1A"
_TEXT_GREY = "#444444"


@lru_cache(maxsize=256)
def _qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=QR_BORDER_MODULES, box_size=1)
    qr.add_data(url)
    qr.make(fit=True)
    return tuple(tuple(bool(v) for v in row) for row in qr.get_matrix())


def _line_baseline(top: float, height: float, size: float) -> float:
    return top + height / 2 + _CJK_CENTRE * size


def _layout(label: LabelData) -> list[_Rect | _Text | _QR]:
    level = label.risk_level
    band_colour = RISK_STYLE[level][1]
    enterprise = _clean(label.enterprise_name)
    post_name = _clean(label.post_name)
    site = _clean(label.site_name)

    content_h = (
        (_ENTERPRISE_H if enterprise else 0)
        + _BAND_H + _GAP_AFTER_BAND + _NAME_H + _SITE_H + QR_BOX_MM + _INSTR_H
    )
    y = (LABEL_H_MM - content_h) / 2
    cx = LABEL_W_MM / 2
    ops: list[_Rect | _Text | _QR] = [
        _Rect(0, 0, LABEL_W_MM, LABEL_H_MM, "#FFFFFF"),
        # thin grey outline: the cutting guide on printed sheets
        _Rect(0.3, 0.3, LABEL_W_MM - 0.6, LABEL_H_MM - 0.6, None, 3.0, "#B4B4B4", 0.3),
    ]

    if enterprise:
        text, size = _fit_line(enterprise, _ENTERPRISE_SIZE, _ENTERPRISE_MIN, _CONTENT_W)
        ops.append(_Text(cx, _line_baseline(y, _ENTERPRISE_H, size), text, size, _TEXT_GREY))
        y += _ENTERPRISE_H

    ops.append(_Rect(_MARGIN, y, _CONTENT_W, _BAND_H, band_colour, 2.0))
    band_fg = _BAND_TEXT_DARK if level == "yellow" else _BAND_TEXT_LIGHT
    caption, size = _fit_line(risk_caption(level), _BAND_SIZE, 6.0, _CONTENT_W - 8)
    ops.append(_Text(cx, _line_baseline(y, _BAND_H, size), caption, size, band_fg, bold=True))
    y += _BAND_H + _GAP_AFTER_BAND

    if post_name:
        for size, max_lines in _NAME_STEPS:
            lines = _wrap(post_name, size, _NAME_W)
            if len(lines) <= max_lines:
                break
        else:
            rest = "".join(lines[max_lines - 1:])
            lines = lines[: max_lines - 1] + [_ellipsize(rest, size, _NAME_W)]
        line_h = size * _LINE_HEIGHT
        top = y + (_NAME_H - line_h * len(lines)) / 2
        for i, line in enumerate(lines):
            ops.append(_Text(cx, _line_baseline(top + i * line_h, line_h, size), line, size, _TEXT_DARK, bold=True))
    y += _NAME_H

    if site:
        text, size = _fit_line(SITE_PREFIX + site, _SITE_SIZE, _SITE_MIN, _CONTENT_W)
        ops.append(_Text(cx, _line_baseline(y, _SITE_H, size), text, size, _TEXT_GREY))
    y += _SITE_H

    ops.append(_QR((LABEL_W_MM - QR_BOX_MM) / 2, y, QR_BOX_MM, _qr_matrix(label.url)))
    y += QR_BOX_MM

    ops.append(_Text(cx, _line_baseline(y, _INSTR_H, _INSTR_SIZE), INSTRUCTION, _INSTR_SIZE, _TEXT_DARK))
    return ops


def _bold_stroke(size: float) -> float:
    """How far (mm) glyph outlines are grown to embolden text — WQY Micro Hei
    has no bold face.  Pillow's ``stroke_width`` is this radius; a PDF stroke
    is centred on the outline, so its line width is twice this."""
    return size * 0.02


# --------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def qr_module_px(modules: int, dpi: int = PNG_DPI) -> int:
    """Integer module size (px) the PNG uses for a matrix of ``modules`` (quiet zone incl.)."""
    return round(QR_BOX_MM / 25.4 * dpi) // modules


def render_png(label: LabelData) -> bytes:
    """One label as an RGB PNG at 300 dpi (1535 x 2185 px)."""
    scale = PNG_DPI / 25.4
    font_path = str(cjk_font_path())
    img = Image.new("RGB", (round(LABEL_W_MM * scale), round(LABEL_H_MM * scale)), "#FFFFFF")
    draw = ImageDraw.Draw(img)

    for op in _layout(label):
        if isinstance(op, _Rect):
            box = [round(op.x * scale), round(op.y * scale),
                   round((op.x + op.w) * scale) - 1, round((op.y + op.h) * scale) - 1]
            draw.rounded_rectangle(
                box,
                radius=round(op.radius * scale),
                fill=_hex_rgb(op.fill) if op.fill else None,
                outline=_hex_rgb(op.stroke) if op.stroke else None,
                width=max(1, round(op.stroke_w * scale)) if op.stroke else 0,
            )
        elif isinstance(op, _Text):
            fill = _hex_rgb(op.fill)
            draw.text(
                (op.cx * scale, op.baseline * scale),
                op.text,
                font=_pil_font(font_path, max(1, round(op.size * scale))),
                fill=fill,
                anchor="ms",
                stroke_width=round(_bold_stroke(op.size) * scale) if op.bold else 0,
                stroke_fill=fill,
            )
        else:
            # Whole pixels per module keep the edges crisp; centre the symbol
            # in the box (the remainder only widens the quiet zone).
            n = len(op.matrix)
            box_px = round(op.size * scale)
            module = box_px // n
            small = Image.new("L", (n, n), 255)
            small.putdata([0 if dark else 255 for row in op.matrix for dark in row])
            qr_img = small.resize((n * module, n * module), Image.Resampling.NEAREST)
            offset = (box_px - n * module) // 2
            img.paste(qr_img.convert("RGB"), (round(op.x * scale) + offset, round(op.y * scale) + offset))

    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(PNG_DPI, PNG_DPI))
    return buf.getvalue()


# --------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------


def _num(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def _qr_path_data(matrix: tuple[tuple[bool, ...], ...]) -> str:
    """Dark modules as horizontal runs, in module units."""
    parts: list[str] = []
    for r, row in enumerate(matrix):
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                parts.append(f"M{start} {r}h{c - start}v1h-{c - start}z")
            else:
                c += 1
    return "".join(parts)


def render_svg(label: LabelData) -> str:
    """One label as a standalone SVG document sized in millimetres."""
    w, h = _num(LABEL_W_MM), _num(LABEL_H_MM)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">',
        f"<title>{escape(_clean(label.post_name))}</title>",
    ]
    texts: list[str] = []
    for op in _layout(label):
        if isinstance(op, _Rect):
            attrs = [f'x="{_num(op.x)}"', f'y="{_num(op.y)}"', f'width="{_num(op.w)}"', f'height="{_num(op.h)}"']
            if op.radius:
                attrs.append(f'rx="{_num(op.radius)}"')
            attrs.append(f'fill="{op.fill}"' if op.fill else 'fill="none"')
            if op.stroke:
                attrs.append(f'stroke="{op.stroke}" stroke-width="{_num(op.stroke_w)}"')
            out.append(f"<rect {' '.join(attrs)}/>")
        elif isinstance(op, _Text):
            weight = ' font-weight="bold"' if op.bold else ""
            texts.append(
                f'<text x="{_num(op.cx)}" y="{_num(op.baseline)}" font-size="{_num(op.size)}"'
                f' fill="{op.fill}"{weight}>{escape(op.text)}</text>'
            )
        else:
            module = op.size / len(op.matrix)
            out.append(
                f'<path fill="#000000" shape-rendering="crispEdges"'
                f' transform="translate({_num(op.x)} {_num(op.y)}) scale({module:.6f})"'
                f' d="{_qr_path_data(op.matrix)}"/>'
            )
    out.append(f'<g font-family={quoteattr(SVG_FONT_FAMILY)} text-anchor="middle">')
    out.extend(texts)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

_SHEET_TITLE_DEFAULT = "岗位二维码标签"


def render_pdf_sheet(labels: list[LabelData], title: str = "") -> bytes:
    """Landscape A4 pages, two labels per page (left, right), as many pages as needed.

    ``title`` is printed in the top margin of every page and set as the PDF
    document title.  Raises ``ValueError`` for an empty list.
    """
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas
    from reportlab.pdfgen.canvas import FILL_NON_ZERO

    labels = list(labels)
    if not labels:
        raise ValueError("no labels to render")
    font = pdf_font_name()
    title = _clean(title)

    page_w, page_h = landscape(A4)
    page_w_mm = page_w / mm
    gap_x = (page_w_mm - LABELS_PER_PAGE * LABEL_W_MM) / (LABELS_PER_PAGE + 1)
    top_mm = 15.0  # room for the title line
    pages = math.ceil(len(labels) / LABELS_PER_PAGE)

    buf = io.BytesIO()
    # initialFontName: otherwise every page also references a (non-embedded)
    # Helvetica that is never used.
    c = canvas.Canvas(
        buf, pagesize=(page_w, page_h), invariant=1, pageCompression=1,
        initialFontName=font, initialFontSize=12,
    )
    c.setTitle(title or _SHEET_TITLE_DEFAULT)
    c.setCreator("Zicha")
    c.setAuthor("Zicha")
    c.setSubject("岗位/风险点二维码标签")

    def draw_text(x_centre: float, y: float, text: str, size_pt: float, colour: str, stroke_pt: float = 0.0) -> None:
        width = stringWidth(text, font, size_pt)
        # q/Q: the text render mode (Tr) is graphics state and outlives ET,
        # and reportlab only emits Tr when *it* thinks the mode changed.
        c.saveState()
        t = c.beginText(x_centre - width / 2, y)
        t.setFont(font, size_pt)
        if stroke_pt:
            c.setStrokeColor(HexColor(colour))
            c.setLineWidth(stroke_pt)
            t.setTextRenderMode(2)  # fill + stroke: faux bold
        t.textOut(text)
        c.setFillColor(HexColor(colour))
        c.drawText(t)
        c.restoreState()

    for page in range(pages):
        if title:
            c.setFillColor(HexColor(_TEXT_GREY))
            c.setFont(font, 4 * mm)
            c.drawString(gap_x * mm, page_h - 9.5 * mm, title)
        c.setFillColor(HexColor(_TEXT_GREY))
        c.setFont(font, 3.2 * mm)
        c.drawRightString(page_w - gap_x * mm, page_h - 9.5 * mm, f"第 {page + 1} / {pages} 页")

        for slot, label in enumerate(labels[page * LABELS_PER_PAGE:(page + 1) * LABELS_PER_PAGE]):
            ox = (gap_x + slot * (LABEL_W_MM + gap_x)) * mm  # label's left edge, pt
            oy = page_h - top_mm * mm  # label's top edge, pt
            for op in _layout(label):
                if isinstance(op, _Rect):
                    if op.fill:
                        c.setFillColor(HexColor(op.fill))
                    if op.stroke:
                        c.setStrokeColor(HexColor(op.stroke))
                        c.setLineWidth(op.stroke_w * mm)
                    x, y = ox + op.x * mm, oy - (op.y + op.h) * mm
                    stroke, fill = int(bool(op.stroke)), int(bool(op.fill))
                    if op.radius:
                        c.roundRect(x, y, op.w * mm, op.h * mm, op.radius * mm, stroke=stroke, fill=fill)
                    else:
                        c.rect(x, y, op.w * mm, op.h * mm, stroke=stroke, fill=fill)
                elif isinstance(op, _Text):
                    draw_text(
                        ox + op.cx * mm,
                        oy - op.baseline * mm,
                        op.text,
                        op.size * mm,
                        op.fill,
                        2 * _bold_stroke(op.size) * mm if op.bold else 0.0,
                    )
                else:
                    m = op.size / len(op.matrix) * mm
                    qx, qy = ox + op.x * mm, oy - op.y * mm
                    # Each run is extended a hair downwards so adjacent rows
                    # overlap: no hairline seams in anti-aliasing viewers.
                    # Non-zero winding makes the overlaps a plain union.
                    eps = m * 0.02
                    path = c.beginPath()
                    for r, row in enumerate(op.matrix):
                        col, n = 0, len(row)
                        while col < n:
                            if row[col]:
                                start = col
                                while col < n and row[col]:
                                    col += 1
                                path.rect(qx + start * m, qy - (r + 1) * m - eps, (col - start) * m, m + eps)
                            else:
                                col += 1
                    c.setFillColor(HexColor("#000000"))
                    c.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
        c.showPage()
    c.save()
    return buf.getvalue()
