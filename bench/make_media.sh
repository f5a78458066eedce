#!/usr/bin/env bash
# Makes the inputs of `loupe bench media` with the ffmpeg CLI, into the folder given:
# image.png (1080x1920), audio.mp3 (30 s, speech-like), video.mp4 (30 s 1920x1080 H.264 +
# AAC). `--small` makes tiny versions of the same for the CLI test (seconds, not minutes).
#     bench/make_media.sh DIR [--small]
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [--small]" >&2
    exit 2
fi
dir=$1
secs=30 img=1080x1920 vid=1920x1080
if [ "${2:-}" = "--small" ]; then
    secs=3 img=108x192 vid=192x108
fi
mkdir -p "$dir"
ff=(ffmpeg -hide_banner -loglevel error -y)

# Noise on the test pattern keeps the PNG as hard to compress as a photo.
"${ff[@]}" -f lavfi -i "testsrc2=size=$img:rate=1" -vf "noise=alls=24:allf=t" -frames:v 1 \
    "$dir/image.png"

# Speech-like: a voiced tone whose pitch wanders around 120-220 Hz with harmonics, cut into
# syllables at ~4 Hz, over pink noise (breath, room); the model cannot tell, the decoder
# and the projector cost the same as for real speech.
voice="0.3*(sin(2*PI*(170+50*sin(2*PI*0.7*t))*t)+0.5*sin(4*PI*(170+50*sin(2*PI*0.7*t))*t)"
voice="$voice+0.25*sin(6*PI*(170+50*sin(2*PI*0.7*t))*t))*max(0\\,sin(2*PI*4*t))"
"${ff[@]}" -f lavfi -i "aevalsrc=$voice:s=44100:d=$secs" \
    -f lavfi -i "anoisesrc=color=pink:amplitude=0.05:r=44100:d=$secs" \
    -filter_complex "[0:a][1:a]amix=inputs=2:normalize=0" -ac 1 "$dir/sound.wav"
"${ff[@]}" -i "$dir/sound.wav" -c:a libmp3lame -b:a 128k "$dir/audio.mp3"

"${ff[@]}" -f lavfi -i "testsrc2=size=$vid:rate=30:duration=$secs" -i "$dir/sound.wav" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 -shortest \
    "$dir/video.mp4"
rm -f "$dir/sound.wav"
echo "$dir: image.png audio.mp3 video.mp4"
