"""The generic extractor: a page read the way a reader reads it, where no profile rule does.

The headline is the visible h1 (or the heading that shows the declared title); the byline is the
article's own (its JSON-LD person, an author element, the signature under the text), never the
site's name; the section is the breadcrumb's last step; the date is the one printed by the
headline; the body is trafilatura's text less what stands before the headline, the headline
itself and a repeated lead, with the visible lead in front (as a profile's body has it) and the
subheadings trafilatura dropped put back.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterator
from copy import deepcopy
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

import htmldate
import trafilatura
from lxml import etree

from crawlers.dates import NUMERIC_RE, WORDS_RE, clock, parse_datetime
from crawlers.markup import drop_tree, first_line, root_text
from crawlers.page import Page
from crawlers.profiles import Rule
from crawlers.text import clean, token_f1
from crawlers.urls import absolute, url_host

# Comments and tables are not the article's text (a comment form's "Tối đa: 1500 ký tự").
# favor_precision is off: it dropped a third of a Tuổi Trẻ article (body F1 0.70 against 0.98).
TRAFILATURA_OPTIONS = {"include_comments": False, "include_tables": False}
# htmldate's extensive search is off: on a page without a usable date it guesses from any year
# it sees (2026 becomes 1 January 2026), and a wrong date is worse than none.
HTMLDATE_OPTIONS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S",
}
TITLE_RULES = (Rule("jsonld", "headline"), Rule("meta", "og:title"), Rule("meta", "twitter:title"))
DESCRIPTION_RULES = (Rule("meta", "og:description"), Rule("meta", "description"))
SECTION_RULES = (Rule("meta", "article:section"), Rule("jsonld", "articleSection"))
AUTHOR_META_RULES = (Rule("meta", "author"), Rule("meta", "article:author"))
SITE_NAME_RULES = (
    Rule("meta", "og:site_name"),
    Rule("meta", "application-name"),
    Rule("jsonld", "publisher.name"),
)
# Not the page's content: menus, sidebars, the footer, a site header (not an article's own).
OUTSIDE = (
    "ancestor-or-self::*[self::nav or self::footer or self::aside"
    " or self::header[not(ancestor::article or ancestor::main)]]"
)
MARKED_ATTRS = ("class", "id", "itemprop", "rel", "data-role", "data-slot", "aria-label")
LEAD_MARK = re.compile(
    r"sapo|(?<![a-z])lead(?![a-z])|description|summary|excerpt|intro|chapeau|tomtat", re.IGNORECASE
)
AUTHOR_MARK = re.compile(r"author|byline|tac-?gia|writer", re.IGNORECASE)
CRUMB_MARK = re.compile(r"bread-?crumb", re.IGNORECASE)
HOME_WORDS = {"trangchu", "home", "trangnhat", "trangchinh"}
NAME_SEPARATORS = re.compile(r"\s*(?:,|;|&|\s-\s|\bvà\b)\s*")
BYLINE_LABEL = re.compile(r"^[^:]{1,25}:\s*")  # "Bài và ảnh: ", "Tác giả: "
NOT_A_NAME = re.compile(r"[\d@/:!?\"“”]|https?|www\.")
TITLE_SEPARATORS = re.compile(r"\s+[-|–—]\s+")
LIST_MARK = re.compile(r"^[-*•|]\s+|\s+\|$")
SUBHEADINGS = ("h2", "h3", "h4", "h5", "h6")
PARAGRAPHS = ("p", "li", "blockquote", "pre", "dd")
NOT_LEAD = "self::a or self::figure or self::figcaption or self::table"
BLOCKS = "self::p or self::div or self::section or self::article or self::ul or self::ol"
SITE_NAME_SLACK = 15  # letters a site's name may carry beyond its domain ("tuoitre" + "online")
LEAD_WINDOW = 80  # elements after the headline where its lead is looked for
BYLINE_WINDOW = 320  # elements after the headline where an author element is looked for
DATE_WINDOW = 40  # text pieces after (and half as many before) the headline for its date line
BYLINE_LEVELS = 4  # how far up a byline's block is looked for
MAX_BYLINE_CHARS = 300
# Longer is no headline but an element left open over the article after it. Real titles: 83
# characters at most on the saved pages; 261 in the corpus (before NLĐ's "(NLĐ)-" dateline, where
# the longest have a photo caption fused); an h1 left open on a saved page holds 1,807 or more.
MAX_TITLE_CHARS = 300
DATE_LINE_CHARS = 100
# A link whose text has this many words reads as a headline: in a short item with little else (a
# date), it is another article's teaser ("Tin khác", "Tin liên quan"), its date not this page's.
HEADLINE_WORDS = 6
TEASER_LEVELS = 3  # how far up from a date (or a link) its teaser item is looked for
MAX_LEAD_CHARS = 1000
# Longer is no section but an element left open over the article after it. Real sections: 16
# characters at most extracted from the saved articles, 26 in their breadcrumbs, 40 in a menu.
MAX_CATEGORY_CHARS = 100
LEAD_WORDS = 8  # fewer words: a byline, a date, a label
TEXT_WORDS = 20  # a paragraph this long that is no lead: the article's text has begun


class Found(NamedTuple):
    """A value the reader found, where it found it (a rule-like source), and its element."""

    value: str = ""
    source: str | None = None
    element: Any = None


def fold(text: str) -> str:
    """Lower-case letters and digits of text, accents dropped: 'Dân Trí' -> 'dantri'."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D")).lower()
    return "".join(char for char in text if char.isalnum())


