#!/usr/bin/env bash
# Makes the media of the example packet (examples/spring-sale) with real tools: Pillow for
# the still images, espeak-ng for the voice-over, FFmpeg for the reel. Deterministic inputs;
# re-running overwrites. Usage: tools/make-example.sh [PACKET_DIR]
set -euo pipefail
dir="${1:-$(dirname "$0")/../examples/spring-sale}"
mkdir -p "$dir/images" "$dir/video" "$dir/audio"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$dir/images" <<'PY'
import sys
from PIL import Image, ImageDraw, ImageFont
out = sys.argv[1]
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
REG = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
def font(path, size):
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.load_default()
def scene(w, h, sky, ground):
    im = Image.new("RGB", (w, h), sky)
    d = ImageDraw.Draw(im)
    for i in range(h // 2, h):  # ground gradient
        t = (i - h // 2) / (h / 2)
        c = tuple(int(ground[k] * (1 - 0.4 * t)) for k in range(3))
        d.line([(0, i), (w, i)], fill=c)
    # mountains and a tent: the "product"
    d.polygon([(0, h * 0.55), (w * 0.3, h * 0.25), (w * 0.6, h * 0.55)], fill=(90, 110, 130))
    d.polygon([(w * 0.4, h * 0.55), (w * 0.75, h * 0.2), (w, h * 0.55)], fill=(70, 90, 115))
    d.polygon([(w * 0.35, h * 0.8), (w * 0.5, h * 0.55), (w * 0.65, h * 0.8)], fill=(230, 120, 40))
    return im, d
def logo(size):
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse([0, 0, size - 1, size - 1], fill=(26, 115, 232, 255))
    d.polygon([(size * .2, size * .72), (size * .5, size * .25), (size * .8, size * .72)],
              fill=(255, 255, 255, 255))
    return im
logo(256).save(f"{out}/logo.png")
def poster(w, h, title, sub, cta, path, **kw):
    im, d = scene(w, h, (170, 205, 235), (80, 140, 70))
    d.text((w * 0.06, h * 0.05), title, font=font(BOLD, int(w * 0.085)), fill=(255, 255, 255))
    d.text((w * 0.06, h * 0.05 + w * 0.11), sub, font=font(REG, int(w * 0.045)), fill=(20, 40, 60))
    bx = [w * 0.06, h * 0.86, w * 0.5, h * 0.86 + w * 0.09]
    d.rounded_rectangle(bx, radius=int(w * 0.02), fill=(26, 115, 232))
    d.text((bx[0] + w * 0.03, bx[1] + w * 0.02), cta, font=font(BOLD, int(w * 0.045)),
           fill=(255, 255, 255))
    lg = logo(int(w * 0.14))
    im.paste(lg, (int(w * 0.82), int(h * 0.86)), lg)
    im.save(path, **kw)
poster(1080, 1080, "Spring Sale", "40% off everything", "Shop now", f"{out}/hero-a.png")
poster(1080, 1920, "Spring Sale", "40% off everything", "Shop now", f"{out}/hero-a-story.png")
poster(1080, 1080, "Last chance", "Up to 50% off tents", "Buy today", f"{out}/hero-b.jpg",
       quality=88)
# a landing-page screenshot: header, hero, three product cards, footer
im = Image.new("RGB", (1280, 2000), (250, 250, 250))
d = ImageDraw.Draw(im)
d.rectangle([0, 0, 1280, 90], fill=(26, 115, 232))
d.text((40, 25), "Acme Outdoor", font=font(BOLD, 40), fill=(255, 255, 255))
hero, _ = scene(1280, 700, (170, 205, 235), (80, 140, 70))
im.paste(hero, (0, 90))
d.text((60, 150), "Spring Sale: 40% off everything", font=font(BOLD, 56), fill=(255, 255, 255))
for i, name in enumerate(["Trail tent", "Day pack", "Hiking boots"]):
    x = 60 + i * 400
    d.rectangle([x, 860, x + 360, 1360], outline=(200, 200, 200), width=3, fill=(255, 255, 255))
    d.text((x + 30, 1280), name, font=font(REG, 34), fill=(30, 30, 30))
d.text((60, 1900), "Terms apply. Offer ends April 30.", font=font(REG, 26), fill=(90, 90, 90))
im.save(f"{out}/landing.png")
PY

# Voice-over: espeak-ng speech, then FFmpeg to a streaming-loudness MP3.
espeak-ng -v en-us -s 150 -w "$tmp/vo.wav" \
    "Fresh gear for fresh trails. This spring, everything at Acme Outdoor is forty percent off. \
Tents, packs and boots. Shop now. Terms apply."
ffmpeg -nostdin -loglevel error -y -i "$tmp/vo.wav" -af "aresample=44100,loudnorm=I=-16:TP=-2" \
    -ac 2 -ar 44100 -c:a libmp3lame -b:a 128k "$dir/audio/voiceover-a.mp3"

# The reel: the story poster with a slow pan (a crop that moves: cheap to encode), the voice-over over a quiet tone bed.
ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 30 -i "$dir/images/hero-a-story.png" \
    -i "$tmp/vo.wav" -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=12" \
    -filter_complex "[0:v]scale=1188:2112,crop=1080:1920:'(in_w-out_w)*t/12':'(in_h-out_h)*t/12',format=yuv420p[v];\
[1:a]aresample=48000,adelay=500|500[vo];[2:a]volume=0.05[bed];\
[vo][bed]amix=inputs=2:duration=longest,loudnorm=I=-14:TP=-1.5,aresample=48000[a]" \
    -map "[v]" -map "[a]" -t 12 -c:v libx264 -preset veryfast -b:v 2500k -maxrate 2500k \
    -bufsize 5000k -x264-params nal-hrd=cbr -r 30 \
    -c:a aac -b:a 160k -ac 2 -movflags +faststart "$dir/video/reel-a.mp4"
echo "example packet: $dir"
