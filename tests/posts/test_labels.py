# QR decoding in these tests uses the PyPI package `zxing-cpp` (import name
# `zxingcpp`, wheels bundle the native library; no system package needed).
# CI: pip install pillow qrcode reportlab pypdf zxing-cpp
"""Tests for server.posts.labels: PNG / SVG / PDF QR labels for inspection posts."""

from __future__ import annotations

import io
import math
import shutil
import xml.etree.ElementTree as ET

import pytest
from PIL import Image, ImageDraw

from server.posts import labels as L
from server.posts.labels import (
    RISK_STYLE,
    LabelData,
    render_pdf_sheet,
    render_png,
    render_svg,
)

zxingcpp = pytest.importorskip("zxingcpp")
pypdf = pytest.importorskip("pypdf")

SVG_NS = "{http://www.w3.org/2000/svg}"
PX_PER_MM = L.PNG_DPI / 25.4
LEVELS = ("red", "orange", "yellow", "blue")
URL = "https://zicha.example.cn/q/AbCdEf0123456789xyz"
LONG_NAME = (
    "2号甲醇装卸区作业岗位（含槽车停靠、静电接地检查、可燃气体报警仪及应急物资点位）"
    "超长名称测试用例ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789再加一些文字"
)
NASTY_NAME = '<罐区&"A"> 1#泵 \'x\' </text>'


def make(level="red", name="1号液氨储罐区巡检点", site="危化品仓库", url=URL, enterprise="某某化工有限公司"):
    return LabelData(post_name=name, site_name=site, risk_level=level, url=url, enterprise_name=enterprise)


def png_image(label: LabelData) -> Image.Image:
    data = render_png(label)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def px(mm: float) -> int:
    return round(mm * PX_PER_MM)


def find_band(img: Image.Image, rgb: tuple[int, int, int]) -> tuple[int, int]:
    """Longest vertical run (start, length) of exactly ``rgb`` in a column
    just inside the band's left edge, within the top 70 mm."""
    x = px(9)
    best = (0, 0)
    start = None
    for y in range(px(70)):
        if img.getpixel((x, y)) == rgb:
            if start is None:
                start = y
            if y - start + 1 > best[1]:
                best = (start, y - start + 1)
        else:
            start = None
    return best


