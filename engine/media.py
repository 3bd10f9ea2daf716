"""Images and videos in: validated, bounded, ready for the processor.

Owns: `MediaLimits` (every size/duration/sampling bound, in one place),
`detect_kind` (image or video, by content), `load_image` (a bounded RGB
`PIL.Image`), `trim_margins` (a picture cropped to its content, for models
that read small pictures), `load_video` (a `VideoClip` of uniformly sampled RGB frames with
their real timestamps, read by seeking so a long file is never decoded whole)
and `check_media` (a fast refusal of files the model cannot read).
Every failure a file can cause is a `MediaError` whose message names the file
(its base name) and the reason. Leaves the processor call (resizing to
patches, chat template) to `prompt.py`; imports neither gradio nor
transformers at import time (`VideoClip.metadata` imports `VideoMetadata`).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from engine.errors import MediaError

if TYPE_CHECKING:
    import av  # PyAV, imported where a video is opened: text and images never need it
    from transformers.video_utils import VideoMetadata

MB = 1024 * 1024
SEEK_GAP_S = 1.0  # a target this close ahead of the decoder is reached by decoding, not seeking
TIME_EPS_S = 1e-3  # a frame this close before a target counts as "at" it
DECODE_FPS_CAP = 240  # bounded decode without a duration: at most this many frames per allowed second


@dataclass(frozen=True)
class MediaLimits:
    """Bounds on what an upload may cost; the defaults suit a chat UI."""

    image_max_bytes: int = 30 * MB
    image_max_pixels: int = 1280 * 1280  # budget after downscale (aspect kept)
    image_max_decoded_pixels: int = 100_000_000  # refused before decoding (decompression bomb)
    image_min_side: int = 4  # smaller is refused
    image_upscale_side: int = 32  # a smaller side is upscaled to this (the processor's patch grid)
    image_max_aspect: float = 100.0  # long side / short side
    video_max_bytes: int = 200 * MB
    video_max_duration_s: float = 20 * 60
    video_fps: float = 2.0  # sampled frames per second of video
    video_max_frames: int = 32  # more would be spread uniformly over the duration
    video_max_side: int = 640  # frames are downscaled to this while decoding
    video_max_source_pixels: int = 8192 * 4320  # bigger frames are refused (each decodes at full size)


@dataclass(frozen=True)
class VideoClip:
    """Sampled frames of one video, with the timing the processor needs."""

    frames: np.ndarray  # [T, H, W, 3] uint8 RGB, display orientation
    timestamps: tuple[float, ...]  # seconds from the stream start, one per frame, increasing
    source_fps: float
    duration_s: float
    total_frames: int  # estimated frame count of the whole source
    width: int  # of `frames`
    height: int
    rotation: int  # degrees counterclockwise applied from the display matrix

    def metadata(self) -> VideoMetadata:
        """transformers' `VideoMetadata`: real fps and the sampled frame indices."""
        from transformers.video_utils import VideoMetadata

        last = max(self.total_frames - 1, 0)
        indices = [min(max(round(t * self.source_fps), 0), last) for t in self.timestamps]
        return VideoMetadata(
            total_num_frames=self.total_frames,
            fps=self.source_fps,
            width=self.width,
            height=self.height,
            duration=self.duration_s,
            video_backend="pyav",
            frames_indices=indices,
        )


# ---------------------------------------------------------------- shared helpers


def _name(path: str | os.PathLike) -> str:
    return os.path.basename(os.fspath(path)) or os.fspath(path)


def _human_bytes(n: float) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def _human_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _check_file(path: str | os.PathLike, max_bytes: int | None = None, what: str = "") -> None:
    """Exists, is a regular file, is not empty, is not over `max_bytes` (when given)."""
    name = _name(path)
    if not os.path.isfile(path):
        raise MediaError(f"{name}: file not found (upload it again).")
    size = os.path.getsize(path)
    if size == 0:
        raise MediaError(f"{name}: the file is empty (0 bytes).")
    if max_bytes is not None and size > max_bytes:
        raise MediaError(
            f"{name}: {_human_bytes(size)} is too large for {what}; the limit is {_human_bytes(max_bytes)}."
        )


