#!/usr/bin/env bash
# Generates the media tests/media/test_av.c measures (lavfi sources: tones at known amplitude,
# noise, silence at known places, test patterns, in every container and codec Loupe reads), then
# measures them with the FFmpeg tools for the test to compare against:
#   NAME.json        ffprobe -show_format -show_streams
#   NAME.RATE.f32    ffmpeg's own mono float at RATE Hz (stereo files through a channel mean)
#   NAME.r128        ffmpeg's ebur128 (peak=true, 100 ms frame log) and silencedetect output
#   NAME.TAG.rgb     ffmpeg's first frame as rgb24 (TAG names the -vf used; "plain" for none)
# Usage: gen_av.sh OUTDIR. Runs go in parallel: each ffmpeg start alone costs about 0.25 s.
set -euo pipefail
cd "$1"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || {
    echo "gen_av.sh: ffmpeg and ffprobe are required" >&2
    exit 1
}

ff() { ffmpeg -nostdin -hide_banner -v error -y "$@"; }
pids=()
bg() {
    "$@" &
    pids+=($!)
}
wait_all() {
    for p in "${pids[@]}"; do wait "$p"; done
    pids=()
}

gen_audio() {
    ff -f lavfi -i "aevalsrc=0.5*sin(2*PI*1000*t):s=48000:d=6" \
        -f lavfi -i "anoisesrc=r=44100:a=0.2:c=pink:s=7:d=6" \
        -f lavfi -i "aevalsrc=0.5*sin(2*PI*440*t)|0.1*sin(2*PI*660*t):s=48000:d=6" \
        -f lavfi -i "aevalsrc=0.4*sin(2*PI*440*t)|0.1*sin(2*PI*660*t):s=44100:d=6" \
        -f lavfi -i "aevalsrc=0.3*sin(2*PI*300*t)|0.3*sin(2*PI*500*t):s=48000:d=6" \
        -f lavfi -i "aevalsrc=0.3*sin(2*PI*600*t):s=48000:d=6" \
        -f lavfi -i "aevalsrc='if(between(t,0.5,3),0.3*sin(2*PI*500*t),0)':s=48000:d=4" \
        -f lavfi -i "aevalsrc='if(between(t,1,3),0.3*sin(2*PI*500*t),0)|if(between(t,0.25,3.5),0.01*sin(2*PI*700*t),0)':s=44100:d=4" \
        -f lavfi -i "sine=r=8000:d=1" \
        -map 0 -c:a pcm_s16le tone.wav -map 1 noise.flac -map 2 -c:a pcm_f32le stereo.wav \
        -map 3 -c:a libmp3lame -b:a 128k stereo.mp3 -map 4 -c:a aac -b:a 128k tone.m4a \
        -map 5 -c:a libopus tone.opus -map 6 sil.wav -map 7 sil2.wav \
        -map 8 -c:a pcm_s16le long.mka
}

gen_mp4() {
    ff -f lavfi -i "testsrc2=s=160x120:r=25:d=2" -f lavfi -i "sine=f=440:r=48000:d=2" \
        -map 0 -map 1 -c:v libx264 -pix_fmt yuv420p -c:a aac av.mp4 \
        -map 0 -c:v libx264 -pix_fmt yuv420p -movflags +faststart fast.mp4
    # the display matrix alone: same pixels, turned at display time
    ff -i av.mp4 -map 0 -c copy -metadata:s:v:0 rotate=90 rot90.mp4 \
        -map 0 -c copy -metadata:s:v:0 rotate=270 rot270.mp4 \
        -map 0 -c copy -metadata:s:v:0 rotate=180 rot180.mp4
}

gen_other() {
    printf '1\n00:00:00,000 --> 00:00:01,000\nHello\n' >subs.srt
    ff -f lavfi -i "testsrc2=s=176x144:r=30000/1001:d=2" -f lavfi -i "sine=f=440:r=44100:d=2" \
        -i subs.srt -map 0 -map 1 -map 2 -c:v libx264 -pix_fmt yuv420p -c:a flac -c:s srt av.mkv
    ff -f lavfi -i "sine=f=440:r=44100:d=2" -f lavfi -i "color=red:s=32x32:d=0.04" \
        -map 0 -map 1 -c:a libmp3lame -c:v png -disposition:v attached_pic cover.mp3
}

gen_webm() {
    ff -f lavfi -i "testsrc2=s=160x120:r=30:d=2" -f lavfi -i "sine=f=440:r=48000:d=2" \
        -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus av.webm
}

gen_pictures() {
    ff -f lavfi -i "testsrc2=s=160x120:r=25:d=1,setsar=2" \
        -f lavfi -i "testsrc2=s=96x64:r=50:d=2" \
        -f lavfi -i "testsrc2=s=160x120:r=25:d=1" \
        -f lavfi -i "testsrc2=s=64x48:r=25:d=0.2" \
        -f lavfi -i "testsrc2=s=256x256:r=1:d=1" \
        -map 0 -c:v libx264 -pix_fmt yuv420p sar.mp4 \
        -map 1 -vf "select='lt(n,25)+eq(mod(n,2),0)'" -vsync vfr -c:v libx264 vfr.mp4 \
        -map 2 -c:v libx264 -pix_fmt yuv420p -flags +ildct+ilme -x264opts tff=1 inter.mp4 \
        -map 3 -c:v libx264 -pix_fmt yuv420p short.mp4 \
        -map 4 -c:v ffv1 -pix_fmt gray big.mkv
}

bg gen_audio
bg gen_mp4
bg gen_other
bg gen_webm
bg gen_pictures
wait_all

probe() { ffprobe -v error -show_format -show_streams -of json "$1" >"$1.json"; }
pcm() { # NAME RATE [mean]
    local mix=(-ac 1)
    [ "${3:-}" = mean ] && mix=(-af 'pan=mono|c0=0.5*c0+0.5*c1')
    ff -i "$1" -map 0:a:0 "${mix[@]}" -ar "$2" -f f32le "$1.$2.f32"
}
r128() {
    ffmpeg -nostdin -hide_banner -nostats -i "$1" -filter_complex \
        "[0:a:0]asplit[a][b];[a]ebur128=peak=true:framelog=info[o1];[b]silencedetect=n=-50dB:d=0.1[o2]" \
        -map '[o1]' -f null - -map '[o2]' -f null - >"$1.r128" 2>&1
}
frame() { # NAME TAG [VF]
    local vf=()
    [ -n "${3:-}" ] && vf=(-vf "$3")
    ff -i "$1" "${vf[@]}" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$1.$2.rgb"
}

for f in tone.wav noise.flac stereo.mp3 tone.m4a tone.opus av.mp4 av.webm av.mkv rot90.mp4 \
    rot270.mp4 rot180.mp4 sar.mp4 vfr.mp4 inter.mp4 cover.mp3; do
    bg probe "$f"
done
wait_all
for f in tone.wav noise.flac tone.opus av.mp4 av.webm; do bg pcm "$f" 16000; done
bg pcm av.mkv 8000
for f in stereo.wav stereo.mp3 tone.m4a; do bg pcm "$f" 16000 mean; done
wait_all
for f in tone.wav noise.flac stereo.wav stereo.mp3 tone.m4a tone.opus sil.wav sil2.wav av.mkv; do
    bg r128 "$f"
done
wait_all
for f in av.mp4 av.webm av.mkv rot90.mp4 rot270.mp4 rot180.mp4 short.mp4; do
    bg frame "$f" plain
done
bg frame sar.mp4 scaled "scale=320:120:flags=bicubic"
bg frame av.mp4 small "scale=80:60:flags=bicubic"
wait_all
