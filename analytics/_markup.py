"""Data never becomes markup: data is escaped where Markdown is composed, and every piece of
HTML a report or memo shows passes a maintained sanitiser (ammonia, through nh3) as a second
wall, so that a value such as ``<img src=x onerror=...>`` shows as text and never runs."""

from __future__ import annotations

import mistune
import nh3

#: what tables, summaries and memos are built from; no script, no form, no embedded content
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "small", "span", "strong", "style", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
}
ATTRIBUTES = {"*": {"class", "id", "style", "title"}, "a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "table": {"border"}, "ol": {"start"}}
MARKDOWN_SYNTAX = "\\`*_{}[]<>#|!"


def markdown_text(value) -> str:
    """``value`` as literal text inside Markdown: characters Markdown or HTML would read as
    syntax are escaped (a link, an image, a tag or a heading in data stays text)."""
    text = str(value)
    for character in MARKDOWN_SYNTAX:
        text = text.replace(character, "\\" + character)
    return text.replace("\n", " ")


def sanitised(html: str) -> str:
    """``html`` with every script, event handler, embedded object and ``javascript:`` link removed."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, clean_content_tags={"script"}, url_schemes={"http", "https", "mailto"},
                     strip_comments=True)


def markdown_html(text: str) -> str:
    """Markdown the package composed, as sanitised HTML (raw HTML in it is shown as text)."""
    return sanitised(mistune.create_markdown(escape=True, plugins=["table"])(text))