def describe(element: Any) -> str:
    """An element as a short CSS selector (tag.first-class or tag#id), for `sites check`."""
    classes = (element.get("class") or "").split()
    if classes:
        return f"{element.tag}.{classes[0]}"
    return f"{element.tag}#{element.get('id')}" if element.get("id") else str(element.tag)


def marked(element: Any, mark: re.Pattern[str]) -> bool:
    """True when a naming attribute of element (class, id, itemprop...) matches mark."""
    return isinstance(element.tag, str) and any(
        mark.search(element.get(attr) or "") for attr in MARKED_ATTRS
    )


def text_of(element: Any) -> str:
    """The cleaned visible text of an element."""
    return clean(root_text(element))


def person_names(text: str) -> list[str]:
    """The names a byline lists ('Bài và ảnh: Hà Thu (tổng hợp)' -> ['Hà Thu']); [] for any
    other text."""
    text = BYLINE_LABEL.sub("", clean(re.sub(r"\([^)]*\)", " ", text)))
    names = [part for part in NAME_SEPARATORS.split(text) if part]
    if not names or NOT_A_NAME.search(text):
        return []
    for name in names:
        words = name.split()
        if len(words) > 5 or not all(word[0].isupper() for word in words):
            return []
    return names


def is_organization(obj: dict[str, Any]) -> bool:
    """True for a JSON-LD object typed as an organisation (Organization, NewsMediaOrganization)."""
    kinds = obj.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(kind, str) and kind.endswith("Organization") for kind in kinds)


def signature_look(element: Any) -> bool:
    """True for how a signature line is set: right-aligned, or opening with a bold name."""
    style = (element.get("style") or "").replace(" ", "").lower()
    if "text-align:right" in style or (element.get("align") or "").lower() == "right":
        return True
    first = next(iter(element), None)
    return first is not None and first.tag in ("strong", "b") and not (element.text or "").strip()


def is_like(text: str, description: str) -> bool:
    """True when text is the page's declared description, whole or cut short."""
    if token_f1(text, description) >= 0.8:
        return True
    start = description[:60].rstrip(".… ")
    return len(start) >= 40 and text.startswith(start)


