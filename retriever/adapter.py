"""A learned query-side adapter: a linear map applied to query embeddings before dense search.

Trained contrastively on lay questions paired with the statute articles that answer them (STARD; the study
is ``eval/studies/query_adapter.py``), it moves a lay question's vector towards the legal wording of its
articles. Passage vectors are untouched, so one index serves with and without it. An adapter belongs to one
embedder: loading it for another is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ADAPTER_DIR = Path(__file__).resolve().parent / "adapters"


class AdapterError(ValueError):
    """An adapter that cannot be used (unknown name, damaged file, other embedder)."""


@dataclass(frozen=True)
class QueryAdapter:
    """``q' = normalise(W q)``; ``trained_on``: the question ids it was fitted to (benchmarks leave them out)."""

    name: str
    embedder: str
    matrix: np.ndarray  # (dim, dim) float32
    trained_on: tuple[str, ...] = ()
    notes: str = ""

    def apply(self, queries: np.ndarray) -> np.ndarray:
        """Adapted, L2-normalised query rows ``(n, dim)`` float32."""
        out = np.asarray(queries, dtype=np.float32) @ self.matrix.T
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write the adapter as a compressed ``.npz`` (matrix + JSON header)."""
        header = {
            "name": self.name,
            "embedder": self.embedder,
            "trained_on": list(self.trained_on),
            "notes": self.notes,
        }
        with path.open("wb") as fh:
            np.savez_compressed(fh, matrix=self.matrix.astype(np.float32), header=np.array(json.dumps(header)))


def available_adapters() -> list[str]:
    """Names of the adapters shipped in ``retriever/adapters/``."""
    return sorted(p.stem for p in ADAPTER_DIR.glob("*.npz"))


def configured_adapter(setting: str | None, *, embedder: str) -> QueryAdapter | None:
    """The adapter the ``query_adapter`` setting names for an index of ``embedder``; None when it is unset."""
    return load_adapter(setting, embedder=embedder) if setting else None


def default_adapter_for(embedder: str) -> str | None:
    """The shipped STARD adapter of ``embedder`` (``stard-<embedder>``), if there is one."""
    name = f"stard-{embedder}"
    return name if (ADAPTER_DIR / f"{name}.npz").is_file() else None


def load_adapter(name_or_path: str, *, embedder: str) -> QueryAdapter:
    """A shipped adapter by name, or an ``.npz`` file by path; AdapterError when it does not fit ``embedder``."""
    path = Path(name_or_path)
    if not (name_or_path.endswith(".npz") and path.is_file()):
        path = ADAPTER_DIR / f"{name_or_path}.npz"
    if not path.is_file():
        valid = ", ".join(available_adapters()) or "none shipped"
        raise AdapterError(f"unknown query adapter {name_or_path!r}; valid: {valid}, or a path to an .npz file")
    try:
        with np.load(path, allow_pickle=False) as data:
            matrix = np.asarray(data["matrix"], dtype=np.float32)
            header = json.loads(str(data["header"]))
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"query adapter {path} cannot be read ({exc})") from exc
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise AdapterError(f"query adapter {path} holds a {matrix.shape} matrix, expected a square one")
    if header.get("embedder") != embedder:
        raise AdapterError(
            f"query adapter {path.stem!r} was trained for embedder {header.get('embedder')!r}, "
            f"but the index uses {embedder!r}; drop the query_adapter setting or rebuild the index with that embedder"
        )
    return QueryAdapter(
        name=str(header.get("name", path.stem)),
        embedder=embedder,
        matrix=matrix,
        trained_on=tuple(str(i) for i in header.get("trained_on", ())),
        notes=str(header.get("notes", "")),
    )
