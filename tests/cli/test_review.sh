#!/usr/bin/env bash
# End to end: the example packet (made by tools/make-example.sh) reviewed with the tiny model
# and its projector: review.json valid against schemas/review-1.json and byte-identical across
# thread counts and folder vs zip; checks-only without -m; approve and audit verify.
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup review "$LOUPE_ARG" "$2"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3

mkdir -p "$TMP/pkt"
cp "$SRC/examples/spring-sale/packet.yaml" "$SRC/examples/spring-sale/brand.yaml" "$TMP/pkt/"
"$SRC/tools/make-example.sh" "$TMP/pkt" >/dev/null
"$LOUPE" gen-model --preset gemma4-tiny --type q8_0 --seed 1 -o "$TMP/m.gguf" \
    --mmproj "$TMP/mp.gguf" >/dev/null
WS="$TMP/ws"
# run with media: an image at the top budget (a 1120-token block, more than the default batch)
"$LOUPE" run -m "$TMP/m.gguf" --mmproj "$TMP/mp.gguf" --image "$TMP/pkt/images/hero-a-story.png" \
    --image-tokens 1120 --audio "$TMP/pkt/audio/voiceover-a.mp3" -p "Describe" -n 4 --temp 0 \
    >/dev/null 2>"$TMP/errrun" || { cat "$TMP/errrun"; fail "run with an image and audio"; }
grep -q "prompt [0-9]* tokens" "$TMP/errrun" || fail "run with media gave no timings"
MM=(-m "$TMP/m.gguf" --mmproj "$TMP/mp.gguf" --image-tokens 70 --video-frames 2)

# 1. the whole example with model and projector: exit 1 (variant B breaks the brand's words)
rc=0; "$LOUPE" review "$TMP/pkt" "${MM[@]}" -t 2 -o "$TMP/r1" --workspace "$WS" \
    >"$TMP/out1" 2>"$TMP/err1" || rc=$?
[ "$rc" -eq 1 ] || { cat "$TMP/err1"; fail "review exited $rc, want 1 (failed checks)"; }
grep -q "report: $TMP/r1/report.html" "$TMP/out1" || fail "review does not say where the report is"
for f in review.json report.html report.md variants.csv timings.json; do
    [ -s "$TMP/r1/$f" ] || fail "review wrote no $f"
done
$PY "$SRC/tests/review/validate_review.py" "$SRC/schemas/review-1.json" "$TMP/r1/review.json" \
    || fail "review.json does not match schemas/review-1.json"

# 2. what the review says, read independently of the C code
ffmpeg -nostats -hide_banner -i "$TMP/pkt/video/reel-a.mp4" -af ebur128 -f null - 2>&1 \
    | grep -A3 "Integrated loudness" | grep -o "I: *-\?[0-9.]*" | grep -o -- "-\?[0-9.]*" >"$TMP/lufs"
$PY - "$TMP/r1/review.json" "$(cat "$TMP/lufs")" <<'PY' || fail "review.json content"
import json, sys
r = json.load(open(sys.argv[1]))
a = {x["id"]: x for x in r["assets"]}
assert r["schema"] == "loupe.review/1", r["schema"]
assert r["model"]["arch"] == "gemma4" and len(r["model"]["sha256"]) == 64
assert len(r["projector"]["sha256"]) == 64
assert r["rubric"]["id"] == "default" and r["rubric"]["version"] == 1
assert r["sampling"]["image_tokens"] == 70 and r["sampling"]["video_frames"] == 2
hb = a["headline-b"]
assert any(c["check"] == "avoid_words" and c["status"] == "fail" for c in hb["checks"]), hb
assert hb["needs_approval"] is True
# every item the rubric applies was judged: copy, images, audio and video alike
items = {"copy": 3, "image": 4, "page": 4, "video": 8, "audio": 3}
for x in r["assets"]:
    assert len(x["findings"]) == items[x["kind"]], (x["id"], x["findings"])
    for f in x["findings"]:
        assert "severity" in f or f["not_reviewed"].startswith("model answer invalid"), f
reel = {(c["placement"], c["check"]): c for c in a["reel-a"]["checks"]}
lo = reel[("meta_reels", "loudness")]
assert lo["unit"] == "LUFS" and abs(lo["measured"] - float(sys.argv[2])) <= 0.1, (lo, sys.argv[2])
asp = reel[("meta_reels", "aspect_ratio")]
assert asp["status"] == "pass" and abs(asp["measured"] - 0.5625) < 1e-3, asp
dur = reel[("tiktok_infeed", "duration")]
assert abs(dur["measured"] - 12) < 0.1, dur
# the regions item decides the safe zone from the model's boxes, labelled model-detected
story = [c for c in a["hero-a-story"]["checks"] if c["check"] == "safe_zone"]
assert story and all(c["status"] in ("pass", "warn") and "model-detected" in c["note"]
                     for c in story), story
assert not any(f["item"] == "text_regions" for x in r["assets"] for f in x["findings"])
hero = {(c["placement"], c["check"]): c for c in a["hero-a"]["checks"]}
assert hero[("meta_feed_square", "aspect_ratio")]["status"] == "pass"
PY

# 3. byte-identical across thread counts and runs (a two-asset packet keeps this quick)
mkdir -p "$TMP/mini/images"
cp "$TMP/pkt/brand.yaml" "$TMP/mini/" && cp "$TMP/pkt/images/hero-a.png" "$TMP/pkt/images/logo.png" \
    "$TMP/mini/images/"
