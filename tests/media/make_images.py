#!/usr/bin/python3
"""Test images for tests/media/test_image.c, made at test time with PIL (plus a tiny PNG writer
for what PIL cannot write: 16-bit colour, Adam7 interlace, a lying IHDR), each with the pixels
PIL itself decodes from the file (open, exif_transpose, composite on white, RGB) as raw RGB.

  make_images.py OUTDIR            writes the files, NAME.rgb beside each, and manifest.txt
  make_images.py check PNG RAW     exits 0 when PIL decodes PNG to exactly the RGB bytes in RAW

manifest.txt, one image a line:
  name w h tol format stored_w stored_h orientation has_alpha bit_depth channels cmyk
  animated n_frames duration_ms
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

W, H = 29, 17  # odd and not square: orientation and edge bugs show
JW, JH = 45, 27  # JPEG: partial MCUs on both sides


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_bytes(arr, color_type, interlace=False, extra=b""):
    """PNG of an (h, w, c) uint8 or uint16 array, filter 0, optionally Adam7."""
    h, w = arr.shape[:2]
    depth = 16 if arr.dtype == np.uint16 else 8
    px = arr.reshape(h, w, -1)

    def rows(sub):
        if depth == 16:
            sub = sub.astype(">u2")
        return b"".join(b"\x00" + r.tobytes() for r in sub)

    if interlace:
        raw = b"".join(rows(px[ys::dy, xs::dx]) for xs, ys, dx, dy in ADAM7
                       if px[ys::dy, xs::dx].size)
    else:
        raw = rows(px)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def expected(path):
    """PIL's decode: open, exif_transpose, RGBA, composite on white with round(x / 255)."""
    im = Image.open(path)
    im.seek(0)
    if im.mode in ("I;16", "I;16B", "I"):
        g = (np.array(im).astype(np.uint32) >> 8).astype(np.uint8)
        im = Image.fromarray(g, "L")
    im = ImageOps.exif_transpose(im)
    rgba = np.array(im.convert("RGBA")).astype(np.uint32)
    a = rgba[..., 3:4]
    out = (rgba[..., :3] * a + (255 - a) * 255 + 127) // 255
    return out.astype(np.uint8)


