"""A small trend chart as inline SVG: papers per month as bars, upvotes per month as a line (on
its own scale). Readable without JavaScript; ``<title>`` and ``<desc>`` give screen readers the
gist, and the page adds the numbers as a table. Every text is XML-escaped, so the result is
well-formed XML whatever the query was."""

from __future__ import annotations

from html import escape  # escapes & < > " ' (xml.sax.saxutils would import urllib.request: 28 ms)

from ..types import Trend

WIDTH, HEIGHT = 480, 120
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 4, 4, 8, 20
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quoteattr(value: str) -> str:
    """An XML attribute value with its double quotes."""
    return '"' + escape(value) + '"'


def month_label(month: str) -> str:
    year, m = month.split("-")
    return f"{MONTHS[int(m) - 1]} {year}"


def describe(trend: Trend) -> str:
    """One sentence with what the chart shows (its ``<desc>``)."""
    if not trend.months:
        return f"No dated papers for {trend.label}."
    peak = max(trend.months, key=lambda m: (m.papers, m.month))
    first, last = month_label(trend.months[0].month), month_label(trend.months[-1].month)
    span = f"from {first} to {last}" if first != last else f"in {first}"
    shown = sum(m.papers for m in trend.months)
    return (
        f"{shown:,} papers {span}, most in {month_label(peak.month)} ({peak.papers:,}); "
        f"{sum(m.upvotes for m in trend.months):,} upvotes in those months. "
        f"{trend.total_papers:,} papers in all since {month_label(trend.first_month or trend.months[0].month)}."
    )


def trend_svg(trend: Trend, *, ident: str = "trend") -> str:
    """The chart as an ``<svg>`` element (for inlining in a page: no XML declaration)."""
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby={quoteattr(title_id)} aria-describedby={quoteattr(desc_id)}>'
        f"<title id={quoteattr(title_id)}>{escape('Papers and upvotes per month: ' + trend.label)}</title>"
        f"<desc id={quoteattr(desc_id)}>{escape(describe(trend))}</desc>"
    )
    if not trend.months:
        return head + f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle" class="axis">no dated papers</text></svg>'
    n = len(trend.months)
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / n
    top_papers = max(m.papers for m in trend.months) or 1
    top_votes = max(m.upvotes for m in trend.months)
    base = PAD_TOP + plot_h
    parts = [head, f'<line class="axis" x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" stroke="currentColor" stroke-opacity=".3"/>']
    for i, m in enumerate(trend.months):
        h = plot_h * m.papers / top_papers
        x = PAD_LEFT + i * slot
        parts.append(
            f'<rect class="tbar" x="{x + slot * 0.12:.1f}" y="{base - h:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}">'
            f"<title>{escape(month_label(m.month))}: {m.papers:,} papers, {m.upvotes:,} upvotes</title></rect>"
        )
    if top_votes:
        points = " ".join(
            f"{PAD_LEFT + (i + 0.5) * slot:.1f},{base - plot_h * m.upvotes / top_votes:.1f}" for i, m in enumerate(trend.months)
        )
        parts.append(f'<polyline class="tvotes" points="{points}" fill="none" stroke-width="2"/>')
    for i, m in enumerate(trend.months):  # a label at the first month and at every January
        if i == 0 or m.month.endswith("-01") or i == n - 1:
            anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
            x = PAD_LEFT if i == 0 else WIDTH - PAD_RIGHT if i == n - 1 else PAD_LEFT + (i + 0.5) * slot
            if 0 < i < n - 1 and (i < 3 or i > n - 4):
                continue  # too close to the ends' labels
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 5}" text-anchor="{anchor}" font-size="11">{escape(month_label(m.month))}</text>')
    parts.append("</svg>")
    return "".join(parts)
