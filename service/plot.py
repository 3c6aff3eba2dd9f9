"""A model's price history as a step chart in SVG, and the ``ratecard history`` command.

The SVG is written directly (``xml.etree``, no plotting library): x is time,
y is USD per 1M tokens from zero, one step line per rate (colour by kind,
dash by tier, fainter for long-context rates), and a legend with each rate's
price now. Geometry is computed in Decimal, like the prices it is made of.
``cache_storage_per_hour`` is a price per token-hour, not per token, and is
left off the chart.
"""

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import NamedTuple

from ratecard.scrapers.vocabulary import KINDS, TIERS
from ratecard.service.feed import day_or_time, rate_label, xml_text
from ratecard.service.context import DEFAULT_DB
from ratecard.service.rates import Rate
from ratecard.service.terminal import format_usd

SVG_NS = "http://www.w3.org/2000/svg"
PLOT_FORMATS = (".svg", ".png")
WIDTH, MIN_HEIGHT, ROW = 960, 480, 18
LEFT, TOP, BOTTOM_MARGIN, LEGEND_WIDTH = 72, 64, 48, 290
NOT_PER_TOKEN_KINDS = frozenset({"cache_storage_per_hour"})
KIND_COLORS = {
    "input": "#4e79a7", "output": "#e15759", "cached_input": "#59a14f", "cache_write": "#b07aa1",
    "cache_write_1h": "#9c755f", "input_audio": "#76b7b2", "cached_input_audio": "#edc948",
}
TIER_DASHES = {"standard": "", "batch": "8 4", "flex": "2 3", "priority": "10 3 2 3", "off_peak": "4 2"}
FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
_PIXEL = Decimal("0.1")


class PlotError(Exception):
    """The chart cannot be written (an unsupported file type, nothing to draw)."""


class Step(NamedTuple):
    """One level of a series over ``[start, end)``."""

    start: datetime
    end: datetime
    usd_per_mtok: Decimal


class Series(NamedTuple):
    """One rate's priced intervals, merged where a value simply continues."""

    tier: str
    kind: str
    min_prompt_tokens: int
    steps: list[Step]
    usd_per_mtok_now: Decimal | None  # None: not offered or not priced at the moment drawn as "now"

    @property
    def label(self) -> str:
        """The legend text, e.g. ``batch output >200K``."""
        return rate_label(self.tier, self.kind, self.min_prompt_tokens)


def rate_series(rates: Iterable[Rate], *, now: datetime, until: datetime) -> list[Series]:
    """Group rates into series in tier and kind order; open intervals end at ``until``.

    Not-offered intervals and gaps break a line; a value that continues
    (a curated interval followed by the same price read from a page) does not.
    """
    by_key: dict[tuple[str, str, int], list[Step]] = {}
    in_force: dict[tuple[str, str, int], Decimal] = {}
    for rate in sorted(rates, key=lambda r: (r.key, r.valid_from)):
        if rate.usd_per_mtok is None or rate.kind in NOT_PER_TOKEN_KINDS:
            continue
        if rate.in_force(now):
            in_force[(rate.tier, rate.kind, rate.min_prompt_tokens)] = rate.usd_per_mtok
        steps = by_key.setdefault((rate.tier, rate.kind, rate.min_prompt_tokens), [])
        end = rate.valid_to or max(until, rate.valid_from)
        if steps and steps[-1].end == rate.valid_from and steps[-1].usd_per_mtok == rate.usd_per_mtok:
            steps[-1] = steps[-1]._replace(end=end)
        else:
            steps.append(Step(rate.valid_from, end, rate.usd_per_mtok))

    def order(key: tuple[str, str, int]) -> tuple:
        tier, kind, tokens = key
        return (_index(TIERS, tier), tokens, _index(KINDS, kind), key)

    return [Series(*key, steps, in_force.get(key)) for key, steps in sorted(by_key.items(), key=lambda kv: order(kv[0]))]


def price_ticks(max_usd_per_mtok: Decimal, *, most: int = 6) -> list[Decimal]:
    """Round price ticks from 0 to a little above the highest price (1, 2, 2.5 or 5 x 10^n apart)."""
    top = max(max_usd_per_mtok * Decimal("1.06"), Decimal("0.01"))
    exponent = top.adjusted() - 1
    while True:
        for mantissa in (1, 2, Decimal("2.5"), 5):
            step = Decimal(mantissa).scaleb(exponent)
            count = (top / step).to_integral_value(rounding=ROUND_CEILING)
            if count <= most:
                return [step * i for i in range(int(count) + 1)]
        exponent += 1


