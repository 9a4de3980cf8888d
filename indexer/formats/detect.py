"""Tell a file's format from its bytes (magic numbers), not from its name.

Government sites serve RTF and HTML named ``.doc``, and WPS Office writes Word-97 files named ``.wps``; the
extension is only a tie-breaker between plain text and Markdown.
"""

from __future__ import annotations

import io
import re
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_HTML_ANYWHERE = re.compile(rb"<(html|body)\b[^>]*>", re.I)
_MHTML = re.compile(rb"^(?:[\w-]+:[^\r\n]*\r?\n)*?content-type:\s*multipart/related", re.I | re.M)
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x7fELF": "a program (ELF)",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}

FORMATS = ("text", "markdown", "pdf", "docx", "doc", "rtf", "html", "mhtml", "ofd")


def detect_format(data: bytes, name: str = "") -> str | None:
    """The format of a file from its content: one of ``FORMATS``, or None when it is none of them.

    ``name`` only decides between ``markdown`` (``.md``) and ``text``. ``doc`` covers every Word-97 binary
    (``.doc``, ``.wps``, ``.dot``); an OLE file without a WordDocument stream (xls, ppt) is None.
    """
    head = data[:4096]
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(data)
    if head.startswith(OLE_MAGIC):
        return "doc" if _WORD_STREAM in data[:65536] or _WORD_STREAM in data else None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return "rtf"
    if _MHTML.search(head[:2048]) and b"mime-version" in head[:2048].lower():
        return "mhtml"
    if any(head.startswith(m) for m in _BINARY_MAGIC):
        return None
    if _HTML_START.match(stripped) or (_HTML_ANYWHERE.search(head) and b"</" in head):
        return "html"
    if _looks_binary(head):
        return None
    return "markdown" if name.lower().endswith((".md", ".markdown")) else "text"


def describe_binary(data: bytes) -> str:
    """A short description of a non-text file for error messages (``a PNG image``)."""
    if data.startswith(OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data:
        return "a password-protected Office file: save an unprotected copy"
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return what
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive that is neither DOCX nor OFD (xlsx, pptx, odt?)"
    if data.startswith(OLE_MAGIC):
        return "an Office binary file without a Word document stream (xls, ppt?)"
    return "a binary file"


def _zip_format(data: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError):
        # A truncated or damaged archive: its local headers still name the parts; the reader reports the damage.
        if b"word/" in data or b"wordprocessingml" in data:
            return "docx"
        return "ofd" if b"OFD.xml" in data else None
    if "word/document.xml" in names:
        return "docx"
    if "OFD.xml" in names or any(n.lower() == "ofd.xml" for n in names):
        return "ofd"
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when ``data`` reads as BOM-less UTF-16 text, else None.

    Real text has newlines, spaces or digits, which in UTF-16 put a NUL in every other byte of theirs and
    never in the other half; the strict decode must then read as Chinese or Latin text.
    """
    sample = data[: 4096 - 4096 % 2] if len(data) >= 4096 else data[: len(data) - len(data) % 2]
    if len(sample) < 4:
        return None
    for enc, zero_at in (("utf-16-le", 1), ("utf-16-be", 0)):
        # ASCII puts its NUL in the high byte; only the rare U+xx00 ideograph (一 U+4E00) in the low one.
        if sample[zero_at::2].count(0) <= sample[1 - zero_at :: 2].count(0):
            continue
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausible_text(text):
            return enc
    return None


def _plausible_text(text: str) -> bool:
    """Mostly ASCII, CJK ideographs and CJK/full-width punctuation (what Chinese documents hold)."""
    sample = text[:2000]
    good = sum(
        (" " <= ch <= "~")
        or ch in "\t\r\n"
        or "\u4e00" <= ch <= "\u9fff"
        or "\u3400" <= ch <= "\u4dbf"
        or "\u3000" <= ch <= "\u303f"
        or "\uff00" <= ch <= "\uffef"
        or "\u2010" <= ch <= "\u206f"
        for ch in sample
    )
    return bool(sample) and good >= 0.95 * len(sample)


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_without_bom(head):
        return False
    if b"\x00" in head:
        return True
    control = sum(b < 9 or 13 < b < 32 for b in head)
    return control > max(8, len(head) // 50)
