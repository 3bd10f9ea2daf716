"""Hostile uploads: random bytes, truncated and bit-flipped real files, bombs, crafted videos.

Fuzzes the whole upload path (`engine.media.check_media`, `load_image`,
`load_video`, and the app's send validator `Handlers.check_message`) with
hypothesis: whatever the bytes, only `MediaError` may come out of the engine
and the validator only ever refuses. Then the named attacks: a PNG
decompression bomb (real compressed pixels, and a header alone), a video
with absurd dimensions, a tiny video claiming hours, an oversized image.
No model is loaded.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.backends.base import BackendInfo
from engine.config import METHODS
from engine.errors import MediaError
from engine.media import check_media, load_image, load_video
from rio_app.handlers import Handlers
from rio_app.state import ModelHolder, Session

ALL = frozenset({"text", "image", "video"})
NAMES = ("a.png", "a.jpg", "a.gif", "a.webp", "a.mp4", "a.webm", "a.mkv", "a.mov", "a.avi", "a.bin")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class VisionBackend:
    """Just enough backend for the validator: the engine's own media check."""

    info = BackendInfo("vision", "test:", ALL, "cpu", METHODS)

    def check_media(self, images, videos):
        check_media(images, videos, ALL)


def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _video(path: Path, codec: str = "mpeg4", frames: int = 6) -> bytes:
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=6)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            img = np.full((48, 64, 3), i * 40 % 255, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path.read_bytes()


@pytest.fixture(scope="module")
def real_files() -> dict[str, bytes]:
    """Small valid files of each kind, built here."""
    folder = Path(tempfile.mkdtemp(prefix="rio-hostile-"))
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), np.uint8))
    out: dict[str, bytes] = {}
    for fmt, name in (("PNG", "r.png"), ("JPEG", "r.jpg"), ("WEBP", "r.webp")):
        img.save(folder / name, fmt)
        out[name] = (folder / name).read_bytes()
    frames = [img.rotate(i * 30) for i in range(4)]
    frames[0].save(folder / "r.gif", save_all=True, append_images=frames[1:], duration=100)
    out["r.gif"] = (folder / "r.gif").read_bytes()
    out["r.mp4"] = _video(folder / "r.mp4")
    out["r.mkv"] = _video(folder / "r.mkv")
    return out


def _every_entry(path: str, tmp: Path) -> None:
    """Run the upload path on one file; fail on anything but `MediaError` / a refusal."""
    for images, videos in (([path], []), ([], [path])):
        with contextlib.suppress(MediaError):
            check_media(images, videos, ALL)
    for load in (load_image, load_video):
        try:
            load(path)
        except MediaError as err:
            assert Path(path).name in str(err)  # the message names the file
    h = Handlers(ModelHolder(VisionBackend(), allow_switch=False))
    verdict = h.check_message(None, {"text": "look", "files": [{"path": path}]}, [], Session())[0]
    assert verdict["__type__"] == "validate"


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.binary(min_size=1, max_size=4096))
def test_random_bytes_only_ever_give_media_errors(tmp_path, name, data):
    _every_entry(_write(tmp_path, name, data), tmp_path)


@FUZZ
@given(data=st.data())
def test_truncated_and_flipped_real_files_only_ever_give_media_errors(tmp_path, real_files, data):
    name = data.draw(st.sampled_from(sorted(real_files)))
    blob = bytearray(real_files[name])
    cut = data.draw(st.integers(1, len(blob)))
    blob = blob[:cut]
    for pos in data.draw(st.lists(st.integers(0, len(blob) - 1), max_size=8)):
        blob[pos] ^= data.draw(st.integers(1, 255))
    as_name = data.draw(st.sampled_from([name, *NAMES]))
    _every_entry(_write(tmp_path, as_name, bytes(blob)), tmp_path)


def test_the_real_files_themselves_load(real_files, tmp_path):
    for name, blob in real_files.items():  # the fuzz seeds are valid: the checks can pass
        path = _write(tmp_path, name, blob)
        if name.endswith((".mp4", ".mkv", ".gif")):
            assert load_video(path).frames.shape[0] >= 1
        else:
            assert load_image(path).size[0] >= 32


# ---------------------------------------------------------------- named attacks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(path: Path, side: int, pixels: bool) -> None:
    """A grey PNG of side x side pixels; its zero rows are compressed as they stream."""
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    comp, body = zlib.compressobj(9), b""
    if pixels:
        row = b"\0" * (side + 1)  # filter byte + pixels
        body = b"".join(comp.compress(row) for _ in range(side))
    body += comp.flush()
    path.write_bytes(head + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))


@pytest.mark.parametrize(("side", "pixels"), [(12_000, True), (100_000, False)])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side, pixels):
    path = tmp_path / "bomb.png"
    _png_bomb(path, side, pixels)
    assert path.stat().st_size < 2_000_000  # small on disk, 144+ megapixels when decoded
    for fn in (lambda: check_media([path], [], ALL), lambda: load_image(path)):
        with pytest.raises(MediaError, match="too large to decode safely"):
            fn()


def test_video_with_absurd_dimensions_is_refused(tmp_path):
    path = tmp_path / "huge.y4m"
    path.write_bytes(b"YUV4MPEG2 W30000 H30000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 100_000)
    for fn in (lambda: check_media([], [path], ALL), lambda: load_video(path)):
        with pytest.raises(MediaError, match="huge.y4m"):
            fn()


def test_tiny_video_claiming_hours_is_refused_from_its_header(tmp_path):
    path = tmp_path / "hours.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=1)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1)
        for pts in (0, 3 * 3600):  # two frames, three hours apart
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    assert path.stat().st_size < 10_000
    for fn in (lambda: check_media([], [path], ALL), lambda: load_video(path)):
        with pytest.raises(MediaError, match="long; the limit is 20:00"):
            fn()


def test_oversized_image_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as f:  # sparse: 31 MB that cost nothing
        f.truncate(31 * 1024 * 1024)
    with pytest.raises(MediaError, match="too large for an image"):
        check_media([path], [], ALL)
    h = Handlers(ModelHolder(VisionBackend()))
    verdict = h.check_message(None, {"text": "", "files": [{"path": str(path)}]}, [], Session())[0]
    assert verdict["is_valid"] is False and "big.png" in verdict["message"]
