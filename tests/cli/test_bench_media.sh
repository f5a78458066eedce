#!/usr/bin/env bash
# CLI test of `loupe bench media` on the tiny preset with tiny inputs from
# bench/make_media.sh: usage errors exit 2, and the --json line carries every figure, with
# token counts worked out from the inputs rather than read back from the program.
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup bench_media "$LOUPE_ARG" "$2"
src=$(cd "$(dirname "$0")/../.." && pwd)

expect_exit 2 "at least one input" "$LOUPE" bench media -m x.gguf --mmproj y.gguf
expect_exit 2 "unknown option '--frobs'" "$LOUPE" bench media --frobs 1
expect_exit 2 "video-frames" "$LOUPE" bench media --video-frames 0

"$LOUPE" gen-model --preset gemma4-tiny --seed 3 -o "$TMP/m.gguf" --mmproj "$TMP/p.gguf" \
    2>/dev/null
bash "$src/bench/make_media.sh" "$TMP/in" --small >/dev/null
expect_exit 1 "$TMP/in/none.png" "$LOUPE" bench media -m "$TMP/m.gguf" --mmproj "$TMP/p.gguf" \
    --image "$TMP/in/none.png"

run() { "$LOUPE" bench media -m "$TMP/m.gguf" --mmproj "$TMP/p.gguf" -r 1 -t 1 --json "$@"; }
run --image "$TMP/in/image.png" --audio "$TMP/in/audio.mp3" --video "$TMP/in/video.mp4" \
    --video-frames 3 | tail -n 1 >"$TMP/full.json"
run --audio "$TMP/in/audio.mp3" --video "$TMP/in/video.mp4" --video-frames 2 --no-prefill |
    tail -n 1 >"$TMP/nopre.json"

# 3 s of sound at 16 kHz is 48000 samples = 75 frames of 640: 75 soft tokens between
# <|audio> and <audio|>. The image is 108x192; the video's frames 192x108.
/usr/bin/python3 - "$TMP/full.json" "$TMP/nopre.json" <<'PY'
import json, sys
full = json.load(open(sys.argv[1]))
nopre = json.load(open(sys.argv[2]))
def check(ok, what):
    if not ok:
        sys.exit("FAIL: " + what)
check(full["bench"] == "media" and full["peak_rss_bytes"] > 1e6, "header fields")
for k in ("image", "audio", "video"):
    e = full[k]
    for f in ("decode_s", "embed_s", "prefill_s", "prefill_tps"):
        check(e[f] > 0, k + " " + f)
    check(abs(e["prefill_tps"] * e["prefill_s"] - e["tokens"]) < 1e-6 * e["tokens"], k + " tps")
    check(abs(e["embed_over_prefill"] * e["prefill_s"] - e["embed_s"]) < 1e-9, k + " ratio")
a = full["audio"]
check(a["soft_tokens"] == 75 and a["tokens"] == 77, "audio tokens %r" % a)
i = full["image"]
check(i["input"] == "108x192" and 0 < i["soft_tokens"] <= 280, "image %r" % i)
check(i["tokens"] == i["soft_tokens"] + 2, "image markers")
v = full["video"]
check(v["input"].startswith("3 frames of 192x108"), "video input %r" % v["input"])
check(v["soft_tokens"] > 75 and v["tokens"] > v["soft_tokens"] + 6, "video tokens %r" % v)
check("image" not in nopre, "image not asked for")
for k in ("audio", "video"):
    check(nopre[k]["prefill_s"] is None and nopre[k]["embed_over_prefill"] is None, k + " null")
    check(nopre[k]["embed_s"] > 0, k + " embed without prefill")
check(nopre["audio"]["soft_tokens"] == 75, "audio again")
check(nopre["video"]["input"].startswith("2 frames"), "2 frames")
PY
echo "PASS"
