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
# What a wrong decoding leaves where Vietnamese letters were, besides Latin letters Vietnamese
# does not use (ï, Ñ, ß, œ): Latin-1 symbols rare in Vietnamese text (° « » · © ± × are common).
STRAY_SYMBOLS = set("¡¢£¤¥¦¨ª¬¯²³´µ¶¸¹º¼½¾¿†‡‰ˆ˜™")
# Share of stray characters among the non-ASCII ones above which a text is garbled: at most
# 0.035 in each of the 20,442 corpus articles, at least 0.38 in 300 of them encoded in VISCII
# and read as windows-1258. Below GARBLED_MIN stray characters a text is not judged.
GARBLED_SHARE = 0.2
GARBLED_MIN = 8


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


def is_stray(char: str) -> bool:
    """True for a non-ASCII character a wrong decoding leaves in Vietnamese text."""
    if char in STRAY_SYMBOLS or "\x80" <= char <= "\x9f" or char == "\ufffd":
        return True
    category = unicodedata.category(char)
    return category == "Mn" or (category[0] == "L" and char < "\u0250")


def looks_garbled(text: str) -> bool:
    """True when text reads as Vietnamese decoded with the wrong charset (VISCII, TCVN3...).

    Those charsets have no Python codec, so such a page decodes, as windows-1258 or UTF-8, to
    letters and symbols Vietnamese does not use where its accented letters should be.
    """
    sample = unicodedata.normalize("NFC", text[:SAMPLE])
    letters = stray = 0
    for char in sample:
        if char < "\x80":
            continue
        if char in VIETNAMESE:
            letters += 1
        elif is_stray(char):
            stray += 1
    stray += len(MOJIBAKE.findall(sample))
    return stray >= GARBLED_MIN and stray >= GARBLED_SHARE * (letters + stray)