def pattern(w, h, seed, ch=3, smooth=False):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
                     ((x + y) * 127 // max(w + h - 2, 1))], -1)
    if not smooth:
        base = base + rng.integers(-40, 40, (h, w, 3))
    arr = np.clip(base, 0, 255).astype(np.uint8)
    if ch == 4:
        alpha = rng.integers(0, 256, (h, w, 1)).astype(np.uint8)
        alpha[0, :] = 0
        alpha[1, :] = 255
        arr = np.concatenate([arr, alpha], -1)
    return arr


def exif_bytes(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


class Out:
    def __init__(self, d):
        self.d = d
        self.lines = []

    def add(self, name, data, tol, fmt, has_alpha, depth, channels, orientation=1, cmyk=0,
            n_frames=1, duration_ms=0):
        path = os.path.join(self.d, name)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
        im = Image.open(path)
        sw, sh = im.size
        exp = expected(path)
        with open(path + ".rgb", "wb") as f:
            f.write(exp.tobytes())
        h, w = exp.shape[:2]
        self.lines.append(f"{name} {w} {h} {tol} {fmt} {sw} {sh} {orientation} {has_alpha} "
                          f"{depth} {channels} {cmyk} {1 if n_frames > 1 else 0} {n_frames} "
                          f"{duration_ms}")

    def save(self, name, im, tol, fmt, has_alpha, depth, channels, **kw):
        extra = {k: kw.pop(k) for k in list(kw) if k in ("orientation", "cmyk", "n_frames",
                                                         "duration_ms")}
        buf = io.BytesIO()
        im.save(buf, **kw)
        self.add(name, buf.getvalue(), tol, fmt, has_alpha, depth, channels, **extra)


def make(d):
    o = Out(d)
    rgb, rgba = pattern(W, H, 1), pattern(W, H, 2, 4)
    # PNG: every colour type PIL writes, palette with partial tRNS, 1-bit, 16-bit, Adam7
    o.save("rgb.png", Image.fromarray(rgb), 0, "png", 0, 8, 3, format="PNG")
    o.save("rgba.png", Image.fromarray(rgba, "RGBA"), 0, "png", 1, 8, 4, format="PNG")
    o.save("la.png", Image.fromarray(rgba, "RGBA").convert("LA"), 0, "png", 1, 8, 2,
           format="PNG")
    o.save("l.png", Image.fromarray(rgb).convert("L"), 0, "png", 0, 8, 1, format="PNG")
    o.save("l1.png", Image.fromarray(rgb).convert("1"), 0, "png", 0, 1, 1, format="PNG")
    pal = Image.fromarray(rgb).quantize(256)
    o.save("p.png", pal, 0, "png", 0, 8, 3, format="PNG")
    trns = bytes(range(0, 256, 1))[::-1]  # index i has alpha 255 - i
    o.save("p_trns.png", pal, 0, "png", 1, 8, 4, format="PNG", transparency=trns)
    rng = np.random.default_rng(3)
    rgb16 = rng.integers(0, 65536, (H, W, 3)).astype(np.uint16)
    o.add("rgb16.png", png_bytes(rgb16, 2), 0, "png", 0, 16, 3)
    rgba16 = rng.integers(0, 65536, (H, W, 4)).astype(np.uint16)
    o.add("rgba16_interlaced.png", png_bytes(rgba16, 6, interlace=True), 0, "png", 1, 16, 4)
    o.save("l16.png", Image.fromarray(rng.integers(0, 65536, (H, W)).astype(np.uint16)), 0,
           "png", 0, 16, 1, format="PNG")
    o.add("interlaced.png", png_bytes(rgb, 2, interlace=True), 0, "png", 0, 8, 3)
    o.save("rgba_exif6.png", Image.fromarray(rgba, "RGBA"), 0, "png", 1, 8, 4, format="PNG",
           exif=exif_bytes(6), orientation=6)
    frames = [Image.fromarray(pattern(W, H, 10 + i)) for i in range(3)]
    o.save("anim.png", frames[0], 0, "png", 0, 8, 3, format="PNG", save_all=True,
           append_images=frames[1:], duration=100, loop=0, n_frames=3, duration_ms=300)
    # JPEG: 4:2:0 and 4:4:4, progressive, grey, Adobe CMYK, every EXIF orientation
    jp = Image.fromarray(pattern(JW, JH, 4, smooth=True))
    o.save("rgb.jpg", jp, 2, "jpeg", 0, 8, 3, format="JPEG", quality=90)
    o.save("rgb444.jpg", jp, 2, "jpeg", 0, 8, 3, format="JPEG", quality=95, subsampling=0)
    o.save("progressive.jpg", jp, 2, "jpeg", 0, 8, 3, format="JPEG", quality=85,
           progressive=True)
    o.save("grey.jpg", jp.convert("L"), 2, "jpeg", 0, 8, 1, format="JPEG", quality=90)
    o.save("cmyk.jpg", jp.convert("CMYK"), 2, "jpeg", 0, 8, 4, format="JPEG", quality=90,
           cmyk=1)
    for k in range(1, 9):
        o.save(f"exif{k}.jpg", jp, 2, "jpeg", 0, 8, 3, format="JPEG", quality=90,
               exif=exif_bytes(k), orientation=k)
    # WebP: lossless and lossy, with and without alpha, EXIF, animated
    o.save("lossless.webp", Image.fromarray(rgb), 0, "webp", 0, 8, 3, format="WEBP",
           lossless=True)
    o.save("lossless_alpha.webp", Image.fromarray(rgba, "RGBA"), 0, "webp", 1, 8, 4,
           format="WEBP", lossless=True, exact=True)
    o.save("lossy.webp", Image.fromarray(pattern(JW, JH, 5, smooth=True)), 2, "webp", 0, 8, 3,
           format="WEBP", quality=80)
    o.save("lossy_alpha.webp", Image.fromarray(pattern(JW, JH, 6, 4, smooth=True), "RGBA"), 2,
           "webp", 1, 8, 4, format="WEBP", quality=80)
    o.save("exif8.webp", Image.fromarray(rgb), 0, "webp", 0, 8, 3, format="WEBP",
           lossless=True, exif=exif_bytes(8), orientation=8)
    wf = [Image.fromarray(pattern(W, H, 20 + i, 4), "RGBA") for i in range(3)]
    o.save("anim.webp", wf[0], 0, "webp", 1, 8, 4, format="WEBP", save_all=True,
           append_images=wf[1:], duration=100, loop=0, lossless=True, n_frames=3,
           duration_ms=300)
    # GIF (libavcodec): static, with a transparent index, animated with uneven delays
    o.save("static.gif", pal, 0, "gif", 0, 8, 3, format="GIF")
    o.save("trns.gif", pal, 0, "gif", 1, 8, 4, format="GIF", transparency=7)
    gf = [Image.fromarray(pattern(W, H, 30 + i)).quantize(64) for i in range(3)]
    o.save("anim.gif", gf[0], 0, "gif", 0, 8, 3, format="GIF", save_all=True,
           append_images=gf[1:], duration=[100, 200, 50], loop=0, n_frames=3,
           duration_ms=350)
    # other formats libavcodec decodes, found by content
    o.save("rgb.bmp", Image.fromarray(rgb), 0, "bmp", 0, 8, 3, format="BMP", n_frames=0)
    o.save("rgb.tiff", Image.fromarray(rgb), 0, "tiff", 0, 8, 3, format="TIFF", n_frames=0)
    with open(os.path.join(d, "manifest.txt"), "w") as f:
        f.write("\n".join(o.lines) + "\n")
    # a PNG whose IHDR claims 100000 x 100000 (valid CRC), for the caps
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    with open(os.path.join(d, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def check(png, raw):
    exp = np.array(Image.open(png).convert("RGB")).tobytes()
    with open(raw, "rb") as f:
        got = f.read()
    return 0 if exp == got else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    os.makedirs(sys.argv[1], exist_ok=True)
    make(sys.argv[1])