# ---------------------------------------------------------------- kind detection


def _pillow_kind(path: str | os.PathLike) -> Literal["image", "video"] | None:
    """'image', 'video' (an animated GIF) or None when Pillow does not know the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                animated = im.format == "GIF" and getattr(im, "is_animated", False)
                return "video" if animated else "image"
    except Image.DecompressionBombError:
        return "image"  # an image, refused later with the reason
    except Exception:  # untrusted bytes: any failure to identify means "not an image Pillow reads"
        return None


def detect_kind(path: str | os.PathLike) -> Literal["image", "video"]:
    """'image' or 'video' by content (magic bytes, then the container), not the extension."""
    name = _name(path)
    _check_file(path)
    kind = _pillow_kind(path)
    if kind is not None:
        return kind
    with _container(path) as container:
        _video_stream(container, name)
    return "video"


# ---------------------------------------------------------------- images


def _open_image(path: str | os.PathLike, limits: MediaLimits) -> Image.Image:
    """Open lazily (header only) and refuse decompression bombs before decoding."""
    name = _name(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as err:
        raise MediaError(f"{name}: the image is too large to decode safely ({err}).") from err
    except Exception as err:  # untrusted bytes: whatever the plugin raised, the file is unreadable
        raise MediaError(f"{name}: not an image this app can read.") from err
    w, h = im.size
    if w * h > limits.image_max_decoded_pixels:
        im.close()
        raise MediaError(
            f"{name}: {w}x{h} pixels is too large to decode safely; "
            f"the limit is {limits.image_max_decoded_pixels / 1e6:.0f} megapixels."
        )
    return im


def _check_geometry(name: str, w: int, h: int, limits: MediaLimits) -> None:
    if min(w, h) < limits.image_min_side:
        raise MediaError(
            f"{name}: {w}x{h} pixels is too small; each side needs at least {limits.image_min_side} pixels."
        )
    if max(w, h) / min(w, h) > limits.image_max_aspect:
        raise MediaError(
            f"{name}: {w}x{h} pixels is too long and thin; the aspect ratio may be at most "
            f"{limits.image_max_aspect:g}:1."
        )


def _scale_to_uint8(im: Image.Image) -> Image.Image:
    """I;16 / I / F (high bit depth, one channel) -> L, scaled to 0..255."""
    a = np.asarray(im, dtype=np.float64)  # [H, W]
    lo, hi = float(a.min()), float(a.max())
    if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif lo >= 0.0 and hi <= 255.0 and not im.mode.startswith("I;16"):
        pass
    elif lo >= 0.0 and hi <= 65535.0:
        a = a / 257.0
    else:
        a = (a - lo) * (255.0 / max(hi - lo, 1e-12))
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency composited on white."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        return _scale_to_uint8(im).convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def _fit(im: Image.Image, limits: MediaLimits) -> Image.Image:
    """Downscale to the pixel budget, or upscale a tiny side to what the processor needs."""
    w, h = im.size
    scale = 1.0
    if w * h > limits.image_max_pixels:
        scale = math.sqrt(limits.image_max_pixels / (w * h))
    elif min(w, h) < limits.image_upscale_side:
        scale = limits.image_upscale_side / min(w, h)
    if scale == 1.0:
        return im
    size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    if scale > 1.0:  # upscaling: round up so the short side reaches the minimum
        size = (max(size[0], math.ceil(w * scale - 1e-9)), max(size[1], math.ceil(h * scale - 1e-9)))
    return im.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def _decode_image(im: Image.Image, limits: MediaLimits) -> Image.Image:
    """Decode (JPEG at a reduced scale when that still covers the budget), orient, RGB, fit."""
    w, h = im.size
    if im.format == "JPEG" and w * h > limits.image_max_pixels:
        scale = math.sqrt(limits.image_max_pixels / (w * h))
        im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))  # decodes at >= this size
    im.load()
    im = ImageOps.exif_transpose(im)
    return _fit(_to_rgb(im), limits)


def load_image(path: str | os.PathLike, limits: MediaLimits | None = None) -> Image.Image:
    """A bounded RGB image from any file Pillow opens (first frame of an animation)."""
    limits = limits or MediaLimits()
    name = _name(path)
    _check_file(path, limits.image_max_bytes, "an image")
    im = _open_image(path, limits)
    try:
        _check_geometry(name, *im.size, limits)
        return _decode_image(im, limits)
    except MediaError:
        raise
    except Image.DecompressionBombError as err:
        raise MediaError(f"{name}: the image is too large to decode safely ({err}).") from err
    except Exception as err:  # untrusted bytes: any decoder failure is a bad file, not a bug here
        raise MediaError(f"{name}: the image is damaged or truncated ({type(err).__name__}: {err}).") from err
    finally:
        im.close()


def trim_margins(
    im: Image.Image, *, edge: float = 12.0, margin: float = 0.15, keep: float = 0.5
) -> Image.Image:
    """The picture cropped to its content when plain margins take more than half of it.

    Content is where the slightly blurred grey picture steps by more than `edge` levels from
    one pixel to the next: the blur flattens sensor noise and JPEG grain, and a gradient or a
    flat fill has no such step. The box around it, widened by `margin` of its longer side, is
    kept; the outermost two pixels (a picture's own border line) are not content. A picture
    whose content box covers more than `keep` of it, or that has no content, comes back as it
    is: a crop keeping more than half would enlarge what is read less than 1.4 times, and
    still change how a picture the model already reads looks. For a small model's few vision
    tokens this makes a small label in a wide picture large enough to read, and leaves a photo
    or a full scene alone.
    """
    w, h = im.size
    if w < 8 or h < 8:
        return im
    grey = np.asarray(im.convert("L").filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32)
    step = np.zeros(grey.shape, dtype=bool)
    step[:, :-1] = np.abs(np.diff(grey, axis=1)) > edge
    step[:-1, :] |= np.abs(np.diff(grey, axis=0)) > edge
    step[:2, :] = step[-2:, :] = False
    step[:, :2] = step[:, -2:] = False
    rows, cols = np.flatnonzero(step.any(axis=1)), np.flatnonzero(step.any(axis=0))
    if rows.size == 0:
        return im
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 2, int(rows[0]), int(rows[-1]) + 2
    pad = int(margin * max(x1 - x0, y1 - y0))
    box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
    if (box[2] - box[0]) * (box[3] - box[1]) > keep * w * h:
        return im
    return im.crop(box)


# ---------------------------------------------------------------- video: probing


@dataclass(frozen=True)
class _Probe:
    """What the container header says about the video stream."""

    duration_s: float | None  # None when the header has no duration
    fps: float | None
    frames: int  # 0 when the header does not say
    width: int
    height: int
    sar: float  # sample aspect ratio (display width = width * sar)
    start_pts: int
    seekable: bool
    tag_rotation: int  # degrees counterclockwise from an old-style `rotate` tag (clockwise degrees)


@contextmanager
def _container(path: str | os.PathLike) -> Iterator[av.container.InputContainer]:
    """Open with FFmpeg; any failure inside the block that is not already a `MediaError` is a
    bad file (untrusted bytes reach the demuxer and decoder), reported as one."""
    import av

    name = _name(path)
    try:
        container = av.open(os.fspath(path), mode="r")
    except Exception as err:  # FFmpeg's probe failed: not a container it knows
        raise MediaError(f"{name}: not a media file this app can read (not an image or a video).") from err
    try:
        with container:
            yield container
    except MediaError:
        raise
    except Exception as err:
        raise MediaError(f"{name}: the video is damaged or truncated ({type(err).__name__}: {err}).") from err


def _video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    videos = container.streams.video
    if not videos:
        if container.streams.audio:
            raise MediaError(f"{name}: audio only; this app reads images and videos, not sound.")
        raise MediaError(f"{name}: not a media file this app can read (no video track).")
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):  # a still image that Pillow could not read
        raise MediaError(f"{name}: the image is damaged or in a format this app cannot read.")
    return videos[0]


def _probe(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> _Probe:
    tb = stream.time_base
    duration = None
    if stream.duration and tb:
        duration = float(stream.duration * tb)
    elif container.duration:
        duration = container.duration / 1_000_000  # FFmpeg's AV_TIME_BASE (av.time_base)
    if not stream.width or not stream.height:
        raise MediaError(
            f"{_name(container.name)}: the video track has no picture size (the file is damaged)."
        )
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    sar = stream.sample_aspect_ratio
    return _Probe(
        duration_s=duration if duration and duration > 0 else None,
        fps=float(rate) if rate else None,
        frames=int(stream.frames or 0),
        width=stream.width,
        height=stream.height,
        sar=float(sar) if sar else 1.0,
        start_pts=int(stream.start_time or 0),
        seekable=container.format.name != "gif",
        tag_rotation=_tag_rotation(stream),
    )


def _tag_rotation(stream: av.video.stream.VideoStream) -> int:
    """The `rotate` tag some muxers write instead of a display matrix, as counterclockwise degrees."""
    tags = {k.lower(): v for k, v in stream.metadata.items()}
    try:
        return -round(float(tags.get("rotate", "0")) / 90) * 90 % 360
    except ValueError:
        return 0


def _check_frame_size(name: str, p: _Probe, limits: MediaLimits) -> None:
    if p.width * p.height > limits.video_max_source_pixels:
        raise MediaError(
            f"{name}: the video frames are {p.width}x{p.height}; the limit is "
            f"{limits.video_max_source_pixels / 1e6:.0f} megapixels (8K). Downscale it first."
        )


def _check_duration(name: str, duration_s: float | None, limits: MediaLimits) -> None:
    if duration_s is not None and duration_s > limits.video_max_duration_s:
        raise MediaError(
            f"{name}: the video is {_human_duration(duration_s)} long; "
            f"the limit is {_human_duration(limits.video_max_duration_s)}."
        )


# ---------------------------------------------------------------- video: frames


def _frame_size(p: _Probe, max_side: int) -> tuple[int, int]:
    """(width, height) to convert frames to: display aspect, long side <= max_side."""
    display_w = p.width * p.sar
    scale = min(1.0, max_side / max(display_w, p.height))
    return max(1, round(display_w * scale)), max(1, round(p.height * scale))


class _FrameSink:
    """Holds at most `capacity` converted frames; allocated on the first frame."""

    def __init__(self, capacity: int, size: tuple[int, int], tag_rotation: int = 0) -> None:
        self.capacity, self.size, self.tag_rotation = capacity, size, tag_rotation
        self.frames: np.ndarray | None = None  # [capacity, H, W, 3] uint8
        self.times: list[float] = []
        self.rotation = 0

    def add(self, frame: av.VideoFrame, t: float) -> None:
        w, h = self.size
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24")  # [h, w, 3]
        if self.frames is None:
            matrix = round((frame.rotation or 0) / 90) * 90 % 360  # display matrix side data
            self.rotation = matrix or self.tag_rotation
            hw = (w, h) if self.rotation in (90, 270) else (h, w)
            self.frames = np.empty((self.capacity, *hw, 3), np.uint8)
        self.frames[len(self.times)] = np.rot90(rgb, k=self.rotation // 90)  # [H, W, 3]
        self.times.append(t)

    def keep(self, mask: Sequence[bool]) -> None:
        """Keep only the frames where `mask` is true (the streaming sampler thins its grid)."""
        idx = [i for i, m in enumerate(mask) if m]
        self.frames[: len(idx)] = self.frames[idx]  # fancy indexing copies first
        self.times = [self.times[i] for i in idx]

    def result(self) -> np.ndarray:
        """The frames taken, [T, H, W, 3]; a compact copy when fewer than the capacity."""
        n = len(self.times)
        return self.frames if n == self.capacity else self.frames[:n].copy()


def _frame_time(frame: av.VideoFrame, p: _Probe, tb: float, previous: float | None) -> float:
    """Seconds from the stream start (pts * time_base); a missing pts follows the previous frame."""
    if frame.pts is None:
        step = 1.0 / p.fps if p.fps else 0.04
        return 0.0 if previous is None else previous + step
    return (frame.pts - p.start_pts) * tb


def _targets(duration_s: float, limits: MediaLimits) -> list[float]:
    """Uniform sample times: every 1/fps seconds, spread wider when that exceeds max_frames."""
    step = max(1.0 / limits.video_fps, duration_s / limits.video_max_frames)
    count = max(1, min(limits.video_max_frames, math.ceil(duration_s / step - 1e-9)))
    return [i * step for i in range(count)]


def _sample_by_seeking(container, stream, p: _Probe, targets: list[float], sink: _FrameSink) -> None:
    """For each target: seek (unless it is just ahead), decode forward to the first frame at/after it."""
    tb = float(stream.time_base)
    frames: Iterator[av.VideoFrame] | None = None
    decoded_t: float | None = None  # time of the last frame the decoder gave
    for target in targets:
        if sink.times and target <= sink.times[-1]:
            continue  # the frame already taken covers this target
        if frames is None or decoded_t is None or target > decoded_t + SEEK_GAP_S:
            container.seek(p.start_pts + int(target / tb), stream=stream, backward=True)
            frames = container.decode(stream)
        for frame in frames:
            decoded_t = _frame_time(frame, p, tb, decoded_t)
            if p.duration_s is not None and decoded_t >= p.duration_s:
                return  # past the clip's end: a damaged time stamp, or the stream's tail
            if decoded_t >= target - TIME_EPS_S and (not sink.times or decoded_t > sink.times[-1]):
                sink.add(frame, decoded_t)
                break
        else:
            return  # end of stream: fewer frames than targets


def _sample_streaming(
    container, stream, p: _Probe, limits: MediaLimits, sink: _FrameSink, name: str
) -> float:
    """Decode forward once (no duration or no seeking), keeping frames on a 1/fps grid; when
    that exceeds max_frames the grid doubles its step. Returns the decoded duration (s)."""
    tb = float(stream.time_base)
    step, next_k, t = 1.0 / limits.video_fps, 0, None
    ks: list[int] = []  # grid index of each kept frame
    budget = int(limits.video_max_duration_s * DECODE_FPS_CAP)
    for count, frame in enumerate(container.decode(stream)):
        t = _frame_time(frame, p, tb, t)
        _check_duration(name, t, limits)
        if count > budget:
            raise MediaError(f"{name}: the video has too many frames to read.")
        if t < next_k * step - TIME_EPS_S or (sink.times and t <= sink.times[-1]):
            continue
        ks.append(math.floor(t / step + TIME_EPS_S))
        sink.add(frame, t)
        next_k = ks[-1] + 1
        if len(ks) > limits.video_max_frames:
            sink.keep([k % 2 == 0 for k in ks])
            ks = [k // 2 for k in ks if k % 2 == 0]
            step, next_k = step * 2, (next_k + 1) // 2
    frame_s = 1.0 / p.fps if p.fps else 0.0
    return 0.0 if t is None else t + frame_s


def _read_frames(container, stream, p: _Probe, limits: MediaLimits, name: str) -> tuple[_FrameSink, float]:
    """Sampled frames and the duration, by seeking when the header allows it."""
    size = _frame_size(p, limits.video_max_side)
    if p.duration_s is not None and p.seekable:
        targets = _targets(p.duration_s, limits)
        sink = _FrameSink(len(targets), size, p.tag_rotation)
        _sample_by_seeking(container, stream, p, targets, sink)
        return sink, p.duration_s
    sink = _FrameSink(limits.video_max_frames + 1, size, p.tag_rotation)
    duration = _sample_streaming(container, stream, p, limits, sink, name)
    return sink, max(duration, p.duration_s or 0.0)


def _clip(sink: _FrameSink, p: _Probe, duration_s: float, name: str) -> VideoClip:
    if not sink.times:
        raise MediaError(f"{name}: no video frame could be decoded (the file is damaged or truncated).")
    frames = sink.result()  # [T, H, W, 3]
    fps = p.fps or len(sink.times) / max(duration_s, 1e-6)
    total = p.frames or max(1, round(duration_s * fps))
    return VideoClip(
        frames=frames,
        timestamps=tuple(sink.times),
        source_fps=fps,
        duration_s=duration_s,
        total_frames=total,
        width=frames.shape[2],
        height=frames.shape[1],
        rotation=sink.rotation,
    )


def load_video(path: str | os.PathLike, limits: MediaLimits | None = None) -> VideoClip:
    """Uniformly sampled RGB frames (at `video_fps`, at most `video_max_frames`) with timestamps."""
    limits = limits or MediaLimits()
    name = _name(path)
    _check_file(path, limits.video_max_bytes, "a video")
    with _checked_video(path, limits) as (container, stream, p):
        stream.thread_type = "AUTO"
        sink, duration = _read_frames(container, stream, p, limits, name)
    return _clip(sink, p, duration, name)


# ---------------------------------------------------------------- the fast check


def _refuse_modality(name: str, kind: str, modalities: frozenset[str]) -> None:
    if kind in modalities:
        return
    if not modalities - {"text"}:
        raise MediaError(f"{name}: this model reads text only; remove the file or pick a vision model.")
    noun = "images" if kind == "image" else "video"
    raise MediaError(f"{name}: this model does not read {noun}; remove the file or pick another model.")


@contextlib.contextmanager
def _checked_video(path: str | os.PathLike, limits: MediaLimits):
    """The open container, its video stream and probe, once the header passed
    the checks (not an image, a video track, frame size and duration in bounds)."""
    name = _name(path)
    if _pillow_kind(path) == "image":
        raise MediaError(f"{name}: this is an image, not a video; attach it as an image.")
    with _container(path) as container:
        stream = _video_stream(container, name)
        probe = _probe(container, stream)
        _check_frame_size(name, probe, limits)
        _check_duration(name, probe.duration_s, limits)
        yield container, stream, probe


def _check_video_header(path: str | os.PathLike, limits: MediaLimits) -> None:
    """Open the container (no decoding) and check its header."""
    with _checked_video(path, limits):
        pass


def check_media(
    images: Sequence[str | os.PathLike],
    videos: Sequence[str | os.PathLike],
    modalities: frozenset[str],
    limits: MediaLimits | None = None,
) -> None:
    """Raise `MediaError` naming the first file the model cannot read (fast: headers only)."""
    limits = limits or MediaLimits()
    for path in images:
        name = _name(path)
        _refuse_modality(name, "image", modalities)
        _check_file(path, limits.image_max_bytes, "an image")
        if _pillow_kind(path) is None:  # an animated GIF is fine: its first frame is read
            kind = detect_kind(path)
            raise MediaError(f"{name}: this is a {kind}, not an image; attach it as a video.")
        with _open_image(path, limits) as im:  # header only: size, bomb, aspect
            _check_geometry(name, *im.size, limits)
    for path in videos:
        name = _name(path)
        _refuse_modality(name, "video", modalities)
        _check_file(path, limits.video_max_bytes, "a video")
        _check_video_header(path, limits)
