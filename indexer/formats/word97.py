"""Legacy Word files (.doc, and .wps as WPS Office writes them) and RTF.

Word-97 binaries go through ``antiword`` (Debian package ``antiword``: exact and fast, ~0.5 MB). Files it cannot
read (Word 6/95, WPS-native files) go through LibreOffice headless when it is installed (Debian
``libreoffice-writer-nogui``, ~264 MB, an optional extra). Without a usable converter the file is skipped with a
message naming the package. RTF — which sites also serve as ``.doc`` — is read with striprtf, in the code page
its header declares (``\\ansicpg936`` → GB18030).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from indexer.formats.base import FormatError, MissingToolError, ReadResult, blocks_from_lines
from indexer.formats.cleanup import clean_block
from indexer.formats.docx import read_docx

logger = logging.getLogger(__name__)

CONVERT_TIMEOUT_S = 120
_CODEPAGES = {"936": "gb18030", "950": "big5", "65001": "utf-8", "1252": "cp1252", "932": "cp932", "949": "cp949"}


def soffice_path() -> str | None:
    """LibreOffice's command line program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _antiword(path: Path, name: str) -> str | None:
    exe = shutil.which("antiword")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-m", "UTF-8.txt", "-w", "0", str(path)],
            capture_output=True,
            timeout=CONVERT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning("%s: antiword took over %d s", name, CONVERT_TIMEOUT_S)
        return None
    if done.returncode != 0 or not done.stdout.strip():
        logger.info("%s: antiword cannot read it (%s)", name, done.stderr.decode("utf-8", "replace").strip()[:200])
        return None
    return done.stdout.decode("utf-8", "replace")


def _soffice_to_docx(path: Path, workdir: Path, name: str) -> bytes | None:
    exe = soffice_path()
    if exe is None:
        return None
    profile = workdir / "profile"  # a private profile: no clash with a running LibreOffice
    try:
        subprocess.run(
            [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "docx", "--outdir",
             str(workdir), str(path)],
            capture_output=True,
            timeout=CONVERT_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise FormatError(f"{name}: LibreOffice did not finish converting in {CONVERT_TIMEOUT_S} s") from None
    out = workdir / (path.stem + ".docx")
    return out.read_bytes() if out.is_file() else None


def read_word97(data: bytes, name: str) -> ReadResult:
    """A Word-97 binary (``.doc``/``.wps``): antiword, else LibreOffice, else a ``MissingToolError``."""
    with tempfile.TemporaryDirectory(prefix="policyrag-doc-") as tmp:
        path = Path(tmp) / ("input" + (Path(name).suffix or ".doc"))
        path.write_bytes(data)
        text = _antiword(path, name)
        if text is not None:
            lines = [clean_block(line) for line in text.splitlines()]
            return ReadResult(name=name, format="doc", blocks=tuple(blocks_from_lines(lines)), encoding="utf-8")
        docx = _soffice_to_docx(path, Path(tmp), name)
        if docx is not None:
            result = read_docx(docx, name)
            return ReadResult(name=name, format="doc", blocks=result.blocks, meta=result.meta)
    if shutil.which("antiword") is None and soffice_path() is None:
        raise MissingToolError(
            f"{name}: a Word-97 .doc/.wps file needs a converter: install antiword (apt-get install antiword, "
            "or `make office-deps`) or LibreOffice (apt-get install libreoffice-writer-nogui)"
        )
    if soffice_path() is None:
        raise MissingToolError(
            f"{name}: antiword cannot read this Word/WPS file (Word 6/95 or WPS-native?); install LibreOffice "
            "(apt-get install libreoffice-writer-nogui) to convert it, or save it as .docx"
        )
    raise FormatError(f"{name}: neither antiword nor LibreOffice could read this file; open it and save as .docx")


def read_rtf(data: bytes, name: str) -> ReadResult:
    """RTF (also when named .doc): striprtf in the declared ANSI code page."""
    from striprtf.striprtf import rtf_to_text

    m = re.search(rb"\\ansicpg(\d+)", data[:2048])
    encoding = _CODEPAGES.get(m.group(1).decode() if m else "", "cp1252")
    if m is None and re.search(rb"\\'[89a-f][0-9a-f]\\'[4-9a-f][0-9a-f]", data[:65536]):
        encoding = "gb18030"  # no code page but double-byte escapes: Chinese Word/WPS output
    try:
        text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="strict")
    except (UnicodeDecodeError, LookupError) as exc:
        raise FormatError(f"{name}: RTF text is not valid {encoding} ({exc}); re-save it as .docx") from exc
    lines = [clean_block(line) for line in text.splitlines()]
    return ReadResult(name=name, format="rtf", blocks=tuple(blocks_from_lines(lines)), encoding=encoding)
