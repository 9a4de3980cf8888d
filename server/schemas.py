"""Request models with bounds (the API validates input before any model runs)."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, Field

MAX_QUESTION_CHARS = 500


def is_blank(text: str) -> bool:
    """True when ``text`` holds nothing to search for: only whitespace, NUL and other control characters."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs") for ch in text)


class AskRequest(BaseModel):
    """``POST /api/ask`` body."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(4, ge=1, le=20)
    no_llm: bool = False
    issuer: str | None = Field(None, min_length=1, max_length=100, description="only documents of this issuer")
    year: str | None = Field(None, pattern=r"^\d{4}(-\d{4})?$", description="only documents dated YYYY or YYYY-YYYY")
