"""`SwirMiddleware`: the HTTP side of the extension (`--middleware vllm_swir.http.SwirMiddleware`).

Owns, for any POST whose JSON body's `vllm_xargs` holds `swireasoning` (chat completions and
completions stream the trace; other endpoints that take `vllm_xargs` get the checks and the salt):
- validation: a bad knob is answered HTTP 400 naming the field (`knobs.parse`), before vLLM
  sees the request; so are `n > 1` and beam search (one trace per request);
- the body vLLM accepts: its `vllm_xargs` takes flat values, so the object is passed on as a
  JSON string, with a random `trace_key` the worker writes the trace under;
- prefix-cache isolation: the request gets a `cache_salt` of its own. KV blocks computed from
  soft inputs hash like the tokens emitted there, so without a salt they could be served to
  another request with the same token prefix; salted, a SwiR request shares no block with
  anyone (its prompt blocks included: the price of correctness);
- the live trace: each streamed chunk carries `"swir": [records...]`, the per-step records the
  worker wrote since the last chunk (records may run ahead of the tokens; a last chunk with no
  choices carries any still unsent before `data: [DONE]`). A non-streamed answer carries the
  whole list. Plain requests pass through byte for byte.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from vllm_swir.channel import Reader
from vllm_swir.knobs import XARGS_KEY, KnobError, parse


class SwirMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        data = _json_object(body)
        xargs = data.get("vllm_xargs") if data else None
        if not isinstance(xargs, dict) or XARGS_KEY not in xargs:
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            spec = _checked(data, xargs[XARGS_KEY])
        except KnobError as err:
            await _bad_request(send, str(err), f"vllm_xargs.{XARGS_KEY}.{err.field}")
            return
        key = uuid.uuid4().hex
        spec["trace_key"] = key
        xargs[XARGS_KEY] = json.dumps(spec)
        data["cache_salt"] = f"swir-{key}"
        new_body = json.dumps(data).encode()
        scope = dict(scope, headers=_with_length(scope.get("headers", []), len(new_body)))
        reader = Reader(key)
        try:
            await self.app(
                scope, _replay(new_body, receive), _TraceSend(send, reader, spec.get("trace", True))
            )
        finally:
            reader.remove()


def _checked(data: dict, raw: Any) -> dict:
    spec = json.loads(raw) if isinstance(raw, str) else raw
    parse(spec)  # raises KnobError naming the field
    if not isinstance(spec, dict):
        raise KnobError("(body)", "must be a JSON object")
    if (data.get("n") or 1) != 1:
        raise KnobError("n", "SwiReasoning runs one sequence per request (n must be 1)")
    if data.get("use_beam_search"):
        raise KnobError("use_beam_search", "SwiReasoning does not run with beam search")
    return dict(spec)


class _TraceSend:
    """Wraps `send`: adds the trace records to the answer's chunks (or to the whole JSON answer)."""

    def __init__(self, send: Any, reader: Reader, trace: bool) -> None:
        self.send, self.reader, self.trace = send, reader, trace
        self.start: dict | None = None
        self.stream = False
        self.buffer = b""

    async def __call__(self, message: dict) -> None:
        if not self.trace:
            await self.send(message)
        elif message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            self.stream = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            if self.stream or message.get("status", 200) >= 400:
                self.trace = self.stream  # an error answer passes through as it is
                await self.send(message)
            else:
                self.start = message  # held until the body is complete (its length changes)
        elif message["type"] == "http.response.body":
            await (self._sse(message) if self.stream else self._whole(message))
        else:
            await self.send(message)

    async def _sse(self, message: dict) -> None:
        self.buffer += message.get("body", b"")
        *frames, self.buffer = self.buffer.split(b"\n\n")
        more = message.get("more_body", False)
        if not more and self.buffer:
            frames, self.buffer = [*frames, self.buffer], b""
        out = b"".join(self._frame(f) + b"\n\n" for f in frames)
        await self.send({"type": "http.response.body", "body": out, "more_body": more})

    def _frame(self, frame: bytes) -> bytes:
        if not frame.startswith(b"data: "):
            return frame
        payload = frame[6:].strip()
        if payload == b"[DONE]":
            rest = self.reader.read()
            tail = json.dumps({"object": "swir.trace", "choices": [], "swir": rest}).encode()
            return (b"data: " + tail + b"\n\n" if rest else b"") + frame
        obj = _json_object(payload)
        if obj is None:
            return frame
        records = self.reader.read()
        if records:
            obj["swir"] = records
        return b"data: " + json.dumps(obj, separators=(",", ":")).encode()

    async def _whole(self, message: dict) -> None:
        self.buffer += message.get("body", b"")
        if message.get("more_body", False):
            return
        obj = _json_object(self.buffer)
        body = self.buffer
        if obj is not None:
            obj["swir"] = self.reader.read()
            body = json.dumps(obj).encode()
        start = self.start or {"type": "http.response.start", "status": 200, "headers": []}
        start = dict(start, headers=_with_length(start.get("headers", []), len(body)))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Any) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes away

    return replay


def _json_object(data: bytes) -> dict | None:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def _with_length(headers: list, length: int) -> list:
    out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*out, (b"content-length", str(length).encode())]


async def _bad_request(send: Any, message: str, param: str) -> None:
    body = json.dumps(
        {"error": {"message": message, "type": "BadRequestError", "param": param, "code": 400}}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
