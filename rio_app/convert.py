"""Message-box values and displayed histories -> engine turns (pure functions, no model).

Owns: the `Turn` a `MultimodalTextbox` value holds (`message_turn`, the text
exactly as typed) and the chat messages that display it (`user_messages`);
telling images from videos; `check_length` (the character cap that refuses a
huge message before it is tokenized); the conversation as Markdown for
export; and, for API clients only, reading a displayed Chatbot history back
into `Turn`s (`history_to_turns`: typed parts from the page, plain strings /
file paths / tuples / [user, bot] pairs from `gradio_client`). The page itself
never parses its own display: the session keeps the real turns.
Leaves rendering to `render.py` and events to `handlers.py`.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from typing import Any

from engine.errors import MediaError, PromptTooLong
from engine.prompt import Turn
from rio_app.render import plain_text, render_user

# A conversation longer than this is refused before tokenizing: a public server must
# not spend a prefill (or its memory) on a pasted megabyte. ~25k tokens of English.
MAX_PROMPT_CHARS = 100_000


def file_kind(path: str, mime: str | None = None) -> str:
    """ "image" or "video", from the MIME type or extension, else from the bytes."""
    mime = mime or mimetypes.guess_type(path)[0] or ""
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("video/"):
        return "video"
    from engine.media import detect_kind

    return detect_kind(path)


def _file_of(part: Any) -> tuple[str, str | None] | None:
    """(path, mime) when `part` is a file in any of the shapes Gradio uses."""
    if isinstance(part, dict):
        if part.get("type") == "file" or "file" in part:
            return _file_of(part["file"])
        if "path" in part:
            return str(part["path"]), part.get("mime_type")
    if isinstance(part, tuple) and part and isinstance(part[0], str):
        return part[0], None  # ("path",) or ("path", "alt text")
    return None


def _parts(content: Any) -> list[tuple[str, Any]]:
    """A message's content as ("text", str) and ("file", (path, mime)) parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [("text", content)]
    if isinstance(content, list):
        return [p for item in content for p in _parts(item)]
    if isinstance(content, dict) and content.get("type") == "text":
        return [("text", str(content.get("text", "")))]
    found = _file_of(content)
    return [("file", found)] if found else []


def _as_messages(history: Sequence[Any]) -> list[dict]:
    """Pairs `[[user, bot], ...]` -> message dicts; message dicts pass through."""
    out: list[dict] = []
    for item in history or []:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list | tuple) and len(item) == 2:
            user, bot = item
            if user is not None:
                out.append({"role": "user", "content": user})
            if bot is not None:
                out.append({"role": "assistant", "content": bot})
        else:
            out.append({"role": getattr(item, "role", "user"), "content": getattr(item, "content", item)})
    return out


def _flush(role: str, texts: list[str], files: list, thinking: list[str]) -> Turn:
    images = tuple(p for p, m in files if file_kind(p, m) == "image")
    videos = tuple(p for p, m in files if file_kind(p, m) == "video")
    text = "\n".join(x for x in texts if x)
    return Turn(role, text, images=images, videos=videos, thinking="\n".join(thinking))  # type: ignore[arg-type]


def history_to_turns(history: Sequence[Any]) -> list[Turn]:
    """Consecutive messages of one role become one `Turn`; thinking goes to `Turn.thinking`."""
    turns: list[Turn] = []
    role, texts, files, thinking = None, [], [], []
    for msg in _as_messages(history):
        r = msg.get("role", "user")
        if r not in ("user", "assistant"):
            continue
        if r != role and role is not None:
            turns.append(_flush(role, texts, files, thinking))
            texts, files, thinking = [], [], []
        role = r
        meta = msg.get("metadata") or {}
        for kind, value in _parts(msg.get("content")):
            if kind == "file":
                files.append(value)
            elif meta.get("title"):
                thinking.append(plain_text(value))
            else:
                texts.append(plain_text(value))
    if role is not None:
        turns.append(_flush(role, texts, files, thinking))
    return turns


def _files(message: dict) -> list[tuple[str, str | None]]:
    """(path, mime) of each file attached to a MultimodalTextbox value."""
    out = []
    for f in message.get("files") or []:
        if isinstance(f, dict):
            out.append((str(f.get("path")), f.get("mime_type")))
        else:
            out.append((str(f), None))
    return out


def _as_message(message: dict | str | None) -> dict:
    if isinstance(message, str):
        return {"text": message, "files": []}
    return message or {}


def message_turn(message: dict | str | None) -> Turn:
    """The user's turn in a MultimodalTextbox value: the text exactly as typed, and its media."""
    message = _as_message(message)
    return _flush("user", [message.get("text") or ""], _files(message), [])


def user_messages(message: dict | str | None) -> list[dict]:
    """A MultimodalTextbox value -> the chat messages that display it (files first, then text)."""
    message = _as_message(message)
    out: list[dict] = [{"role": "user", "content": {"path": path}} for path, _ in _files(message)]
    text = (message.get("text") or "").strip()
    if text:
        out.append({"role": "user", "content": render_user(text)})
    return out


def check_length(texts: Sequence[str], limit: int = MAX_PROMPT_CHARS) -> None:
    """`PromptTooLong` when the texts (a message, or every turn of a conversation) exceed `limit`."""
    n = sum(len(x) for x in texts)
    if n > limit:
        raise PromptTooLong(
            f"The message is too long: {n:,} characters; this app takes at most {limit:,} "
            "per conversation. Shorten it or clear earlier turns."
        )


def split_files(message: dict | None) -> tuple[list[str], list[str]]:
    """(images, videos) attached to a MultimodalTextbox value; `MediaError` for other files."""
    images: list[str] = []
    videos: list[str] = []
    for f in (message or {}).get("files") or []:
        path = f.get("path") if isinstance(f, dict) else str(f)
        mime = f.get("mime_type") if isinstance(f, dict) else None
        try:
            kind = file_kind(path, mime)
        except MediaError:
            raise
        except OSError as err:
            raise MediaError(f"{os.path.basename(path)}: cannot be read ({err}).") from err
        (images if kind == "image" else videos).append(path)
    return images, videos


def conversation_markdown(history: Sequence[Any], title: str = "Rio Chat") -> str:
    """The conversation as Markdown: speakers, thinking in <details>, files by name."""
    lines = [f"# {title}", ""]
    for msg in _as_messages(history):
        role = msg.get("role", "user")
        meta = msg.get("metadata") or {}
        for kind, value in _parts(msg.get("content")):
            if kind == "file":
                lines += [f"**{role}** attached `{os.path.basename(value[0])}`", ""]
            elif meta.get("title"):
                lines += [
                    f"<details><summary>{meta['title']}</summary>",
                    "",
                    plain_text(value),
                    "",
                    "</details>",
                    "",
                ]
            else:
                lines += [f"**{role}:**", "", plain_text(value), ""]
    return "\n".join(lines).rstrip() + "\n"