class Reader:
    """One page read without a profile; each reading is a Found (value, source, element)."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def select(self, xpath: str, context: Any = None) -> list[Any]:
        """XPath matches in the page (or from context), empty on any error."""
        if context is None:
            return self.page.select("xpath", xpath)
        try:
            return list(context.xpath(xpath))
        except Exception:  # a tree too odd to query yields nothing
            return []

    def outside(self, element: Any) -> bool:
        """True for an element in a menu, a sidebar, the footer or the site's header."""
        return bool(self.select(f"self::*[{OUTSIDE}]", element))

    def content(self, xpath: str) -> Iterator[tuple[Any, str]]:
        """Elements of the body matching xpath, outside menus and sidebars, with their text."""
        for element in self.select(f"//body{xpath}[not({OUTSIDE})]"):
            text = text_of(element)
            if text:
                yield element, text

    @cached_property
    def site_names(self) -> set[str]:
        """Folded names of the site: its domain's labels, og:site_name, the publisher."""
        host = url_host(self.url).removeprefix("www.")
        names = {fold(label) for label in host.split(".")}
        names |= {fold(name) for rule in SITE_NAME_RULES for name in self.page.values(rule)}
        return {name for name in names if len(name) >= 4}

    def is_site_name(self, text: str) -> bool:
        """True when text names the site itself ('VnExpress', 'TUOI TRE ONLINE', 'dantri.vn')."""
        folded = fold(text)
        return any(
            name in folded and len(folded) <= len(name) + SITE_NAME_SLACK
            for name in self.site_names
        )

    @cached_property
    def page_title(self) -> str:
        """The <title> less the site's name ('Tiêu đề - Báo VnExpress' -> 'Tiêu đề')."""
        for title in self.page.values(Rule("xpath", "//head/title")):
            while cuts := list(TITLE_SEPARATORS.finditer(title)):
                if not self.is_site_name(title[cuts[-1].end() :]):
                    break
                title = title[: cuts[-1].start()]
            return title if len(title) <= MAX_TITLE_CHARS else ""
        return ""

    @cached_property
    def declared_titles(self) -> list[str]:
        """The titles the page declares: JSON-LD headline, og:title, the <title> (none too long)."""
        found = [title for rule in TITLE_RULES for title in self.page.values(rule)]
        found = [title for title in found if len(title) <= MAX_TITLE_CHARS]
        return [*found, self.page_title] if self.page_title else found

    def likeness(self, text: str) -> float:
        """How close text is to the nearest declared title (token F1)."""
        return max((token_f1(text, title) for title in self.declared_titles), default=0.0)

    @cached_property
    def headline(self) -> Found:
        """The headline a reader sees: the h1 most like the declared title, else the heading
        that shows the declared title, else a lone h1, else the declared title itself, else the
        first line of an h1 too long to be a headline."""
        found = [(el, text) for el, text in self.content("//h1") if not self.is_site_name(text)]
        h1s = [(el, text) for el, text in found if len(text) <= MAX_TITLE_CHARS]
        if h1s:
            element, text = max(h1s, key=lambda pair: self.likeness(pair[1]))
            if self.likeness(text) >= 0.5:
                text = self.declared_start(text, element)
                return Found(text, f"generic:headline:{describe(element)}", element)
        # An h1 left open over the article after it, its first line the declared title: that title
        # is the headline and the h1 its element, so what it swallowed (lead, byline, date line)
        # is read as following it.
        opened = [
            (el, self.likeness(clean(first_line(el))))
            for el, text in found
            if len(text) > MAX_TITLE_CHARS
        ]
        if opened and self.declared.value:
            element, likeness = max(opened, key=lambda pair: pair[1])
            if likeness >= 0.5:
                return self.declared._replace(element=element)
        shown = [
            (el, text)
            for el, text in self.content("//*[self::h2 or self::h3 or contains(@class, 'title')]")
            if self.likeness(text) >= 0.8
        ]
        inner = [(el, t) for el, t in shown if not any(el in o.iterancestors() for o, _ in shown)]
        if inner:
            element, text = inner[0]
            return Found(text, f"generic:headline:{describe(element)}", element)
        # An h1 that says nothing like the declared title is still the headline when it reads as
        # one (a section name such as "Tin tức" does not); sites reword og:title for sharing.
        if h1s and (len(h1s[0][1].split()) >= 3 or not self.declared_titles):
            element, text = h1s[0]
            text = self.declared_start(text, element)
            return Found(text, f"generic:headline:{describe(element)}", element)
        if self.declared.value:
            return self.declared
        # An h1 left open holds the article after it; the headline is the line it begins with.
        for element, _ in found:
            line = clean(first_line(element))
            if line and len(line) <= MAX_TITLE_CHARS:
                return Found(line, f"generic:headline:{describe(element)}", element)
        return Found()

    @cached_property
    def declared(self) -> Found:
        """The first title the page declares: JSON-LD headline, og:title, twitter:title, <title>."""
        for rule in TITLE_RULES:
            for text in self.page.values(rule):
                if len(text) <= MAX_TITLE_CHARS:
                    return Found(text, f"generic:{rule}")
        if self.page_title:
            return Found(self.page_title, "generic:xpath://head/title")
        return Found()

    def declared_start(self, text: str, element: Any) -> str:
        """The declared title text begins with, when text runs on past it over a block that its
        element holds: an h1 left open over a short element (vnexpress's sticky bar repeating
        the title) stays under MAX_TITLE_CHARS. Else text: a headline holds no block."""
        if element is None or not self.select(f"descendant::*[{BLOCKS}]", element):
            return text
        starts = [
            title
            for title in self.declared_titles
            if len(title) < len(text) and text.startswith(title) and not text[len(title)].isalnum()
        ]
        return max(starts, key=len, default=text)

    def following(self, count: int, node: str = "*") -> list[Any]:
        """The first count nodes (elements, or text() ones) after the headline's start, those an
        h1 left open over blocks holds first; none when the headline is not on the page."""
        element = self.headline.element
        if element is None:
            return []
        axes = f"following::{node}"
        if self.select(f"descendant::*[{BLOCKS}]", element):
            axes = f"descendant::{node} | {axes}"
        return self.select(f"({axes})[position() <= {count}]", element)

    @cached_property
    def lead(self) -> Found:
        """The lead: the first paragraph under the headline when it is marked as one (sapo,
        description...) or is the page's declared description; else that description (which
        the page may not show). A long paragraph that is neither means the text has begun."""
        for element in self.following(LEAD_WINDOW):
            if not isinstance(element.tag, str) or element.tag in ("a", "ul", "ol", "li"):
                continue
            if self.select(f"descendant::*[{BLOCKS}] | ancestor::*[{NOT_LEAD}]", element):
                continue  # a wrapper (its inner block comes next), a link, a caption
            text = text_of(element)
            words = len(text.split())
            if words < LEAD_WORDS or len(text) > MAX_LEAD_CHARS:
                continue
            wrappers = [element, *list(element.iterancestors())[:2]]
            if any(marked(el, LEAD_MARK) for el in wrappers) or any(
                is_like(text, description) for description in self.descriptions
            ):
                return Found(text, f"generic:lead:{describe(element)}", element)
            if words >= TEXT_WORDS:
                break
        for rule in DESCRIPTION_RULES:
            for text in self.page.values(rule):
                return Found(text, f"generic:{rule}")
        return Found()

    @cached_property
    def descriptions(self) -> list[str]:
        """What the page declares as its description (og:description, description)."""
        return [text for rule in DESCRIPTION_RULES for text in self.page.values(rule)]

    def byline(self, signature: Found) -> Found:
        """The article's authors: its JSON-LD persons, an author element after the headline,
        the signature under the text, else an author meta tag; never the site's own name."""
        people = [n for a in self.jsonld_authors() for n in self.people(a)]
        if people:
            return Found(", ".join(dict.fromkeys(people)), "generic:jsonld:author")
        for element in self.following(BYLINE_WINDOW):
            if self.author_element(element) and not self.outside(element):
                block = self.byline_block(element)
                inner = [el for el in block.iter() if self.author_element(el)]
                people = [name for el in inner for name in self.people(text_of(el))]
                if people:
                    names = ", ".join(dict.fromkeys(people))
                    return Found(names, f"generic:byline:{describe(element)}", block)
        if signature.value:
            return signature
        for rule in AUTHOR_META_RULES:
            for text in self.page.values(rule):
                people = self.people(text)
                if people:
                    return Found(", ".join(people), f"generic:{rule}")
        return Found()

    def author_element(self, element: Any) -> bool:
        """True for the innermost element of a byline: marked as the author's, or a link to an
        author page (/tac-gia/), with no such element inside."""
        if not marked(element, AUTHOR_MARK) and not (
            element.tag == "a" and "/tac-gia/" in (element.get("href") or "")
        ):
            return False
        return not any(marked(inner, AUTHOR_MARK) for inner in element.iterdescendants())

    def byline_block(self, element: Any) -> Any:
        """The byline around an author element: its outermost author-marked ancestor (a few
        levels up, short), which holds the co-authors' names too."""
        block = element
        for ancestor in list(element.iterancestors())[:BYLINE_LEVELS]:
            if marked(ancestor, AUTHOR_MARK) and len(text_of(ancestor)) <= MAX_BYLINE_CHARS:
                block = ancestor
        return block

    def people(self, text: str) -> list[str]:
        """The person names of a byline text, the site's own name left out."""
        return [name for name in person_names(text) if not self.is_site_name(name)]

    def jsonld_authors(self) -> list[str]:
        """Names of the JSON-LD article's authors that are not organisations."""
        found = []
        for article in self.page.jsonld:
            authors = article.get("author")
            for author in authors if isinstance(authors, list) else [authors]:
                if isinstance(author, str):
                    found.append(clean(author, unescape=True))
                elif isinstance(author, dict) and not is_organization(author):
                    found.append(clean(author.get("name"), unescape=True))
        return [name for name in found if name]

    def steps(self, names: list[str]) -> list[str]:
        """Breadcrumb steps less the home page, the site's name and the article's headline."""
        title = fold(self.headline.value)
        kept = []
        for name in (clean(name) for name in names):
            folded = fold(name)
            home = folded in HOME_WORDS or self.is_site_name(name)
            if folded and folded != title and not home and len(name) <= MAX_CATEGORY_CHARS:
                kept.append(name)
        return kept

    @cached_property
    def section(self) -> Found:
        """The article's section: the breadcrumb's last step (JSON-LD, then the visible one),
        the section link just above the headline, else the section meta tags."""
        steps = self.steps(self.page.breadcrumbs)
        if steps:
            return Found(steps[-1], "generic:jsonld:BreadcrumbList")
        for element in self.select("//body//*[@class or @id or @aria-label]"):
            if marked(element, CRUMB_MARK) and not self.outside(element):
                steps = self.steps([text_of(link) for link in self.select(".//a", element)])
                if steps:
                    return Found(steps[-1], f"generic:breadcrumb:{describe(element)}", element)
        kicker = self.kicker()
        if kicker.value:
            return kicker
        for rule in SECTION_RULES:
            for text in self.page.values(rule):
                if len(text) <= MAX_CATEGORY_CHARS:
                    return Found(text, f"generic:{rule}")
        return Found()

    def kicker(self) -> Found:
        """The section printed just above the headline: the last link of a short run of links
        (one to three) in the two elements before it, or before one of its two first
        ancestors, that points to another page of the same site."""
        element = self.headline.element
        if element is None:
            return Found()
        for level in [element, *list(element.iterancestors())[:2]]:
            for before in list(level.itersiblings(preceding=True))[:2]:
                links = self.select("descendant-or-self::a[@href]", before)
                if not 1 <= len(links) <= 3 or self.outside(before):
                    continue
                href = absolute(self.url, links[-1].get("href"))
                steps = self.steps([text_of(links[-1])])
                same_site = href is not None and url_host(href) == url_host(self.url)
                if steps and same_site and href != self.url and len(steps[-1].split()) <= 6:
                    return Found(steps[-1], f"generic:kicker:{describe(before)}", links[-1])
        return Found()

    def date_line(self, ok: Callable[[datetime | None], bool]) -> Found:
        """The date printed by the headline (just after it, else just before), when it has a
        time of day: the first short dated text decides (value: ISO 8601)."""
        element = self.headline.element
        if element is None:
            return Found()
        after = self.following(DATE_WINDOW, "text()")
        before = self.select(f"preceding::text()[position() <= {DATE_WINDOW // 2}]", element)
        for piece in [*after, *reversed(before)]:
            holder = piece.getparent()
            if holder is None or not clean(piece):
                continue
            text = text_of(holder)
            if len(text) > DATE_LINE_CHARS or not (
                NUMERIC_RE.search(text) or WORDS_RE.search(text)
            ):
                continue
            if self.outside(holder) or self.teaser(holder) is not None:
                continue  # a menu's or sidebar's date, or another article's in a list
            found = parse_datetime(text)
            if clock(text) is None or not ok(found):
                return Found()  # a date without its time: htmldate or the URL say as much
            return Found(found.isoformat(), f"visible:{describe(holder)}", holder)
        return Found()

    @cached_property
    def headline_holders(self) -> set[Any]:
        """The headline's element and its ancestors: no teaser of another article holds them."""
        element = self.headline.element
        return set() if element is None else {element, *element.iterancestors()}

    def teaser(self, element: Any) -> Any:
        """The teaser of another article that element is in (its widest item around a link that
        reads as a headline, with little else: a date, a label; or, in a list of such items, a
        lead too), or None."""
        found = None
        for level in [element, *element.iterancestors()][: TEASER_LEVELS + 1]:
            if level in self.headline_holders:
                break
            titles = self.titles(level)
            rest = len(text_of(level)) - sum(map(len, titles))
            if titles and (
                rest <= DATE_LINE_CHARS
                or (rest <= MAX_LEAD_CHARS + DATE_LINE_CHARS and self.listed(level))
            ):
                found = level
        return found

    def titles(self, element: Any) -> list[str]:
        """The texts of element's links that read as headlines (another article's title)."""
        found = [text_of(link) for link in self.select("descendant-or-self::a[@href]", element)]
        return [title for title in found if len(title.split()) >= HEADLINE_WORDS]

    def listed(self, element: Any) -> bool:
        """True for one item of a list of other articles: a sibling of the same tag and class
        holds a link that reads as a headline too."""
        kind = (element.tag, element.get("class"))
        return any(
            (sibling.tag, sibling.get("class")) == kind and self.titles(sibling)
            for sibling in [*element.itersiblings(), *element.itersiblings(preceding=True)]
        )

    def own_part(self) -> str:
        """The page less its menus, sidebars, footer and teasers of other articles, as HTML: the
        part whose dates may be the article's own."""
        root = self.page.root
        if root is None:
            return self.page.html
        outside = self.select(f"//body//*[{OUTSIDE}]")
        links = self.select("//body//a[@href]")
        titles = [link for link in links if len(text_of(link).split()) >= HEADLINE_WORDS]
        dropped = {*outside, *(self.teaser(link) for link in titles)}
        tree, copy = root.getroottree(), etree.ElementTree(deepcopy(root))
        paths = [
            tree.getpath(el) for el in dropped if el is not None and el.getparent() not in dropped
        ]
        for element in [found for path in paths for found in copy.xpath(path)]:
            drop_tree(element)  # all found before any is dropped: dropping renumbers siblings
        return etree.tostring(copy, encoding="unicode", method="html")

    def text(self, title: str, lead: str) -> tuple[str, Found]:
        """The article's text with the lead in front, and the signature taken off its end."""
        extracted = guarded(trafilatura.extract, self.page.html, self.url, TRAFILATURA_OPTIONS)
        lines = [line for line in (clean(line) for line in (extracted or "").splitlines()) if line]
        if not lines:
            return "", Found()
        repeated = {fold(title), fold(self.headline.value), fold(lead)} - {""}
        lines = [line for line in lines if fold(line) not in repeated]
        lines, container = self.in_article(self.after_headline(lines))
        lines = self.with_subheadings(lines, container, repeated)
        signature = self.signature(lines[-1]) if lines else Found()
        if signature.value:
            lines.pop()
        return "\n\n".join([lead, *lines] if lead else lines), signature

    def after_headline(self, lines: list[str]) -> list[str]:
        """lines less those the page shows before the headline (menus, app banners, lists of
        other articles), unless that would take half the text: then the headline is not where
        the article starts."""
        if self.headline.element is None:
            return lines
        before = {clean(piece) for piece in self.select("preceding::text()", self.headline.element)}
        kept = [line for line in lines if LIST_MARK.sub("", line) not in before]
        return kept if sum(map(len, kept)) * 2 >= sum(map(len, lines)) else lines

    def in_article(self, lines: list[str]) -> tuple[list[str], Any]:
        """lines less those shown only outside the article, and the article: its headline's
        nearest ancestor that shows half the text (a footer's app banner that trafilatura took
        for the text stays out); the article is None where no ancestor does."""
        element = self.headline.element
        if element is None:
            return lines, None
        folded = [fold(line) for line in lines]
        for container in [element, *element.iterancestors()]:
            shown = fold(text_of(container))
            found = shown_in_order(folded, shown)
            kept = [line for line, inside in zip(lines, found, strict=True) if inside]
            if sum(map(len, kept)) * 2 >= sum(map(len, lines)):
                return kept, container
        return lines, None

    def with_subheadings(self, lines: list[str], article: Any, known: set[str]) -> list[str]:
        """lines with the article's subheadings (h2-h6 after the headline) put back, each before
        the paragraph it opens: trafilatura drops them when it reads only loose <p> (baochinhphu).
        A heading counts only when the next paragraph on the page is a line of the text; a
        heading that is a link (a related article) or outside the text (a sidebar) does not."""
        if article is None:
            return lines
        headings = {el: text_of(el) for el in article.iter(*SUBHEADINGS)}
        headings = {el: text for el, text in headings.items() if self.subheading(el, text, known)}
        if not headings:
            return lines  # most pages: the text is not read again
        where: dict[str, list[int]] = {}
        for index, line in enumerate(lines):
            where.setdefault(fold(line), []).append(index)
        headings = {el: text for el, text in headings.items() if fold(text) not in where}
        if not headings:
            return lines  # trafilatura kept them (it read the article's container)
        opening: dict[int, list[str]] = {}
        pending: list[str] = []
        cursor, started = 0, False
        for element in article.iter():
            started = started or element is self.headline.element
            if not started or not isinstance(element.tag, str):
                continue
            if element in headings:
                pending.append(headings[element])
                continue
            inner = next(element.iterdescendants(*PARAGRAPHS), None)
            if element.tag not in PARAGRAPHS or inner is not None:
                continue  # a wrapper: its inner paragraphs come next
            folded = fold(text_of(element))
            if not folded:
                continue
            places = where.get(folded, [])
            found = bisect_left(places, cursor)  # the first copy of a repeated line not yet met
            if found < len(places):
                opening.setdefault(places[found], []).extend(pending)
                cursor = places[found] + 1
            pending = []  # a paragraph left out of the text: the heading was not the text's
        return [text for at, line in enumerate(lines) for text in (*opening.get(at, ()), line)]

    def subheading(self, element: Any, text: str, known: set[str]) -> bool:
        """True for a heading of the article's text: short, not the title or lead, no link, not
        in a sidebar."""
        if not text or len(text) > MAX_TITLE_CHARS or fold(text) in known:
            return False
        return not self.select("ancestor-or-self::a | descendant::a", element) and not (
            self.outside(element)
        )

    def signature(self, line: str) -> Found:
        """The author's signature closing the text ('Hà Thu (tổng hợp)', set right or bold)."""
        names = self.people(line)
        if not names:
            return Found()
        for element in self.select(f"//body//p | //body//div[not(descendant::*[{BLOCKS}])]"):
            if signature_look(element) and text_of(element) == line:
                bold = self.select("./strong | ./b", element)
                shown = self.people(text_of(bold[0])) if bold else []
                return Found(", ".join(shown or names), f"generic:signature:{describe(element)}")
        return Found()


def htmldate_date(html: str, url: str) -> datetime | None:
    """htmldate's reading of the original publication date, as Vietnam time."""
    found = guarded(htmldate.find_date, html, url, HTMLDATE_OPTIONS)
    return parse_datetime(found) if found else None


def guarded(read: Callable[..., Any], html: str, url: str, options: dict[str, Any]) -> Any:
    """read(html, url=url, **options), or None when the library fails on the page."""
    try:
        return read(html, url=url or None, **options)
    except Exception:  # both raise on some hostile markup; extraction goes on without them
        return None


def shown_in_order(lines: list[str], shown: str) -> list[bool]:
    """Whether each line is in shown, searched on from the last one found (lines come in page
    order, so a long article is read once, not once per line)."""
    found, start = [], 0
    for line in lines:
        at = shown.find(line, start)
        if at < 0:
            at = shown.find(line)
        if at >= 0:
            start = at + len(line)
        found.append(at >= 0)
    return found