def date_ticks(start: datetime, end: datetime, *, most: int = 8) -> list[tuple[datetime, str]]:
    """Calendar ticks between two moments: month starts (every 1-24 months) or days, with labels."""
    if (end - start).days < 60:
        for every in (1, 2, 7, 14, 28):
            day = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=1)
            ticks = []
            while day <= end:
                ticks.append((day, f"{day:%b} {day.day}"))
                day += timedelta(days=every)
            if len(ticks) <= most:
                return ticks
    first = start.year * 12 + start.month  # the month after start's month, as a month count
    for every in (1, 2, 3, 6, 12, 24, 48):
        months = range(first + (-first) % every, end.year * 12 + end.month, every)
        ticks = [datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC) for m in months]
        ticks = [t for t in ticks if start <= t <= end]
        if len(ticks) <= most:
            return [(t, f"{t:%Y}" if every >= 12 else f"{t:%b %Y}") for t in ticks]
    return []


def history_svg(rates: Iterable[Rate], *, title: str, subtitle: str = "", now: datetime) -> str:
    """The step chart of a model's rates as an SVG document (see the module docstring)."""
    rates = list(rates)
    until = max([now, *(m for r in rates for m in (r.valid_from, r.valid_to) if m is not None)])
    series = rate_series(rates, now=now, until=until)
    if not series:
        raise PlotError(f"{title}: no priced intervals to draw")
    start = min(s.steps[0].start for s in series)
    pad = max((until - start) * 3 // 100, timedelta(days=1))
    height = max(MIN_HEIGHT, TOP + ROW * (len(series) + 2) + BOTTOM_MARGIN)
    ticks = price_ticks(max(step.usd_per_mtok for s in series for step in s.steps))
    scale = _Scale(_seconds(start - pad), _seconds(until + pad), ticks[-1], WIDTH - LEGEND_WIDTH, height - BOTTOM_MARGIN)
    svg = ET.Element("svg", {"xmlns": SVG_NS, "width": str(WIDTH), "height": str(height),
                             "viewBox": f"0 0 {WIDTH} {height}", "font-family": FONT, "font-size": "12"})
    ET.SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "white"})
    _label(svg, LEFT, 26, title, size="17", weight="600")
    if subtitle:
        _label(svg, LEFT, 45, subtitle, fill="#666")
    _draw_frame(svg, scale, ticks, date_ticks(start, until))
    if until > now:  # announced prices lie ahead: mark where today is
        _line(svg, scale.x(now), TOP, scale.x(now), scale.bottom, stroke="#999", stroke_dasharray="3 3")
        _label(svg, scale.x(now), TOP - 4, "now", anchor="middle", fill="#777")
    for row, line in enumerate(series):
        style = _style(line)
        group = ET.SubElement(svg, "g", {"fill": "none", **style})
        ET.SubElement(group, "title").text = xml_text(_tooltip(line))
        for run in _runs(line.steps):
            # Each step is a level from its start to its end; consecutive levels join with a riser.
            points = [f"{scale.x(t)},{scale.y(s.usd_per_mtok)}" for s in run for t in (s.start, s.end)]
            ET.SubElement(group, "polyline", {"points": " ".join(points)})
        _legend_row(svg, scale.right + 24, TOP + 6 + row * ROW, line, style)
    ET.indent(svg)
    return ET.tostring(svg, encoding="unicode") + "\n"


class _Scale(NamedTuple):
    """Maps time (epoch seconds) and price onto the plot area ``LEFT..right`` x ``TOP..bottom``."""

    x0: Decimal
    x1: Decimal
    y_max: Decimal
    right: int
    bottom: int

    def x(self, moment: datetime) -> str:
        return _px(LEFT + (_seconds(moment) - self.x0) * (self.right - LEFT) / (self.x1 - self.x0))

    def y(self, usd_per_mtok: Decimal) -> str:
        return _px(self.bottom - usd_per_mtok * (self.bottom - TOP) / self.y_max)


