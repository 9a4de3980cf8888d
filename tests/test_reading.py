"""Reading corpus files: strict encoding detection, binary refusal, path expansion."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from indexer.reading import UnreadableFileError, decode_bytes, iter_source_paths, read_source, scan_sources

# Two lines in the style of corpus/001 (simplified, full-width punctuation).
TEXT = (
    "第六条 市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。\n"
    "市发展改革、教育、科技创新、公安、财政等部门在各自职责范围内，负责人工智能产业发展相关工作。\n"
)
# Traditional text as in corpus/003 (without the pinyin annotations).
TRADITIONAL = "深圳經濟特區人工智能產業促進條例，規範人工智能倫理安全。"
# Characters outside GBK: CJK extension B (𠮷) and extension A (䶮) need GB18030's four-byte forms.
GB18030_ONLY = "吉字异体𠮷与䶮字均为人名用字。"


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("prefix", "encoding"),
    [(b"", "utf-8"), (b"\xef\xbb\xbf", "utf-8-sig")],
    ids=["utf8", "utf8-bom"],
)
def test_utf8_with_and_without_bom(tmp_path: Path, prefix: bytes, encoding: str) -> None:
    path = _write(tmp_path, "a.txt", prefix + TEXT.encode("utf-8"))
    source = read_source(path)
    assert source.text == TEXT  # the BOM is not part of the text
    assert not source.text.startswith("\ufeff")
    assert source.encoding == encoding
    assert source.name == "a.txt"
    assert source.path == path


def test_gbk_bytes_decode_correctly(tmp_path: Path) -> None:
    data = TEXT.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # precondition: these bytes are not UTF-8
    source = read_source(_write(tmp_path, "gbk.txt", data))
    assert source.text == TEXT
    assert source.encoding == "gb18030"


def test_gb18030_four_byte_characters_decode_correctly(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        GB18030_ONLY.encode("gbk")  # precondition: not representable in GBK
    source = read_source(_write(tmp_path, "gb18030.md", GB18030_ONLY.encode("gb18030")))
    assert source.text == GB18030_ONLY
    assert source.encoding == "gb18030"


def test_utf16_with_bom_decodes() -> None:
    text, encoding = decode_bytes(TEXT.encode("utf-16"))
    assert text == TEXT
    assert encoding == "utf-16"


def test_binary_file_is_unreadable(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
    path = _write(tmp_path, "picture.txt", png)
    with pytest.raises(UnreadableFileError, match="binary"):
        read_source(path)


def test_nul_bytes_inside_otherwise_valid_utf8_are_refused() -> None:
    with pytest.raises(UnreadableFileError, match="NUL"):
        decode_bytes("人工智能".encode() + b"\x00" + "产业".encode(), name="x.txt")


@pytest.mark.parametrize("name", ["notice.pdf", "notice.docx", "notice"])
def test_read_source_is_for_text_files_only(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, TEXT.encode("utf-8"))
    with pytest.raises(UnreadableFileError, match="unsupported file type"):
        read_source(path)


def test_suffix_check_ignores_case(tmp_path: Path) -> None:
    source = read_source(_write(tmp_path, "UPPER.TXT", TEXT.encode("utf-8")))
    assert source.text == TEXT


def test_unreadable_path_is_reported_as_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "looks_like.txt"
    folder.mkdir()
    with pytest.raises(UnreadableFileError, match="cannot read"):
        read_source(folder)


def test_big5_is_not_silently_garbled() -> None:
    data = TRADITIONAL.encode("big5")
    try:
        text, _ = decode_bytes(data, name="big5.txt")
    except UnreadableFileError:
        return  # refusing is acceptable; returning garbage is not
    assert text == TRADITIONAL


def test_missing_path_raises(tmp_path: Path) -> None:
    good = _write(tmp_path, "a.txt", TEXT.encode("utf-8"))
    missing = tmp_path / "nope.txt"
    with pytest.raises(UnreadableFileError, match="no such file or folder"):
        list(iter_source_paths([good, missing]))


def test_folder_expansion_is_sorted_recursive_and_filtered(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for name in ["b.txt", "a.md", "d.TXT", "c.pdf", "notes.docx", "sub/e.txt", "sub/z.md", "sub/y.html", "x.xlsx"]:
        _write(root, name, TEXT.encode("utf-8"))
    (root / "folder.txt").mkdir()  # a folder with a .txt name is not a file
    found = list(iter_source_paths([root]))
    assert found == [
        root / "a.md",
        root / "b.txt",
        root / "c.pdf",
        root / "d.TXT",
        root / "notes.docx",
        root / "sub" / "e.txt",
        root / "sub" / "y.html",
        root / "sub" / "z.md",
    ]
    assert any("ignored 1 file(s) of other types (.xlsx: 1)" in p for p in scan_sources([root]).problems)


def test_explicit_files_keep_the_given_order(tmp_path: Path) -> None:
    b = _write(tmp_path, "b.txt", b"x")
    a = _write(tmp_path, "a.txt", b"y")
    assert list(iter_source_paths([b, a])) == [b, a]


def test_empty_folder_yields_nothing_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty, "picture.png", b"\x89PNG")
    with caplog.at_level(logging.WARNING, logger="indexer.reading"):
        assert list(iter_source_paths([empty])) == []
    assert "no supported files found" in caplog.text


def test_symlinked_and_unreadable_subfolders_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _write(root, "a.txt", TEXT.encode("utf-8"))
    outside = tmp_path / "elsewhere"
    _write(outside, "b.txt", TEXT.encode("utf-8"))
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "gone.txt").symlink_to(tmp_path / "missing.txt")
    locked = root / "locked"
    _write(locked, "c.txt", TEXT.encode("utf-8"))
    locked.chmod(0)
    try:
        scan = scan_sources([root])
        if os.access(locked, os.R_OK):  # root ignores permissions: only the symlink can be checked
            assert scan.files == (root / "a.txt", locked / "c.txt")
        else:
            assert scan.files == (root / "a.txt",)
            assert any("locked: folder not readable" in p for p in scan.problems)
    finally:
        locked.chmod(0o755)
    assert any("link: symlinked folder not followed" in p for p in scan.problems)
    assert any("gone.txt: broken symbolic link" in p for p in scan.problems)


def test_utf16_without_bom_is_text_not_binary() -> None:
    for enc in ("utf-16-le", "utf-16-be"):
        text, encoding = decode_bytes(("第一条 数据开放\n" + TEXT).encode(enc), name="x.txt")
        assert text.startswith("第一条 数据开放") and encoding == enc


def test_latin1_mojibake_is_refused_not_indexed() -> None:
    for codec, errors in (("latin-1", "strict"), ("cp1252", "ignore")):  # bytes cp1252 lacks get lost
        garbled = (TEXT * 3).encode("utf-8").decode(codec, errors=errors).encode("utf-8")
        with pytest.raises(UnreadableFileError, match="decoded as Latin-1"):
            decode_bytes(garbled, name="garbled.txt")
    # Real Latin text with accents is not mojibake.
    assert decode_bytes("Café, naïve, Zürich — résumé".encode(), name="latin.txt")[0].startswith("Café")