$PY - "$TMP/pkt/packet.yaml" "$TMP/mini/packet.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n  - id: ")
keep = [lines[0]] + [b for b in lines[1:] if b.split("\n")[0] in ("hero-a", "headline-b")]
open(sys.argv[2], "w").write("\n  - id: ".join(keep))
PY
for t in 1 2; do
    rc=0; "$LOUPE" review "$TMP/mini" "${MM[@]}" -t $t -o "$TMP/m$t" --workspace "$WS" \
        >/dev/null 2>"$TMP/errm" || rc=$?
    [ "$rc" -eq 1 ] || { cat "$TMP/errm"; fail "mini review (-t $t) exited $rc"; }
done
cmp "$TMP/m1/review.json" "$TMP/m2/review.json" || fail "review.json differs between 1 and 2 threads"
cmp "$TMP/m1/variants.csv" "$TMP/m2/variants.csv" || fail "variants.csv differs"
cmp "$TMP/m1/report.html" "$TMP/m2/report.html" || fail "report.html differs"

# 4. checks only (no model): every model item recorded as not reviewed; a zip of the same
# folder is the same packet and gives the same bytes
rc=0; "$LOUPE" review "$TMP/pkt" -o "$TMP/r4" --workspace "$WS" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "checks-only review exited $rc"
$PY -c "
import json,sys; r=json.load(open(sys.argv[1])); assert r['model'] is None
assert all(f.get('not_reviewed') == 'no model' for a in r['assets'] for f in a['findings'])
" "$TMP/r4/review.json" || fail "checks-only review.json"
(cd "$TMP/pkt" && $PY -c "import zipfile,os,sys
z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)
for d,_,fs in os.walk('.'):
    for f in sorted(fs): z.write(os.path.join(d,f), os.path.relpath(os.path.join(d,f),'.'))
" "$TMP/pkt.zip")
rc=0; "$LOUPE" review "$TMP/pkt.zip" -o "$TMP/r3" --workspace "$WS" >/dev/null 2>"$TMP/err3" \
    || rc=$?
[ "$rc" -eq 1 ] || { cat "$TMP/err3"; fail "zip review exited $rc"; }
cmp "$TMP/r4/review.json" "$TMP/r3/review.json" || fail "zip and folder reviews differ"

# 5. approve, by review id and by packet path; refusals
id=$(grep -o 'review r-[0-9a-f]*' "$TMP/out1" | cut -d' ' -f2)
"$LOUPE" approve "$id" headline-b --decision reject --by alice --note "avoid words" \
    --workspace "$WS" >/dev/null || fail "approve by id"
"$LOUPE" approve "$TMP/pkt" hero-a --decision approve --by bob --workspace "$WS" >/dev/null \
    || fail "approve by packet path"
expect_exit 2 "approve or reject" "$LOUPE" approve "$id" hero-a --decision maybe --by x \
    --workspace "$WS"
expect_exit 1 "nope" "$LOUPE" approve "$id" nope --decision approve --by x --workspace "$WS"

# 6. the audit log holds every review and decision, verifies, and catches an edit
"$LOUPE" audit verify --workspace "$WS" >/dev/null || fail "audit verify on an intact log"
n=$(wc -l <"$WS/audit.jsonl")
[ "$n" -eq 7 ] || fail "audit log has $n entries, want 7 (5 reviews, 2 decisions)"
sed -i '2s/"decision"/"decisioN"/; 2s/"review"/"revieW"/' "$WS/audit.jsonl"
expect_exit 1 "audit.jsonl:2" "$LOUPE" audit verify --workspace "$WS"

# 7. bad input: a packet naming a missing file fails naming the manifest line and the file
sed 's#images/hero-b.jpg#images/missing.jpg#' "$TMP/pkt/packet.yaml" >"$TMP/p2.yaml"
cp -r "$TMP/pkt" "$TMP/bad" && cp "$TMP/p2.yaml" "$TMP/bad/packet.yaml"
expect_exit 1 "missing.jpg" "$LOUPE" review "$TMP/bad" -o "$TMP/r5" --workspace "$WS"

# 8. a file of the wrong kind or one that will not decode is a failed row, not a crash, and
# review.json names it as the manifest does (no absolute paths)
cp -r "$TMP/pkt" "$TMP/kinds"
cp "$TMP/pkt/video/reel-a.mp4" "$TMP/kinds/images/hero-b.jpg"
cp "$TMP/pkt/audio/voiceover-a.mp3" "$TMP/kinds/video/reel-a.mp4"
head -c 3000 "$TMP/pkt/images/hero-a.png" >"$TMP/kinds/images/hero-a.png"
rc=0; "$LOUPE" review "$TMP/kinds" -o "$TMP/r6" --workspace "$TMP/ws8" >/dev/null 2>"$TMP/err6" || rc=$?
[ "$rc" -eq 1 ] || { cat "$TMP/err6"; fail "wrong-kind review exited $rc"; }
grep -q "$TMP" "$TMP/r6/review.json" && fail "review.json holds an absolute path"
$PY - "$TMP/r6/review.json" <<'PY' || fail "wrong-kind rows"
import json, sys
r = json.load(open(sys.argv[1]))
rows = {(a["id"], c["check"]): c for a in r["assets"] for c in a["checks"] if c["placement"] is None}
assert rows[("hero-b", "kind")]["status"] == "fail", rows[("hero-b", "kind")]
assert "is a video" in rows[("hero-b", "kind")]["note"]
assert rows[("reel-a", "kind")]["status"] == "fail" and "audio only" in rows[("reel-a", "kind")]["note"]
f = rows[("hero-a", "format")]
assert f["status"] == "fail" and "images/hero-a.png" in f["note"] and "truncated" in f["note"], f
PY
