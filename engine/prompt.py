"""Conversations -> model inputs.

Owns: `Turn` (one message of a conversation, with its media) and turning a
list of turns into chat-template messages and then tokenizer/processor
outputs that the decode loop takes as its prefill. Leaves media validation
to `media.py` and the loop to `decode.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    images: tuple[str, ...] = ()  # file paths
    videos: tuple[str, ...] = ()  # file paths
    thinking: str = ""  # an assistant turn's thinking text (templates may drop it)