def _draw_frame(svg: ET.Element, scale: _Scale, ticks: list[Decimal], dates: list[tuple[datetime, str]]) -> None:
    """Grid lines with price and date labels, the two axes and the y-axis title."""
    grid = ET.SubElement(svg, "g", {"stroke": "#e6e6e6", "stroke-width": "1"})
    for tick in ticks:
        _line(grid, LEFT, scale.y(tick), scale.right, scale.y(tick))
        _label(svg, LEFT - 8, Decimal(scale.y(tick)) + 4, f"${_plain(tick.normalize())}", anchor="end", fill="#555")
    for moment, text in dates:
        _line(grid, scale.x(moment), TOP, scale.x(moment), scale.bottom)
        _label(svg, scale.x(moment), scale.bottom + 18, text, anchor="middle", fill="#555")
    _line(svg, LEFT, scale.bottom, scale.right, scale.bottom, stroke="#888")
    _line(svg, LEFT, TOP, LEFT, scale.bottom, stroke="#888")
    middle = (TOP + scale.bottom) // 2
    _label(svg, 16, middle, "USD per 1M tokens", anchor="middle", fill="#555", transform=f"rotate(-90 16 {middle})")


def _line(parent: ET.Element, x1: object, y1: object, x2: object, y2: object, **style: str) -> None:
    attrs = {"x1": str(x1), "y1": str(y1), "x2": str(x2), "y2": str(y2)}
    ET.SubElement(parent, "line", attrs | {k.replace("_", "-"): v for k, v in style.items()})


def write_plot(svg: str, path: Path) -> None:
    """Write the chart as .svg, or as .png when cairosvg is installed (it is not a dependency)."""
    check_plot_path(path)
    if path.suffix.lower() == ".png":
        from cairosvg import svg2png

        svg2png(bytestring=svg.encode(), write_to=str(path))
    else:
        path.write_text(svg, encoding="utf-8")


def check_plot_path(path: Path) -> None:
    """Raise PlotError unless the chart can be written to ``path`` (before any work is done)."""
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise PlotError(f"{path}: the chart is written as SVG; name a .svg file")
    if suffix == ".png":
        try:
            import cairosvg  # noqa: F401 - optional, only to render PNG
        except ImportError:
            raise PlotError(f"{path}: PNG needs cairosvg, which is not installed; write a .svg file instead "
                            "(or `pip install cairosvg`)") from None
        except OSError as exc:  # cairosvg present without the cairo C library
            raise PlotError(f"{path}: PNG needs the cairo library ({exc}); write a .svg file instead") from None


def _legend_row(svg: ET.Element, left: int, top: int, line: Series, style: dict) -> None:
    _line(svg, left, top, left + 28, top, **style)
    _label(svg, left + 36, top + 4, line.label)
    now = line.usd_per_mtok_now
    _label(svg, WIDTH - 12, top + 4, "—" if now is None else f"${_plain(now)}", anchor="end", fill="#555")


def _style(line: Series) -> dict[str, str]:
    style = {"stroke": KIND_COLORS.get(line.kind, "#8c8c8c"), "stroke-width": "2.2",
             "stroke-linejoin": "round", "stroke-linecap": "round"}
    if dash := TIER_DASHES.get(line.tier, "1 2"):
        style["stroke-dasharray"] = dash
    if line.min_prompt_tokens:
        style |= {"stroke-width": "1.6", "stroke-opacity": "0.6"}
    return style


def _runs(steps: list[Step]) -> list[list[Step]]:
    """Steps split where a gap or a not-offered interval breaks the line."""
    runs: list[list[Step]] = []
    for step in steps:
        if runs and runs[-1][-1].end == step.start:
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


def _tooltip(line: Series) -> str:
    spans = "; ".join(f"${_plain(s.usd_per_mtok)} {day_or_time(s.start)} to {day_or_time(s.end)}" for s in line.steps)
    return f"{line.label}: {spans}"


def _label(parent: ET.Element, x: object, y: object, text: str, *, size: str = "", weight: str = "",
           anchor: str = "", fill: str = "#222", transform: str = "") -> None:
    attrs = {"x": str(x), "y": str(y), "fill": fill, "font-size": size, "font-weight": weight,
             "text-anchor": anchor, "transform": transform}
    ET.SubElement(parent, "text", {k: v for k, v in attrs.items() if v}).text = xml_text(text)


def _seconds(moment: datetime) -> Decimal:
    return Decimal(int(moment.timestamp()))


