"""What the reports' charts share."""

import plotly.graph_objects as go

WEBGL_FROM = 5_000  # points in one trace from which a scatter is drawn with WebGL


def scatter_type(points: int) -> type[go.Scatter] | type[go.Scattergl]:
    """A scatter of this many points: SVG for a few, WebGL for tens of thousands, which
    would stall a page as SVG."""
    return go.Scattergl if points > WEBGL_FROM else go.Scatter
