"""What the reports' charts share."""

import html
from collections.abc import Iterable

import plotly.graph_objects as go

WEBGL_FROM = 5_000  # points in one trace from which a scatter is drawn with WebGL


def scatter_type(points: int) -> type[go.Scatter] | type[go.Scattergl]:
    """A scatter of this many points: SVG for a few, WebGL for tens of thousands, which
    would stall a page as SVG."""
    return go.Scattergl if points > WEBGL_FROM else go.Scatter


def as_text(values: str | Iterable) -> str | list[str]:
    """Values of the data as a chart's text: plotly reads tags (``<b>``, ``<a href>``) and
    entities in titles, tick labels, legends and hover text, so markup in a client's ID or a
    category would show styled, or as a link, instead of as written. Escaped, it shows as written.

    >>> as_text('CL1 <a href="https://example.com">link</a> & co')
    'CL1 &lt;a href="https://example.com"&gt;link&lt;/a&gt; &amp; co'
    """
    if isinstance(values, str):
        return html.escape(values, quote=False)  # plotly decodes &lt; &gt; &amp;, not &quot;
    return [html.escape(str(value), quote=False) for value in values]