def _px(value: Decimal) -> str:
    return str(value.quantize(_PIXEL))


def _plain(value: Decimal) -> str:
    """``2.50`` stays ``2.50`` (prices as published); ``1E+1`` reads ``10``."""
    return format(value, "f")


def _index(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


def add_history_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``ratecard history MODEL [--provider P] [--plot FILE] [--db PATH]`` to the CLI's subcommands."""

    help_text = "Print a model's price history (every interval of every rate), or draw it with --plot."
    p = sub.add_parser("history", help=help_text, description=help_text)
    p.set_defaults(handler=cmd_history)
    p.add_argument("model", metavar="MODEL", help="Model id, display name or alias (provider/model works too).")
    p.add_argument("--provider", help="The provider, when the name is ambiguous.")
    p.add_argument("--tier", choices=TIERS, help="Only this tier (a chart of every tier can be busy).")
    p.add_argument("--plot", metavar="FILE", help="Draw the history as a step chart into FILE.svg.")
    p.add_argument("--db", help=f"SQLite database path (default: $RATECARD_DB, else ./{DEFAULT_DB} if there, "
                   "else the bundled catalog in memory)")
    p.add_argument("--sources", help="TOML file overriding the source registry (default: $RATECARD_SOURCES)")
    return p


def cmd_history(args: argparse.Namespace) -> int:
    """Print a model's intervals as a table, or write its chart with ``--plot FILE.svg``."""
    from ratecard.service.context import prepare_service, read_settings
    from ratecard.service.catalog import AmbiguousModel, UnknownModel
    from ratecard.service.terminal import EXIT_EMPTY
    from ratecard.service.export import served_history
    from ratecard.service.sources import OFFICIAL_LANE

    try:
        if args.plot:
            check_plot_path(Path(args.plot))
    except PlotError as exc:
        print(f"ratecard history: {exc}", file=sys.stderr)
        return 2
    service = prepare_service(read_settings(args))  # an empty database bootstraps from the bundled pages
    try:
        provider, model = service.catalog.resolve(args.model, args.provider)
    except (UnknownModel, AmbiguousModel) as exc:
        close = getattr(exc, "suggestions", None) or getattr(exc, "candidates", [])
        print(f"ratecard history: no single model named {args.model!r}"
              + (f"; did you mean {', '.join(close)}?" if close else ""), file=sys.stderr)
        return 1
    info = service.catalog.models[(provider, model)]
    rates = [r for r in served_history(service.db, service.catalog, provider=provider, model=model)
             if args.tier is None or r.tier == args.tier]
    now = service.clock()
    if not rates:
        tier = f"{args.tier} " if args.tier else ""
        print(f"ratecard history: no {tier}rates for {provider}/{model}", file=sys.stderr)
        return EXIT_EMPTY
    if not args.plot:
        print(f"{provider}/{model}: USD per 1M tokens, catalog version {service.catalog.version}")
        print(history_table(rates))
        return 0
    try:
        svg = history_svg(rates, title=f"{info.display_name} ({provider}/{model})", now=now,
                          subtitle=f"USD per 1M tokens, as known at catalog version {service.catalog.version}"
                          f" on {now:%Y-%m-%d}; the legend gives each price now"
                          + ("" if info.served_from == OFFICIAL_LANE else f"; from witness {info.served_from}"))
        write_plot(svg, Path(args.plot))
    except PlotError as exc:
        print(f"ratecard history: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def history_table(rates: Iterable[Rate]) -> str:
    """The intervals as an aligned text table, one row per interval, in rate then time order."""
    rows = [("rate", "usd_per_mtok", "basis", "from", "until", "source")]
    for r in sorted(rates, key=lambda r: (_index(TIERS, r.tier), r.min_prompt_tokens, _index(KINDS, r.kind),
                                          r.key, r.valid_from)):
        price = format_usd(r.usd_per_mtok, exact=True)  # "-": no price (not offered)
        until = "" if r.valid_to is None else day_or_time(r.valid_to)
        rows.append((rate_label(r.tier, r.kind, r.min_prompt_tokens), price, r.basis, day_or_time(r.valid_from),
                     until, r.source_id))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i == 1 else cell.ljust(w) for i, (cell, w) in
                                enumerate(zip(row, widths))).rstrip() for row in rows)
