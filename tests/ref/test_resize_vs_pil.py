#!/usr/bin/env python3
"""Loupe's BICUBIC resize (embed_resize_rgb8, through `loupe image-resize`) against
Debian's python3-pil, the implementation spec §3.7 says it reproduces. Random RGB
images of fixed-seed random sizes, up and down, thin and square; every output pixel
must be within 1 of Pillow's (the target is 0: the count of exact cases is printed).
Usage: test_resize_vs_pil.py LOUPE TMPDIR; prints 'N passed, M failed'."""
import inspect
import os
import random
import subprocess
import sys

try:
    import numpy as np
    from PIL import Image
except ImportError as e:  # a missing dependency is a failure, never a silent pass
    print(f"test_resize_vs_pil: {e} (tools/install-deps installs python3-pil, python3-numpy)")
    sys.exit(1)

FIXED = [
    ((1, 4000), (48, 2000)), ((4000, 1), (2000, 48)), ((1, 1), (768, 768)),
    ((7, 3), (48, 48)), ((7, 3), (3, 7)), ((1024, 768), (912, 672)),
    ((640, 480), (864, 624)), ((1, 4000), (48, 13440)), ((4000, 1), (13440, 48)),
    ((1, 4000), (48, 53760)),
    ((3, 7), (1, 1)), ((2, 2), (1, 1)), ((100, 100), (100, 48)), ((100, 100), (48, 100)),
    ((97, 61), (97, 61)), ((1000, 10), (48, 10)), ((10, 1000), (10, 48)),
]


def random_cases(rng, n):
    cases = []
    while len(cases) < n:
        kind = rng.randrange(4)
        if kind == 0:  # general: anything from 1 to 700 per side
            w, h, ow, oh = (rng.randint(1, 700) for _ in range(4))
        elif kind == 1:  # strong downscale (wide kernels, many taps)
            w, h = rng.randint(200, 1500), rng.randint(200, 1500)
            ow, oh = rng.randint(1, 120), rng.randint(1, 120)
        elif kind == 2:  # strong upscale from tiny images
            w, h = rng.randint(1, 12), rng.randint(1, 12)
            ow, oh = rng.randint(1, 400), rng.randint(1, 400)
        else:  # extreme aspect ratios, one axis often unchanged
            w, h = rng.choice([(1, rng.randint(500, 4000)), (rng.randint(500, 4000), 1),
                               (rng.randint(2, 9), rng.randint(300, 2000))])
            ow = w if rng.random() < 0.3 else rng.randint(1, 96)
            oh = h if rng.random() < 0.3 else rng.randint(1, 600)
        if w * h <= 2_000_000 and ow * oh <= 2_000_000:
            cases.append(((w, h), (ow, oh)))
    return cases


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    loupe, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)
    # The comparison only means something if Image.resize takes no reducing shortcut.
    gap = inspect.signature(Image.Image.resize).parameters["reducing_gap"].default
    if gap is not None:
        print(f"Pillow {Image.__version__ if hasattr(Image, '__version__') else '?'}: "
              f"reducing_gap default is {gap!r}, expected None")
        return 1
    rng = random.Random(20240611)
    nrng = np.random.default_rng(20240611)
    cases = FIXED + random_cases(rng, 220)
    src_path = os.path.join(tmp, f"resize_in_{os.getpid()}.rgb")
    dst_path = os.path.join(tmp, f"resize_out_{os.getpid()}.rgb")
    passed = failed = exact = 0
    worst = 0
    for (w, h), (ow, oh) in cases:
        img = nrng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        ref = np.asarray(Image.fromarray(img, "RGB").resize((ow, oh), Image.BICUBIC))
        with open(src_path, "wb") as f:
            f.write(img.tobytes())
        r = subprocess.run([loupe, "image-resize", src_path, str(w), str(h), str(ow), str(oh),
                            dst_path], capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            print(f"FAIL {w}x{h} -> {ow}x{oh}: loupe exit {r.returncode}: {r.stderr.strip()}")
            continue
        with open(dst_path, "rb") as f:
            got = np.frombuffer(f.read(), dtype=np.uint8)
        if got.size != ow * oh * 3:
            failed += 1
            print(f"FAIL {w}x{h} -> {ow}x{oh}: {got.size} bytes out")
            continue
        diff = np.abs(got.reshape(oh, ow, 3).astype(np.int16) - ref.astype(np.int16))
        d = int(diff.max())
        worst = max(worst, d)
        if d <= 1:
            passed += 1
            exact += d == 0
        else:
            failed += 1
            y, x, c = np.unravel_index(int(diff.argmax()), diff.shape)
            print(f"FAIL {w}x{h} -> {ow}x{oh}: max |diff| {d} at x={x} y={y} c={c}")
    for p in (src_path, dst_path):
        if os.path.exists(p):
            os.remove(p)
    print(f"{exact} of {len(cases)} cases bit-exact, worst |diff| {worst}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
