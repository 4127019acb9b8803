"""The weekly chart PNG: bars for new inquiries and first answers within SLA, a line for the
median first-response time (hours, right axis).

matplotlib is imported inside the function and drawn through the Agg canvas directly (no pyplot,
no GUI backend, no global figure state), so it is safe from worker threads. Its words come from the
catalogs (``chart.*``) in the team's language, the week ticks from CLDR date patterns; Chinese labels
need a CJK font on the server (see :func:`chart_lang`).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.core.i18n import t, ui_lang

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties
from bot.core.models import Inquiry
from bot.sla.engine import SlaPolicy
from bot.sla.stats import weekly_series

log = logging.getLogger(__name__)

# Fonts with Chinese glyphs, tried in order before matplotlib's default (DejaVu has none).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)


def _cjk_installed() -> list[str]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in CJK_FONTS if f in installed]


def _families() -> list[str]:
    """The installed CJK fonts (so Chinese labels have glyphs), then matplotlib's default."""
    return [*_cjk_installed(), "DejaVu Sans"]


def chart_lang(lang: str) -> str:
    """The language the chart can be drawn in: ``lang``, or English when ``lang`` needs CJK glyphs
    and no CJK font is installed (boxes in place of characters help nobody; the log says which
    font package to install)."""
    lang = ui_lang(lang)
    if lang != "zh" or _cjk_installed():
        return lang
    if not _warned:
        _warned.append(True)
        log.warning(
            "no CJK font found (tried %s): the weekly chart is labelled in English; install one, "
            "e.g. the fonts-noto-cjk package, for Chinese labels",
            ", ".join(CJK_FONTS[:3]),
        )
    return "en"


_warned: list[bool] = []


def _small(font: FontProperties) -> FontProperties:
    small = font.copy()
    small.set_size("small")
    return small


def chart_labels(lang: str) -> dict[str, str]:
    """The chart's words in ``lang`` (from the catalogs)."""
    keys = ("title", "new", "answered", "median", "y_left", "y_right", "x")
    return {k: t(f"chart.{k}", lang) for k in keys}


def week_label(day: date, lang: str) -> str:
    """A week's tick label: ``"02 Mar"`` in English, ``"3月2日"`` in Chinese (Babel's CLDR patterns)."""
    from babel.dates import format_skeleton

    return str(format_skeleton("MMMd", day, locale=ui_lang(lang)))


def weekly_chart_png(
    inquiries: Iterable[Inquiry],
    now: datetime,
    weeks: int = 8,
    policy: SlaPolicy | None = None,
    lang: str = "en",
) -> bytes:
    """Render the last ``weeks`` ISO weeks (see :func:`bot.sla.stats.weekly_series`) as PNG bytes,
    labelled in ``lang``."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        # never switch a live pyplot (that closes its figures); we draw on the Agg canvas anyway
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    lang = chart_lang(lang)
    words = chart_labels(lang)
    points = weekly_series(inquiries, now, weeks, policy)
    labels = [week_label(p.week_start, lang) for p in points]
    xs = list(range(len(points)))
    width = 0.4

    fig = Figure(figsize=(8, 4), dpi=100)
    font = FontProperties(family=_families())
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar([x - width / 2 for x in xs], [p.new for p in points], width, label=words["new"], color="#4a90d9")
    ax.bar(
        [x + width / 2 for x in xs],
        [p.answered_within_sla for p in points],
        width,
        label=words["answered"],
        color="#5cb85c",
    )
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontproperties=font)
    ax.set_ylabel(words["y_left"], fontproperties=font)
    ax.set_xlabel(words["x"], fontproperties=font)
    ax.set_title(words["title"], fontproperties=font)

    ax2 = ax.twinx()
    medians = [
        p.median_first_response_hours if p.median_first_response_hours is not None else float("nan")
        for p in points
    ]
    ax2.plot(xs, medians, color="#d9534f", marker="o", label=words["median"])
    ax2.set_ylabel(words["y_right"], fontproperties=font)
    ax2.set_ylim(bottom=0)

    handles1, labels1 = ax.get_legend_handles_labels()
    handles2, labels2 = ax2.get_legend_handles_labels()
    ax.legend(handles1 + handles2, labels1 + labels2, loc="upper left", prop=_small(font))
    fig.tight_layout()

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
