"""History charts: an SVG written without a plotting library, and the ``ratecard history`` command."""

import argparse
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard.service.history import model_history
from ratecard.service.plot import (
    LEFT,
    PlotError,
    add_history_parser,
    check_plot_path,
    date_ticks,
    history_svg,
    history_table,
    price_ticks,
    write_plot,
)
from tests.conftest import FIXED_NOW

SVG = "{http://www.w3.org/2000/svg}"


def chart(service, model: str, path: Path, provider: str = "openai") -> ET.Element:
    rates = model_history(service.db, provider, model)
    write_plot(history_svg(rates, title=f"{model} ({provider}/{model})", now=FIXED_NOW), path)
    return ET.parse(path).getroot()


def texts(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text")]


def y_axis_prices(svg: ET.Element) -> list[Decimal]:
    return [Decimal(t.text.removeprefix("$")) for t in svg.iter(f"{SVG}text") if t.get("x") == str(LEFT - 8)]


@pytest.mark.parametrize("model", ["o3", "gpt-4o"])
def test_the_chart_is_svg_with_step_lines_and_a_legend(bundled_service, tmp_path, model):
    svg = chart(bundled_service, model, tmp_path / f"{model}.svg")
    assert svg.tag == f"{SVG}svg"
    assert len(list(svg.iter(f"{SVG}polyline"))) >= 5
    legend = texts(svg)
    for name in ("standard input", "standard output", "standard cached_input", "batch input", "priority output"):
        assert name in legend
    assert texts(svg)[0] == f"{model} (openai/{model})"


def test_o3s_chart_covers_its_old_output_price_and_steps_down_on_2025_06_10(bundled_service, tmp_path):
    svg = chart(bundled_service, "o3", tmp_path / "o3.svg")
    assert max(y_axis_prices(svg)) >= 40
    assert "$8.00" in texts(svg)  # the legend gives the output price now
    (output,) = [g for g in svg.iter(f"{SVG}g") if g.findtext(f"{SVG}title", "").startswith("standard output:")]
    assert "$40.00 2025-04-16 to 2025-06-10; $8.00 2025-06-10 to" in output.findtext(f"{SVG}title")
    points = [tuple(map(Decimal, p.split(","))) for p in output.find(f"{SVG}polyline").get("points").split()]
    risers = [(a, b) for a, b in zip(points, points[1:]) if a[0] == b[0] and a[1] != b[1]]
    assert len(risers) == 1 and risers[0][1][1] > risers[0][0][1]  # one step, downwards (SVG y grows down)
    top = min(y for _, y in points)
    assert top >= 64  # 40 is inside the plot area, not clipped at its top edge


def test_gpt_4os_chart_spans_its_history_with_dated_ticks(bundled_service, tmp_path):
    svg = chart(bundled_service, "gpt-4o", tmp_path / "gpt-4o.svg")
    labels = texts(svg)
    assert {"Jul 2024", "Jan 2025", "Jul 2026"} <= set(labels)
    assert max(y_axis_prices(svg)) >= 15 and min(y_axis_prices(svg)) == 0


def test_price_ticks_are_round_and_cover_the_top_price():
    assert price_ticks(Decimal("40")) == [0, 10, 20, 30, 40, 50]
    assert price_ticks(Decimal("15")) == [0, 5, 10, 15, 20]
    assert price_ticks(Decimal("0.3"))[-1] >= Decimal("0.3")
    assert all(len(price_ticks(Decimal(v))) <= 7 for v in ("0.075", "1.25", "27", "150", "600"))


def test_date_ticks_pick_a_calendar_step():
    ticks = date_ticks(datetime(2024, 5, 13, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    assert [label for _, label in ticks] == ["Jul 2024", "Jan 2025", "Jul 2025", "Jan 2026", "Jul 2026"]
    short = date_ticks(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 20, tzinfo=UTC))
    assert short and short[0][1] == "Aug 2"


def test_markup_in_a_title_cannot_break_the_svg(bundled_service, tmp_path):
    rates = model_history(bundled_service.db, "openai", "gpt-4o")
    svg = ET.fromstring(history_svg(rates, title="a&b <c> \x01", now=FIXED_NOW))
    assert texts(svg)[0] == "a&b <c> "


def test_png_needs_cairosvg_and_other_types_are_refused(tmp_path):
    with pytest.raises(PlotError, match=r"\.svg"):
        check_plot_path(tmp_path / "chart.pdf")
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError):
        with pytest.raises(PlotError, match=r"PNG needs cairosvg.*\.svg"):
            check_plot_path(tmp_path / "chart.png")


def test_the_table_lists_every_interval(bundled_service):
    table = history_table(model_history(bundled_service.db, "openai", "o3")).splitlines()
    assert table[0].split() == ["rate", "usd_per_mtok", "basis", "from", "until", "source"]
    assert table[1].split() == ["standard", "input", "$10.00", "curated", "2025-04-16", "2025-06-10", "curated"]
    assert "not_offered" in "\n".join(table)


@pytest.fixture(scope="module")
def db_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli") / "ratecard.db"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ratecard")
    add_history_parser(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_cli_bootstraps_an_empty_database_and_prints_the_table(db_file, capsys):
    assert run("history", "o3", "--db", str(db_file)) == 0
    out = capsys.readouterr().out
    assert out.startswith("openai/o3: USD per 1M tokens, catalog version ")
    assert "$10.00" in out and "$40.00" in out and "curated" in out


def test_cli_draws_the_chart(db_file, tmp_path, capsys):
    target = tmp_path / "gpt-4o.svg"
    assert run("history", "GPT-4o", "--tier", "standard", "--db", str(db_file), "--plot", str(target)) == 0
    svg = ET.parse(target).getroot()
    assert {"standard input", "standard output"} <= set(texts(svg)) and "batch input" not in texts(svg)
    assert f"wrote {target}" in capsys.readouterr().err


def test_cli_errors_are_clear(db_file, tmp_path, capsys):
    assert run("history", "o3", "--db", str(db_file), "--plot", str(tmp_path / "o3.gif")) == 2
    assert "name a .svg file" in capsys.readouterr().err
    assert run("history", "gpt-4x", "--db", str(db_file)) == 1
    assert "did you mean openai/gpt-4o" in capsys.readouterr().err
