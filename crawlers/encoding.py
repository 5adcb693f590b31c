"""Decode page bytes to text: UTF-8, windows-1258, and pages whose declared charset is wrong."""

from __future__ import annotations

import re
import unicodedata

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

# Letters only Vietnamese text has (after NFC); a wrong decoding turns them into mojibake.
VIETNAMESE = set(
    "ăâđêôơưĂÂĐÊÔƠƯ"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ"
)
# UTF-8 bytes read as a single-byte charset: "Ã¡", "Ä‘", "Æ°", "á»"...
MOJIBAKE = re.compile("[ÃÄÆ][\u0080-\u00bf\u2018-\u203a\u0152-\u0192]|á[»º]")
FALLBACKS = ("utf-8", "cp1258")
SAMPLE = 200_000


def declared(body: bytes, content_type: str | None) -> list[str]:
    """The charsets the HTTP header and the page itself declare, header first, normalised."""
    found = [http_content_type_encoding(content_type or ""), html_body_declared_encoding(body)]
    names = [resolve_encoding(name) or name for name in found if name]
    return list(dict.fromkeys(name.lower() for name in names))


def score(text: str) -> int:
    """How Vietnamese a decoding looks: its Vietnamese letters, less replacement and mojibake."""
    sample = unicodedata.normalize("NFC", text[:SAMPLE])
    letters = sum(1 for ch in sample if ch in VIETNAMESE)
    return letters - 20 * sample.count("\ufffd") - 5 * len(MOJIBAKE.findall(sample))


def decode_as(body: bytes, encoding: str) -> str | None:
    """body decoded with encoding (undecodable bytes replaced); None for an unknown codec."""
    try:
        return body.decode(encoding, "replace")
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The page's text and the encoding used: BOM, else declared charset checked against the bytes.

    Valid UTF-8 declared as UTF-8 (or not declared) is taken as is; otherwise each declared
    charset, UTF-8 and windows-1258 are tried and the decoding that reads most like Vietnamese
    wins, so a page whose header or meta tag names the wrong charset still decodes right.
    """
    bom, mark = read_bom(body)
    if bom and mark:
        return body[len(mark) :].decode(bom, "replace"), bom
    names = declared(body, content_type)
    if not names or names[0] in ("utf-8", "ascii", "us-ascii"):
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    best: tuple[int, str, str] | None = None
    for name in dict.fromkeys([*names, *FALLBACKS]):
        text = decode_as(body, name)
        if text is None:
            continue
        points = score(text)
        if best is None or points > best[0]:
            best = (points, name, text)
    assert best is not None  # utf-8 is always a candidate
    return best[2], best[1]
