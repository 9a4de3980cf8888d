"""Chat message type shared by the generator protocol (``models.generators``) and its backends."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a chat: ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown chat role {self.role!r}; valid roles: {', '.join(ROLES)}")
        if not isinstance(self.content, str):
            raise TypeError(f"chat message content must be str, not {type(self.content).__name__}")

    def as_dict(self) -> dict[str, str]:
        """The OpenAI-style ``{"role": ..., "content": ...}`` mapping chat templates expect."""
        return {"role": self.role, "content": self.content}
