"""One settings model shared by the CLI, environment variables and a config file.

Precedence (highest first): command-line flags, ``POLICYRAG_*`` environment
variables, the TOML config file (``--config`` or ``POLICYRAG_CONFIG``), defaults.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

if TYPE_CHECKING:
    from answer.answerer import AnswerSettings
    from retriever.backend import IndexLocation

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """policyrag configuration."""

    # inf/nan would pass every bound check and then leave the JSON output as Infinity/NaN.
    model_config = SettingsConfigDict(env_prefix="POLICYRAG_", extra="forbid", allow_inf_nan=False)

    corpus: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [PROJECT_ROOT / "corpus"])
    index_dir: Path = PROJECT_ROOT / "indexes" / "default"
    models_dir: Path = PROJECT_ROOT / "models"
    embedder: str = "auto"
    # Index backend (retriever/backend.py): the local folder (index_dir), or a Milvus collection at ``uri``
    # (a Milvus Lite file ending in .db, or http(s)://host:19530 with ``milvus_token``).
    backend: str = "local"
    uri: str | None = None
    milvus_token: str | None = None
    collection: str = Field("policyrag", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    # Milvus search consistency: Strong (a publish is visible at once) or Session/Bounded/Eventually (faster on a
    # server, docs/scale-out.md; another process's publish shows a few seconds later).
    milvus_consistency: str = Field("Strong", pattern=r"^(Strong|Session|Bounded|Eventually)$")
    device: str | None = None
    workers: int | None = Field(None, ge=1, le=256)  # build processes for reading and BM25 terms; None: one per core
    fusion: str = "convex"
    dense_weight: float = Field(1.0, ge=0.0)
    bm25_weight: float = Field(0.05, ge=0.0)
    # A learned map on query vectors (retriever/adapter.py): a shipped name (stard-e5-small-int8) or an .npz path.
    query_adapter: str | None = None
    authority_boost: float = Field(0.0, ge=0.0, le=1.0)  # retriever/rerank.py; 0.02 suits statute collections
    rrf_k: int = Field(60, ge=1)
    generator: str = "auto"
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = Field(None, ge=1)
    n_gpu_layers: int | None = None
    answer_k: int = Field(4, ge=1, le=20)
    context_tokens: int = Field(900, ge=100)
    prompt_style: str = "auto"
    # Retrieval-confidence gate (answer/confidence.py); defaults calibrated for e5-small on the dev set.
    abstain_min_dense: float = 0.83
    abstain_min_coverage: float = 0.15
    abstain_sure_dense: float = 0.93
    # With a model: the best source must raise the question's log-likelihood by this many nats
    # (answer/answerability.py; calibrated for the default Qwen 0.5B GGUF on the dev set).
    abstain_min_pmi: float = 10.0
    # HTTP server: a token is required for any bind address other than loopback; CORS is off unless listed.
    api_token: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host names (no port) the server answers to; None = loopback names (serve --allow-remote: any host).
    allowed_hosts: Annotated[list[str] | None, NoDecode] = None
    max_body_bytes: int = Field(1_048_576, ge=1024)  # larger request bodies get 413
    body_timeout_s: float = Field(30.0, gt=0, le=3600)  # a request body must arrive within this time (408)

    @field_validator("corpus", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        # Environment variables hold lists as "a,b" (or a JSON list); TOML and flags give real lists.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not a JSON list ({exc.msg}); or write the items comma-separated") from exc
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("device")
    @classmethod
    def _device_known(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"cpu|cuda(:\d+)?", value):
            raise ValueError(f"unknown device {value!r}; valid: cpu, cuda, cuda:N")
        return value

    @field_validator("backend")
    @classmethod
    def _backend_known(cls, value: str) -> str:
        from retriever.backend import BACKENDS

        if value not in BACKENDS:
            raise ValueError(f"unknown index backend {value!r}; valid: {', '.join(BACKENDS)}")
        return value

    @field_validator("fusion")
    @classmethod
    def _fusion_known(cls, value: str) -> str:
        from retriever.fusion import FUSION_METHODS

        if value not in FUSION_METHODS:
            raise ValueError(f"must be one of {', '.join(FUSION_METHODS)}")
        return value

    def index_location(self) -> IndexLocation:
        """Where the index lives (retriever.backend.IndexLocation): the local folder or a Milvus collection."""
        from retriever.backend import IndexLocation

        return IndexLocation(
            self.backend, self.index_dir, self.uri, self.milvus_token, self.collection, self.milvus_consistency
        )

    def answer_settings(self) -> AnswerSettings:
        """The answering pipeline's knobs (answer.answerer.AnswerSettings) from these settings."""
        from answer.answerer import AnswerSettings
        from answer.confidence import ConfidenceRule

        return AnswerSettings(
            k=self.answer_k,
            context_tokens=self.context_tokens,
            prompt_style=self.prompt_style,
            min_question_pmi=self.abstain_min_pmi,
            rule=ConfidenceRule(self.abstain_min_dense, self.abstain_min_coverage, self.abstain_sure_dense),
        )


class ConfigError(ValueError):
    """A config file that cannot be read."""


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, config file, environment, then ``overrides`` (flags; None = not given)."""
    config = config or (Path(os.environ["POLICYRAG_CONFIG"]) if os.environ.get("POLICYRAG_CONFIG") else None)
    file_values: dict[str, Any] = {}
    if config is not None:
        try:
            file_values = tomllib.loads(config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config} ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {config} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config} is not valid TOML ({exc})") from exc
    try:
        env = Settings()  # defaults + environment
    except SettingsError as exc:
        raise ConfigError(f"invalid POLICYRAG_* environment variable: {exc}") from exc
    explicit_env = {name for name in Settings.model_fields if f"POLICYRAG_{name.upper()}" in os.environ}
    values = {**file_values, **{k: getattr(env, k) for k in explicit_env}}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