def decode_qr(img: Image.Image):
    results = zxingcpp.read_barcodes(img)
    qrs = [r for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(qrs) == 1, results
    return qrs[0]


# --------------------------------------------------------------------- data


def test_label_data_validates_and_normalises_level():
    assert make(level=" RED ").risk_level == "red"
    with pytest.raises(ValueError):
        make(level="green")
    with pytest.raises(ValueError):
        make(url="  ")


def test_risk_style_and_caption():
    assert RISK_STYLE["red"] == ("重大风险", "#E60012")
    assert RISK_STYLE["orange"] == ("较大风险", "#F39800")
    assert RISK_STYLE["yellow"] == ("一般风险", "#FFF100")
    assert RISK_STYLE["blue"] == ("低风险", "#0068B7")
    assert L.risk_caption("red") == "重大风险 红"
    assert L.risk_caption("blue") == "低风险 蓝"


def test_bundled_font_and_licence_present():
    font = L.cjk_font_path()
    assert font.name == "wqy-microhei.ttf" and font.stat().st_size > 1_000_000
    with open(font, "rb") as fh:
        assert fh.read(4) == b"\x00\x01\x00\x00"  # TrueType outlines, not a collection
    licence = font.with_name("LICENSE-wqy-microhei.txt").read_text(encoding="utf-8")
    assert "Apache" in licence and "Font exception" in licence


def test_font_env_override(monkeypatch, tmp_path):
    copy = tmp_path / "other.ttf"
    shutil.copy(L.cjk_font_path(), copy)
    monkeypatch.setenv(L.FONT_ENV, str(copy))
    assert L.cjk_font_path() == copy
    assert decode_qr(png_image(make())).text == URL
    pdf = pypdf.PdfReader(io.BytesIO(render_pdf_sheet([make()])))
    assert "1号液氨储罐区巡检点" in pdf.pages[0].extract_text()

    monkeypatch.setenv(L.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(FileNotFoundError):
        render_png(make())


# ---------------------------------------------------------------------- PNG


def test_png_size_and_dpi():
    img = png_image(make())
    assert img.format == "PNG" and img.mode == "RGB"
    assert img.size == (px(L.LABEL_W_MM), px(L.LABEL_H_MM)) == (1535, 2185)
    dpi = img.info["dpi"]
    assert dpi[0] == pytest.approx(300, abs=0.5) and dpi[1] == pytest.approx(300, abs=0.5)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("enterprise", ["某某化工有限公司", ""])
def test_png_band_has_risk_colour_and_readable_text(level, enterprise):
    img = png_image(make(level=level, enterprise=enterprise))
    colour = hex_rgb(RISK_STYLE[level][1])
    top, length = find_band(img, colour)
    assert length >= px(17.5), f"no {level} band found"

    # Middle row of the band: the band colour at both ends, and text pixels
    # in between that are dark on yellow and white on the other colours.
    y = top + length // 2
    row = [img.getpixel((x, y)) for x in range(px(8), img.width - px(8))]
    assert row[0] == colour and row[-1] == colour
    text_px = [p for p in row if p != colour]
    assert len(text_px) > 50
    if level == "yellow":
        assert min(sum(p) for p in text_px) < 3 * 60
        assert not any(min(p) > 240 for p in text_px)
    else:
        assert any(min(p) > 250 for p in text_px)
        assert not any(max(p) < 60 for p in text_px)


@pytest.mark.parametrize("level", LEVELS)
def test_png_qr_decodes_back_to_url(level):
    img = png_image(make(level=level))
    qr = decode_qr(img)
    assert qr.text == URL
    assert qr.ec_level in ("M", "Q")
    # printed at 300 dpi the symbol (without quiet zone) is >= 80 mm wide
    side = qr.position.top_right.x - qr.position.top_left.x
    assert side >= px(80) - 1


def test_png_qr_has_quiet_zone():
    img = png_image(make()).convert("L")
    qr = decode_qr(img)
    module = L.qr_module_px(len(L._qr_matrix(URL)))
    x0, y0 = qr.position.top_left.x, qr.position.top_left.y
    x1, y1 = qr.position.bottom_right.x, qr.position.bottom_right.y
    quiet = 4 * module
    for box in (
        (x0 - quiet, y0 - quiet, x1 + quiet, y0 - 1),  # above
        (x0 - quiet, y1 + 1, x1 + quiet, y1 + quiet),  # below
        (x0 - quiet, y0, x0 - 1, y1),  # left
        (x1 + 1, y0, x1 + quiet, y1),  # right
    ):
        assert img.crop(box).getextrema() == (255, 255), box


def test_cjk_glyphs_present_no_tofu():
    # Every character the labels print must come from the font, not its
    # .notdef box: compare each glyph bitmap with that of a codepoint no font has.
    font = L._pil_font(str(L.cjk_font_path()), 64)

    def bitmap(ch):
        img = Image.new("L", (96, 96), 0)
        ImageDraw.Draw(img).text((16, 16), ch, font=font, fill=255)
        return img.tobytes()

    notdef = bitmap("\U0010fffd")
    chars = set("".join(L.risk_caption(lv) for lv in LEVELS))
    chars |= set(L.INSTRUCTION + L.SITE_PREFIX + "1号液氨储罐区巡检点危化品仓库某某化工有限公司" + LONG_NAME)
    chars.discard(" ")
    missing = [ch for ch in sorted(chars) if bitmap(ch) == notdef]
    assert not missing


def test_png_long_name_wraps_inside_margins():
    img = png_image(make(name=LONG_NAME)).convert("L")
    # the left/right strips between the grey outline and the 6 mm margin
    # stay blank (corners excluded: the outline is rounded)
    for x0, x1 in ((px(1), px(5.5)), (img.width - px(5.5), img.width - px(1))):
        assert img.crop((x0, px(4), x1, img.height - px(4))).getextrema() == (255, 255)
    assert decode_qr(img).text == URL


def test_png_with_special_characters():
    img = png_image(make(name=NASTY_NAME, site="A&B <仓库>", enterprise='"X" & <Y>'))
    assert decode_qr(img).text == URL


# ------------------------------------------------------------------- layout


def _texts(label):
    return [op for op in L._layout(label) if isinstance(op, L._Text)]


def test_layout_long_name_wraps_not_overflows():
    short_lines = [t for t in _texts(make()) if t.text == "1号液氨储罐区巡检点"]
    assert len(short_lines) == 1

    texts = _texts(make(name=LONG_NAME))
    for t in texts:
        width = L._text_width(t.text, t.size)
        assert t.cx - width / 2 >= 5 and t.cx + width / 2 <= L.LABEL_W_MM - 5, t.text
    name_lines = [t for t in texts if t.bold and t.text != L.risk_caption("red")]
    assert 2 <= len(name_lines) <= 3
    joined = "".join(t.text for t in name_lines)
    assert joined.startswith("2号甲醇装卸区作业岗位")
    # lines are stacked, not overlapping
    baselines = [t.baseline for t in name_lines]
    assert all(b2 - b1 >= t.size for (b1, b2, t) in zip(baselines, baselines[1:], name_lines))


def test_layout_moderately_long_name_is_kept_whole():
    name = "2号甲醇装卸区作业岗位（含槽车停靠、静电接地检查）"
    lines = [t.text for t in _texts(make(name=name)) if t.bold][1:]
    assert len(lines) == 2 and "".join(lines) == name
    assert not lines[1].startswith(("，", "、", "）"))
    assert not lines[0].endswith("（")


def test_layout_qr_box_and_order():
    ops = L._layout(make())
    qr = next(op for op in ops if isinstance(op, L._QR))
    n = len(qr.matrix)
    assert qr.size * (n - 8) / n >= 80  # symbol side in mm
    assert not any(qr.matrix[0]) and not any(qr.matrix[3])  # 4-module quiet zone
    assert not any(row[0] or row[3] for row in qr.matrix)
    assert 0 <= qr.x and qr.x + qr.size <= L.LABEL_W_MM and qr.y + qr.size <= L.LABEL_H_MM
    instr = next(t for t in _texts(make()) if t.text == "扫码进行安全检查")
    assert instr.baseline > qr.y + qr.size


# ---------------------------------------------------------------------- SVG


@pytest.mark.parametrize("level", LEVELS)
def test_svg_parses_and_has_colour_and_name(level):
    label = make(level=level)
    svg = render_svg(label)
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("width") == "130mm" and root.get("height") == "185mm"
    assert root.get("viewBox") == "0 0 130 185"
    assert RISK_STYLE[level][1] in svg
    assert [r.get("fill") for r in root.iter(f"{SVG_NS}rect")].count(RISK_STYLE[level][1]) == 1
    paths = list(root.iter(f"{SVG_NS}path"))
    assert len(paths) == 1 and paths[0].get("d").startswith("M")
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "1号液氨储罐区巡检点" in texts
    assert "扫码进行安全检查" in texts
    assert L.risk_caption(level) in texts
    assert "区域：危化品仓库" in texts
    assert "某某化工有限公司" in texts
    group = next(root.iter(f"{SVG_NS}g"))
    assert group.get("font-family") == "WenQuanYi Micro Hei, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"


def test_svg_escapes_special_characters():
    svg = render_svg(make(name=NASTY_NAME, site="A&B", enterprise='"X" & <Y>'))
    root = ET.fromstring(svg.encode("utf-8"))
    assert "&lt;罐区&amp;" in svg and "</text>'" not in svg
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert NASTY_NAME in texts
    assert "区域：A&B" in texts and '"X" & <Y>' in texts
    assert root.find(f"{SVG_NS}title").text == NASTY_NAME


def test_svg_strips_xml_invalid_characters():
    svg = render_svg(make(name="巡检\x00点\x1b\n二"))
    root = ET.fromstring(svg.encode("utf-8"))
    assert "巡检点 二" in [t.text for t in root.iter(f"{SVG_NS}text")]


def test_svg_qr_path_matches_matrix():
    # Rasterise the path's runs back into a matrix and compare.
    svg = render_svg(make())
    d = next(ET.fromstring(svg.encode()).iter(f"{SVG_NS}path")).get("d")
    matrix = L._qr_matrix(URL)
    n = len(matrix)
    grid = [[False] * n for _ in range(n)]
    for seg in d.split("z")[:-1]:
        head, rest = seg[1:].split("h", 1)
        col, row = map(int, head.split())
        for c in range(col, col + int(rest.split("v")[0])):
            grid[row][c] = True
    assert tuple(map(tuple, grid)) == matrix


# ---------------------------------------------------------------------- PDF


def _pdf(labels, title=""):
    data = render_pdf_sheet(labels, title=title)
    assert data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(data))


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_pdf_page_count(count):
    levels = LEVELS * 2
    labels = [make(level=levels[i], name=f"巡检点{i + 1}号", url=f"{URL}{i}") for i in range(count)]
    reader = _pdf(labels)
    assert len(reader.pages) == math.ceil(count / L.LABELS_PER_PAGE)
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(w), round(h)) == (842, 595)  # landscape A4
    text = "".join(p.extract_text() for p in reader.pages)
    for i in range(count):
        assert f"巡检点{i + 1}号" in text


