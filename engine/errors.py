"""The one exception type a user can cause.

Owns: `RioError` and its few subclasses. Every failure a person can act on
(a bad file, an over-long prompt, a model that cannot be loaded, a bad
setting) raises one of these with a message that says what happened and what
to do. The UI shows the message and keeps the conversation; the CLI prints it
and exits with status 2. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class RioError(Exception):
    """A problem the user can act on; `str(err)` is the message to show."""


class ModelUnavailable(RioError):
    """A model could not be loaded (missing, offline, too big, needs a GPU)."""


class MediaError(RioError):
    """An uploaded image or video was rejected."""


class PromptTooLong(RioError):
    """The prompt does not fit the model's context or the configured limit."""


class BackendError(RioError):
    """A remote serving engine failed (unreachable, HTTP error, cut stream)."""
