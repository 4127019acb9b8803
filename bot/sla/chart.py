"""The weekly chart PNG: bars for new inquiries and first answers within SLA, a line for the
median first-response time (hours, right axis).

matplotlib is imported inside the function and drawn through the Agg canvas directly (no pyplot,
no GUI backend, no global figure state), so it is safe from worker threads.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from datetime import datetime

from bot.models import Inquiry
from bot.sla.engine import SlaPolicy
from bot.sla.stats import weekly_series


def weekly_chart_png(
    inquiries: Iterable[Inquiry], now: datetime, weeks: int = 8, policy: SlaPolicy | None = None
) -> bytes:
    """Render the last ``weeks`` ISO weeks (see :func:`bot.sla.stats.weekly_series`) as PNG bytes."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        # never switch a live pyplot (that closes its figures); we draw on the Agg canvas anyway
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = weekly_series(inquiries, now, weeks, policy)
    labels = [p.week_start.strftime("%d %b") for p in points]
    xs = list(range(len(points)))
    width = 0.4

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(
        [x - width / 2 for x in xs], [p.new for p in points], width, label="New inquiries", color="#4a90d9"
    )
    ax.bar(
        [x + width / 2 for x in xs],
        [p.answered_within_sla for p in points],
        width,
        label="Answered within SLA",
        color="#5cb85c",
    )
    ax.set_xticks(xs)
    ax.set_xticklabels(labels)
    ax.set_ylabel("Inquiries")
    ax.set_xlabel("Week starting (UTC)")
    ax.set_title("Inquiries per week")

    ax2 = ax.twinx()
    medians = [
        p.median_first_response_hours if p.median_first_response_hours is not None else float("nan")
        for p in points
    ]
    ax2.plot(xs, medians, color="#d9534f", marker="o", label="Median first response (h)")
    ax2.set_ylabel("Median first response (hours)")
    ax2.set_ylim(bottom=0)

    handles1, labels1 = ax.get_legend_handles_labels()
    handles2, labels2 = ax2.get_legend_handles_labels()
    ax.legend(handles1 + handles2, labels1 + labels2, loc="upper left", fontsize="small")
    fig.tight_layout()

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
