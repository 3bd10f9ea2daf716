"""Tests for engine/media.py: every file is generated here (Pillow images, PyAV videos).

Each case either returns the right thing (size, mode, frame count, timestamps,
frame content) or raises `MediaError` whose message names the file.
"""

from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from engine.errors import MediaError
from engine.media import (
    MediaLimits,
    VideoClip,
    _targets,
    check_media,
    detect_kind,
    load_image,
    load_video,
    trim_margins,
)

CODECS = set(av.codecs_available)


def needs(codec: str):
    return pytest.mark.skipif(codec not in CODECS, reason=f"PyAV here cannot encode {codec}")


def raises_naming(path, *words):
    """Context: a MediaError whose message names the file's base name and contains `words`."""

    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(MediaError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.cm.__exit__(*exc)
            msg = str(self.info.value)
            assert os.path.basename(path) in msg, msg
            for w in words:
                assert w in msg, msg
            return handled

    return _Ctx()


# ---------------------------------------------------------------- video writers


def digits_frame(i: int, w: int, h: int) -> np.ndarray:
    """A frame whose index is readable after lossy coding: tens left, units right."""
    a = np.zeros((h, w, 3), np.uint8)  # [H, W, 3]
    a[:, : w // 2] = (i // 10 % 10) * 25
    a[:, w // 2 :] = (i % 10) * 25
    return a


def read_index(frame: np.ndarray) -> int:
    h, w = frame.shape[:2]
    tens = frame[h // 4 : 3 * h // 4, w // 8 : 3 * w // 8].mean() / 25
    units = frame[h // 4 : 3 * h // 4, 5 * w // 8 : 7 * w // 8].mean() / 25
    return round(tens) * 10 + round(units)


def write_video(
    path,
    codec="libx264",
    fmt=None,
    n=20,
    fps=10,
    w=64,
    h=48,
    pts=None,
    rotation=None,
    gop=None,
    options=None,
    frame=digits_frame,
    bframes=True,
    pix_fmt="yuv420p",
    sar=None,
):
    """Encode `n` frames; `pts` (milliseconds) makes a variable-frame-rate file."""
    out = av.open(path, "w", format=fmt, options=options or {})
    s = out.add_stream(codec, rate=fps)
    s.width, s.height = w, h
    s.pix_fmt = "rgb8" if codec == "gif" else pix_fmt
    if sar:
        s.codec_context.sample_aspect_ratio = sar
    if gop:
        s.codec_context.gop_size = gop
    if not bframes:
        s.codec_context.max_b_frames = 0
    if pts is not None:
        s.codec_context.time_base = Fraction(1, 1000)
    if rotation is not None:
        s.set_display_rotation(rotation)
    for i in range(n):
        f = av.VideoFrame.from_ndarray(frame(i, w, h), format="rgb24").reformat(format=s.pix_fmt)
        f.pts, f.time_base = (pts[i], Fraction(1, 1000)) if pts is not None else (i, Fraction(1, fps))
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    return str(path)


class _Unseekable(io.RawIOBase):
    """A write-only sink: the muxer cannot go back to write the duration."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += bytes(b)
        return len(b)


def write_no_duration_mkv(path, n=25, fps=10):
    sink = _Unseekable()
    write_video(sink, fmt="matroska", n=n, fps=fps)
    with open(path, "wb") as f:
        f.write(sink.data)
    with av.open(str(path)) as c:
        assert not c.streams.video[0].duration and not c.duration  # the case under test
    return str(path)


def check_clip(clip: VideoClip, limits: MediaLimits | None = None):
    limits = limits or MediaLimits()
    t, h, w, c = clip.frames.shape
    assert clip.frames.dtype == np.uint8 and c == 3 and t >= 1
    assert (clip.width, clip.height) == (w, h)
    assert max(w, h) <= limits.video_max_side
    assert t <= limits.video_max_frames and len(clip.timestamps) == t
    ts = np.array(clip.timestamps)
    assert np.all(np.diff(ts) > 0)
    assert ts[0] >= 0 and ts[-1] < clip.duration_s
    assert clip.source_fps > 0 and clip.total_frames >= t


# ---------------------------------------------------------------- videos: formats


CONTAINERS = [
    ("libx264", "mp4"),
    ("libx264", "mov"),
    ("libx264", "mkv"),
    ("libvpx", "webm"),
    ("libvpx-vp9", "webm"),
    ("mpeg4", "mp4"),
    ("libx265", "mp4"),  # HEVC, as phones record
    ("libsvtav1", "mp4"),
    ("libsvtav1", "webm"),
]


@pytest.mark.parametrize(("codec", "ext"), CONTAINERS, ids=[f"{c}-{e}" for c, e in CONTAINERS])
@pytest.mark.parametrize(("seconds", "fps"), [(1, 10), (3, 25)])
def test_video_formats_sample_at_2fps_with_the_right_frames(tmp_path, codec, ext, seconds, fps):
    if codec not in CODECS:
        pytest.skip(f"PyAV here cannot encode {codec}")
    path = write_video(tmp_path / f"clip.{ext}", codec, n=seconds * fps, fps=fps)
    assert detect_kind(path) == "video"
    clip = load_video(path)
    check_clip(clip)
    assert len(clip.timestamps) == seconds * 2
    assert clip.source_fps == pytest.approx(fps)
    assert clip.duration_s == pytest.approx(seconds, abs=0.05)
    for k, (t, frame) in enumerate(zip(clip.timestamps, clip.frames, strict=True)):
        assert k / 2 - 1e-3 <= t < k / 2 + 1 / fps  # first frame at/after the target
        assert read_index(frame) == round(t * fps)  # the pixels are that frame's


@needs("gif")
def test_animated_gif_is_a_video_and_its_first_frame_an_image(tmp_path):
    path = write_video(tmp_path / "anim.gif", "gif", n=20, fps=10)
    assert detect_kind(path) == "video"
    clip = load_video(path)
    check_clip(clip)
    assert len(clip.timestamps) == 4
    assert [read_index(f) for f in clip.frames] == [round(t * 10) for t in clip.timestamps]
    im = load_image(path)
    assert im.mode == "RGB" and min(im.size) >= 32
    check_media([path], [path], frozenset({"text", "image", "video"}))


@needs("libx264")
def test_seeking_picks_the_right_frames_across_keyframes(tmp_path):
    path = write_video(tmp_path / "long.mp4", n=100, fps=10, gop=10)
    limits = MediaLimits(video_fps=0.4)  # targets 2.5 s apart: each reached by a seek
    clip = load_video(path, limits)
    check_clip(clip, limits)
    assert clip.timestamps == pytest.approx([0.0, 2.5, 5.0, 7.5])
    assert [read_index(f) for f in clip.frames] == [0, 25, 50, 75]


@needs("libx264")
def test_max_frames_spreads_samples_over_the_whole_duration(tmp_path):
    path = write_video(tmp_path / "spread.mp4", n=60, fps=20)
    limits = MediaLimits(video_fps=10, video_max_frames=6)
    clip = load_video(path, limits)
    check_clip(clip, limits)
    assert len(clip.timestamps) == 6
    assert clip.timestamps == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert clip.frames.base is None or clip.frames.base.shape[0] == 6  # memory: sampled frames only


@needs("libx264")
def test_variable_frame_rate_uses_timestamps_not_indices(tmp_path):
    ms = [0, 40, 80, 120, 600, 640, 1450, 1490, 1530, 2200, 2240, 2280, 2900, 2990]
    # no B-frames: with them and these gaps the muxer writes a header duration short of the last frame
    path = write_video(tmp_path / "vfr.mp4", n=len(ms), fps=25, pts=ms, bframes=False)
    clip = load_video(path)
    check_clip(clip)
    expected = []
    for target in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):
        i = next(i for i, m in enumerate(ms) if m / 1000 >= target - 1e-3)
        if i not in expected:
            expected.append(i)
    assert [read_index(f) for f in clip.frames] == expected
    assert clip.timestamps == pytest.approx([ms[i] / 1000 for i in expected])


def _corner_frame(i, w, h):
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 3, : w // 3] = 255  # a white block at the stored top-left
    return a


@needs("libx264")
@pytest.mark.parametrize(
    ("degrees", "corner"), [(90, "bottom-left"), (-90, "top-right"), (180, "bottom-right")]
)
def test_rotation_metadata_is_applied(tmp_path, degrees, corner):
    path = write_video(tmp_path / "rot.mp4", n=10, fps=10, rotation=degrees, frame=_corner_frame)
    clip = load_video(path)
    check_clip(clip)
    assert clip.rotation == degrees % 360
    f = clip.frames[0]
    assert f.shape[:2] == ((48, 64) if degrees == 180 else (64, 48))
    h, w = f.shape[:2]
    corners = {
        "top-left": f[2, 2],
        "top-right": f[2, w - 3],
        "bottom-left": f[h - 3, 2],
        "bottom-right": f[h - 3, w - 3],
    }
    assert {k for k, v in corners.items() if v.mean() > 200} == {corner}


@needs("libx264")
def test_old_style_rotate_tag_is_applied(tmp_path):
    path = str(tmp_path / "tagged.mkv")
    out = av.open(path, "w")
    s = out.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    s.metadata["rotate"] = "90"  # clockwise, as phones wrote it
    for i in range(10):
        f = av.VideoFrame.from_ndarray(_corner_frame(i, 64, 48), format="rgb24")
        f.pts = i
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    clip = load_video(path)
    assert clip.rotation == 270 and clip.frames.shape[1:3] == (64, 48)
    assert clip.frames[0, 2, 45].mean() > 200  # stored top-left -> top-right after a clockwise turn


@needs("libx264")
def test_frames_are_downscaled_while_decoding(tmp_path):
    path = write_video(tmp_path / "wide.mp4", n=10, fps=10, w=320, h=80)
    clip = load_video(path, MediaLimits(video_max_side=64))
    assert clip.frames.shape[1:] == (16, 64, 3)
    assert [read_index(f) for f in clip.frames] == [0, 5]


@needs("libx264")
def test_ten_bit_anamorphic_video_is_read_at_display_aspect(tmp_path):
    path = write_video(tmp_path / "deep.mp4", n=10, fps=10, pix_fmt="yuv420p10le", sar=Fraction(2, 1))
    clip = load_video(path)
    check_clip(clip)
    assert clip.frames.shape[1:] == (48, 128, 3)  # 64 stored pixels shown 2:1 wide
    assert [read_index(f) for f in clip.frames] == [0, 5]


@needs("libx264")
def test_stream_without_duration_falls_back_to_a_bounded_decode(tmp_path):
    path = write_no_duration_mkv(tmp_path / "live.mkv", n=25, fps=10)
    clip = load_video(path)
    check_clip(clip)
    assert clip.timestamps == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert [read_index(f) for f in clip.frames] == [0, 5, 10, 15, 20]
    assert clip.duration_s == pytest.approx(2.5)


@needs("libx264")
def test_stream_without_duration_thins_its_grid_to_max_frames(tmp_path):
    path = write_no_duration_mkv(tmp_path / "live.mkv", n=100, fps=10)
    limits = MediaLimits(video_max_frames=4)
    clip = load_video(path, limits)
    check_clip(clip, limits)
    ts = np.array(clip.timestamps)
    assert 2 <= len(ts) <= 4 and np.allclose(np.diff(ts), ts[1] - ts[0])
    assert [read_index(f) for f in clip.frames] == [round(t * 10) for t in ts]


@needs("libx264")
def test_stream_without_duration_is_still_refused_when_too_long(tmp_path):
    path = write_no_duration_mkv(tmp_path / "live.mkv", n=40, fps=10)
    with raises_naming(path, "long"):
        load_video(path, MediaLimits(video_max_duration_s=2.0))


@pytest.mark.slow  # the first transformers import takes seconds
@needs("libx264")
def test_metadata_gives_the_processor_real_timing(tmp_path):
    path = write_video(tmp_path / "meta.mp4", n=45, fps=15)
    clip = load_video(path)
    meta = clip.metadata()
    assert meta.fps == pytest.approx(15) and meta.total_num_frames == 45
    assert meta.duration == pytest.approx(3.0) and (meta.width, meta.height) == (64, 48)
    assert len(meta.frames_indices) == len(clip.frames)
    assert meta.timestamps == pytest.approx(list(clip.timestamps), abs=1 / 15)
    assert meta.sampled_fps == pytest.approx(2.0, rel=0.05)

    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    out = Qwen3VLVideoProcessor()(  # the frames are already sampled: the processor must not resample
        videos=[clip.frames],
        video_metadata=[meta],
        do_sample_frames=False,
        return_metadata=True,
        cap_pixels_per_frame=True,
    )
    assert int(out["video_grid_thw"][0][0]) == math.ceil(len(clip.frames) / 2)
    assert out["video_metadata"][0].timestamps == pytest.approx(list(clip.timestamps), abs=1 / 15)


# ---------------------------------------------------------------- videos: refused


def test_video_refusals_name_the_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("just some text, not a video\n" * 50)
    for path, words in [
        (empty, ["empty"]),
        (text, ["not a media file"]),
        (tmp_path / "gone.mp4", ["not found"]),
    ]:
        with raises_naming(str(path), *words):
            load_video(str(path))
        with raises_naming(str(path), *words):
            detect_kind(str(path))


@needs("aac")
def test_audio_only_file_is_refused(tmp_path):
    path = str(tmp_path / "voice.m4a")
    out = av.open(path, "w")
    s = out.add_stream("aac", rate=16000)
    for i in range(10):
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 16000, i * 1024
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    for fn in (load_video, detect_kind):
        with raises_naming(path, "audio only"):
            fn(path)


@needs("libx264")
def test_too_long_and_too_large_are_refused_before_decoding(tmp_path):
    path = write_video(tmp_path / "clip.mp4", n=30, fps=10)
    with raises_naming(path, "long", "0:03"):
        load_video(path, MediaLimits(video_max_duration_s=2))
    with raises_naming(path, "too large"):
        load_video(path, MediaLimits(video_max_bytes=100))
    small_frames = MediaLimits(video_max_source_pixels=64 * 48 - 1)
    with raises_naming(path, "64x48", "megapixels"):
        load_video(path, small_frames)
    with raises_naming(path, "64x48"):
        check_media([], [path], frozenset({"text", "video"}), small_frames)


@needs("libx264")
def test_truncated_mp4_is_refused_or_partial(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", n=30, fps=10)
    data = Path(whole).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: gone
    with raises_naming(str(cut), "not a media file"):
        load_video(str(cut))
    fast = write_video(tmp_path / "fast.mp4", n=30, fps=10, options={"movflags": "faststart"})
    data = Path(fast).read_bytes()
    cut2 = tmp_path / "cut2.mp4"
    cut2.write_bytes(data[: len(data) * 2 // 3])  # index first, frame data cut
    try:
        clip = load_video(str(cut2))
    except MediaError as err:
        assert "cut2.mp4" in str(err)
    else:
        check_clip(clip)
        assert [read_index(f) for f in clip.frames] == [round(t * 10) for t in clip.timestamps]


@needs("libx264")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_videos_never_escape_as_other_errors(tmp_path, data):
    path = tmp_path / "base.mp4"
    if not path.exists():
        write_video(path, n=20, fps=10, options={"movflags": "faststart"})
    raw = bytearray(path.read_bytes())
    cut = data.draw(st.integers(1, len(raw)))
    flips = data.draw(st.lists(st.integers(0, cut - 1), max_size=8))
    for i in flips:
        raw[i] ^= 0xFF
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(raw[:cut]))
    try:
        clip = load_video(str(bad))
    except MediaError as err:
        assert "bad.mp4" in str(err)
    else:
        check_clip(clip)


# ---------------------------------------------------------------- images


def _save(im: Image.Image, path, **kw) -> str:
    im.save(path, **kw)
    return str(path)


@pytest.mark.parametrize(
    ("mode", "ext"),
    [
        ("RGB", "png"),
        ("RGBA", "png"),
        ("P", "png"),
        ("L", "png"),
        ("LA", "png"),
        ("1", "png"),
        ("I;16", "png"),
        ("I", "tiff"),
        ("F", "tiff"),
        ("CMYK", "jpg"),
        ("CMYK", "tiff"),
        ("RGB", "jpg"),
        ("RGB", "webp"),
        ("RGB", "bmp"),
        ("P", "gif"),
    ],
)
def test_every_mode_and_format_becomes_rgb(tmp_path, mode, ext):
    im = Image.new(mode, (40, 36))
    path = _save(im, tmp_path / f"img_{mode.replace(';', '')}.{ext}")
    assert detect_kind(path) == "image"
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (40, 36)


def test_alpha_is_composited_on_white(tmp_path):
    a = np.zeros((40, 40, 4), np.uint8)
    a[:20, :, :] = (255, 0, 0, 255)  # opaque red on top, transparent below
    path = _save(Image.fromarray(a, "RGBA"), tmp_path / "alpha.png")
    out = np.asarray(load_image(path))
    assert tuple(out[5, 5]) == (255, 0, 0) and tuple(out[35, 5]) == (255, 255, 255)
    p = Image.new("P", (40, 40), 1)
    p.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    path = _save(p, tmp_path / "clear.gif", transparency=1)
    assert tuple(np.asarray(load_image(path))[0, 0]) == (255, 255, 255)


def test_high_bit_depth_is_scaled_not_clipped(tmp_path):
    a = np.full((40, 40), 32768, np.uint16)
    path = _save(Image.fromarray(a), tmp_path / "deep.png")
    assert np.asarray(load_image(path)).mean() == pytest.approx(127.5, abs=1.5)
    f = np.full((40, 40), 0.5, np.float32)
    path = _save(Image.fromarray(f, "F"), tmp_path / "float.tiff")
    assert np.asarray(load_image(path)).mean() == pytest.approx(127.5, abs=1.5)


def test_cmyk_white_stays_white(tmp_path):
    path = _save(Image.new("CMYK", (40, 40), (0, 0, 0, 0)), tmp_path / "print.jpg")
    assert np.asarray(load_image(path)).min() >= 250


def test_exif_orientation_is_applied(tmp_path):
    a = np.zeros((40, 60, 3), np.uint8)
    a[:10, :10] = 255  # white block at stored top-left of a 60x40 picture
    exif = Image.Exif()
    exif[0x0112] = 6  # display: rotate 90 degrees clockwise
    path = _save(Image.fromarray(a), tmp_path / "phone.jpg", exif=exif, quality=95)
    out = np.asarray(load_image(path))
    assert out.shape == (60, 40, 3)
    assert out[2, 37].mean() > 200 and out[2, 2].mean() < 50  # now at the top-right


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((4, 4), (32, 32)),
        ((5, 300), (32, 1920)),
        ((16, 64), (32, 128)),
        ((32, 32), (32, 32)),
        ((640, 480), (640, 480)),
        ((4000, 3000), None),
    ],
)
def test_sizes_are_fitted_with_aspect_kept(tmp_path, size, expected):
    path = _save(Image.new("RGB", size, (10, 200, 30)), tmp_path / "sized.png")
    limits = MediaLimits()
    out = load_image(path, limits)
    if expected is not None:
        assert out.size == expected
    w, h = out.size
    assert w * h <= limits.image_max_pixels and min(w, h) >= limits.image_upscale_side
    assert w / h == pytest.approx(size[0] / size[1], rel=0.02)


def test_large_jpeg_is_bounded(tmp_path):
    path = _save(Image.new("RGB", (3840, 2160), (90, 90, 90)), tmp_path / "uhd.jpg")
    out = load_image(path)
    w, h = out.size
    assert w * h <= 1280 * 1280 and w / h == pytest.approx(16 / 9, rel=0.01)


@pytest.mark.parametrize(
    ("size", "words"),
    [((1, 1), ["too small"]), ((3, 40), ["too small"]), ((4, 500), ["aspect"]), ((500, 4), ["aspect"])],
)
def test_bad_geometry_is_refused(tmp_path, size, words):
    path = _save(Image.new("L", size), tmp_path / f"g{size[0]}x{size[1]}.png")
    with raises_naming(path, *words):
        load_image(path)


def _png_header_bomb(path, w, h) -> str:
    """A valid 1-bit PNG of w x h, tiny on disk (all zeros compress well)."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + math.ceil(w / 8))
    idat = b"".join(comp.compress(row * 1000) for _ in range(h // 1000)) + comp.compress(row * (h % 1000))
    idat += comp.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return str(path)


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    big = _png_header_bomb(tmp_path / "bomb.png", 30000, 30000)  # Pillow's own limit
    assert os.path.getsize(big) < 1_000_000
    with raises_naming(big, "too large"):
        load_image(big)
    mid = _png_header_bomb(tmp_path / "mid.png", 12000, 9000)  # under Pillow's, over ours
    with raises_naming(mid, "too large", "100 megapixels"):
        load_image(mid)
    small = _save(Image.new("RGB", (50, 50)), tmp_path / "small.png")
    with raises_naming(small, "too large"):
        load_image(small, MediaLimits(image_max_decoded_pixels=2000))


def test_damaged_images_are_refused(tmp_path):
    good = _save(Image.effect_noise((200, 200), 60).convert("RGB"), tmp_path / "good.png")
    for ext, cut in [("png", 0.5), ("jpg", 0.3)]:
        src = good if ext == "png" else _save(Image.open(good), tmp_path / "good.jpg")
        data = Path(src).read_bytes()
        bad = tmp_path / f"cut.{ext}"
        bad.write_bytes(data[: int(len(data) * cut)])
        with raises_naming(str(bad), "damaged"):
            load_image(str(bad))
    text = tmp_path / "photo.png"
    text.write_text("not a picture")
    with raises_naming(str(text), "not an image"):
        load_image(str(text))
    with raises_naming(good, "too large"):
        load_image(good, MediaLimits(image_max_bytes=100))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it finds
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_images_never_escape_as_other_errors(tmp_path, data):
    ext = data.draw(st.sampled_from(["png", "jpg", "gif", "webp", "bmp", "tiff"]))
    good = tmp_path / f"base.{ext}"
    if not good.exists():
        Image.effect_noise((64, 64), 60).convert("RGB").save(good)
    raw = bytearray(good.read_bytes())
    cut = data.draw(st.integers(1, len(raw)))
    for i in data.draw(st.lists(st.integers(0, cut - 1), max_size=8)):
        raw[i] ^= 0xFF
    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(bytes(raw[:cut]))
    try:
        out = load_image(str(bad))
    except MediaError as err:
        assert f"bad.{ext}" in str(err)
    else:
        assert out.mode == "RGB" and min(out.size) >= 32


# ---------------------------------------------------------------- trimming margins


def _label_on(background: np.ndarray, box: tuple[int, int, int, int]) -> Image.Image:
    """A dark framed label with a bar of "text" inside, drawn onto `background` (H x W x 3)."""
    im = Image.fromarray(background.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    x0, y0, x1, y1 = box
    d.rectangle(box, outline=(30, 30, 30), width=2)
    d.rectangle((x0 + 6, y0 + 6, x1 - 6, y1 - 6), fill=(20, 20, 20))
    return im


def _gradient(w: int, h: int) -> np.ndarray:
    ramp = np.linspace(200, 250, w)[None, :, None]  # a soft left-to-right shade
    return np.broadcast_to(ramp, (h, w, 3)).astype(np.float32)


@pytest.mark.parametrize("noise", [0.0, 6.0])
def test_a_small_label_in_a_wide_plain_picture_is_cut_out_with_a_margin(noise):
    rng = np.random.default_rng(3)
    background = _gradient(400, 120) + rng.normal(0, noise, (120, 400, 3))  # shaded, grainy
    label = (170, 45, 230, 75)
    im = _label_on(background, label)
    out = trim_margins(im)
    x0, y0 = _offset(im, out)
    assert out.width < 120 and out.height < 60  # a fraction of 400 x 120
    assert x0 <= label[0] - 4 and y0 <= label[1] - 4  # the frame and a margin around it kept
    assert x0 + out.width >= label[2] + 4 and y0 + out.height >= label[3] + 4


def _offset(im: Image.Image, crop: Image.Image) -> tuple[int, int]:
    """Where `crop` sits in `im` (exact pixels)."""
    a, c = np.asarray(im), np.asarray(crop)
    for y in range(im.height - crop.height + 1):
        for x in range(im.width - crop.width + 1):
            if np.array_equal(a[y : y + crop.height, x : x + crop.width], c):
                return x, y
    raise AssertionError("the trimmed picture is not a crop of the picture")


def test_pictures_filled_with_content_or_with_none_come_back_whole():
    rng = np.random.default_rng(4)
    scene = Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8))  # detail everywhere
    spread = _label_on(_gradient(200, 100), (8, 8, 190, 90))  # the label fills the picture
    flat = Image.new("RGB", (300, 80), (240, 240, 250))
    tiny = Image.new("RGB", (6, 6), "white")
    for im in (scene, spread, flat, tiny):
        assert trim_margins(im) is im


def test_a_crop_keeping_most_of_the_picture_is_not_made():
    """Content over half the picture: a crop would enlarge it little, so the picture stays whole;
    the same label in a picture four times the size is cut out."""
    label = (40, 25, 160, 75)  # with its margin, two thirds of 200 x 100
    im = _label_on(_gradient(200, 100), label)
    assert trim_margins(im) is im
    cut = trim_margins(_label_on(_gradient(400, 200), label))
    assert cut.width * cut.height < 0.3 * 400 * 200


def test_a_border_line_alone_is_not_content():
    im = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(im).rectangle((0, 0, 299, 99), outline="black", width=1)
    assert trim_margins(im) is im


# ---------------------------------------------------------------- check_media


@pytest.fixture
def files(tmp_path):
    img = _save(Image.new("RGB", (40, 40)), tmp_path / "cat.png")
    vid = write_video(tmp_path / "walk.mp4", n=20, fps=10) if "libx264" in CODECS else None
    return img, vid


ALL = frozenset({"text", "image", "video"})


def test_check_media_accepts_what_the_model_reads(files):
    img, vid = files
    check_media([img], [], frozenset({"text", "image"}))
    if vid:
        check_media([img], [vid], ALL)


def test_check_media_refuses_modalities_the_model_lacks(files):
    img, vid = files
    with raises_naming(img, "reads text only"):
        check_media([img], [], frozenset({"text"}))
    if vid:
        with raises_naming(vid, "does not read video"):
            check_media([img], [vid], frozenset({"text", "image"}))
        with raises_naming(vid, "reads text only"):
            check_media([], [vid], frozenset({"text"}))


def test_check_media_refuses_a_kind_mismatch(files, tmp_path):
    img, vid = files
    with raises_naming(img, "an image, not a video"):
        check_media([], [img], ALL)
    with raises_naming(img, "an image, not a video"):
        load_video(img)
    if vid:
        with raises_naming(vid, "a video, not an image"):
            check_media([vid], [], ALL)
    text = tmp_path / "clip.mp4"
    text.write_text("hello")
    with raises_naming(str(text), "not a media file"):
        check_media([], [str(text)], ALL)


def test_check_media_refuses_bad_image_geometry_from_the_header(tmp_path):
    thin = _save(Image.new("L", (2, 400)), tmp_path / "thin.png")
    with raises_naming(thin, "too small"):
        check_media([thin], [], ALL)
    bomb = _png_header_bomb(tmp_path / "huge.png", 12000, 9000)
    with raises_naming(bomb, "too large"):
        check_media([bomb], [], ALL)


def test_check_media_refuses_long_videos_from_the_header(files):
    _, vid = files
    if vid is None:
        pytest.skip("PyAV here cannot encode libx264")
    with raises_naming(vid, "long"):
        check_media([], [vid], ALL, MediaLimits(video_max_duration_s=1))


# ---------------------------------------------------------------- sampling grid


@given(
    duration=st.floats(0.01, 7200),
    fps=st.floats(0.1, 30),
    max_frames=st.integers(1, 256),
)
def test_targets_are_uniform_bounded_and_inside_the_clip(duration, fps, max_frames):
    ts = _targets(duration, MediaLimits(video_fps=fps, video_max_frames=max_frames))
    assert 1 <= len(ts) <= max_frames
    assert ts[0] == 0 and all(t < duration for t in ts)
    if len(ts) > 1:
        gaps = np.diff(ts)
        assert np.allclose(gaps, gaps[0]) and gaps[0] >= 1 / fps - 1e-9
    assert len(ts) >= min(max_frames, math.floor(duration * fps))


def test_import_pulls_in_neither_gradio_nor_transformers():
    code = (
        "import sys, engine.media; print(sorted(m for m in ('gradio', 'transformers') if m in sys.modules))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
