"""Request models with bounds (the API validates input before any model runs)."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_QUESTION_CHARS = 500


class AskRequest(BaseModel):
    """``POST /api/ask`` body."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(4, ge=1, le=20)
    no_llm: bool = False
