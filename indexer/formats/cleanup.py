"""Normalisation applied to every reader's output: layout spaces, radicals, invisible characters.

Layout engines (Word/WPS PDF export, OFD writers) put spaces between CJK characters and digits
(``2022 年 8 月``) and some fonts map ideographs to Kangxi/CJK radical code points (``⼈⼯智能``), which look the
same but match nothing in search. Full-width punctuation is kept as it is.
"""

from __future__ import annotations

import re

from indexer.normalise import map_radicals, tidy_spaces

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_ODD_SPACES = re.compile("[\u00a0\u2002-\u200a\u202f\u205f]")


def clean_block(text: str) -> str:
    """One reader block made fit for the text pipeline (pure): radicals, invisible characters, layout spaces."""
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = map_radicals(text)
    return tidy_spaces(text)