def test_pdf_text_and_title():
    labels = [make("red"), make("yellow", name="液氯钢瓶库巡检点", site="仓储区"), make("blue", name=NASTY_NAME)]
    reader = _pdf(labels, title="危化品仓库 岗位二维码")
    text = "\n".join(p.extract_text() for p in reader.pages)
    for needle in ("1号液氨储罐区巡检点", "液氯钢瓶库巡检点", "重大风险", "一般风险", "低风险",
                   "扫码进行安全检查", "危化品仓库 岗位二维码", "某某化工有限公司", "<罐区&"):
        assert needle in text, needle
    assert reader.metadata.title == "危化品仓库 岗位二维码"


def test_pdf_font_is_embedded_truetype():
    reader = _pdf([make()])
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) >= 1
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/TrueType"
        assert "WenQuanYi" in font["/BaseFont"]
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
        assert "/ToUnicode" in font


def test_pdf_qr_scans_when_rasterised(tmp_path):
    # Rasterise with poppler's pdftoppm (poppler-utils) when it is installed.
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("poppler-utils not installed")
    import subprocess

    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(render_pdf_sheet([make(url=f"{URL}-a"), make("orange", url=f"{URL}-b")]))
    subprocess.run([pdftoppm, "-png", "-r", "100", "-singlefile", str(pdf), str(tmp_path / "sheet")],
                   capture_output=True, check=True)
    with Image.open(tmp_path / "sheet.png") as img:
        results = zxingcpp.read_barcodes(img)
    assert sorted(r.text for r in results) == [f"{URL}-a", f"{URL}-b"]


def test_pdf_is_deterministic_and_rejects_empty():
    labels = [make(), make("orange")]
    assert render_pdf_sheet(labels, "x") == render_pdf_sheet(labels, "x")
    with pytest.raises(ValueError):
        render_pdf_sheet([])
