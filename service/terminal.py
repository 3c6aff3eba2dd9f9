"""What the ``ratecard`` command prints: money, aligned tables, exit statuses, and a quiet closed pipe.

One formatter for money (:func:`format_usd`) so every command writes it the
same way, and the exit statuses every command keeps:

- ``EXIT_OK`` (0): there was something to print, and it was printed;
- ``EXIT_EMPTY`` (1): the command ran but found nothing (no estimate, no
  priced month, no rate), or the work it did failed (a rejected page);
- ``EXIT_USAGE`` (2): the input was wrong (an unknown model, a bad flag);
- ``EXIT_CLOSED_PIPE`` (141, 128 + SIGPIPE, what a shell reports for a
  program a pipe stopped): the reader went away (``ratecard export | head``).
"""

import os
import sys
from collections.abc import Collection, Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

EXIT_OK = 0
EXIT_EMPTY = 1
EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141

CENT = Decimal("0.01")
# Small amounts keep this many significant digits ($0.013, $0.0065, $0.00038): a per-request
# cost rounded to cents would show $0.01 beside a batch tier's $0.0065, reading as a 35% saving
# where it is 50%, and a tiny one as $0.00.
SIGNIFICANT_DIGITS = 2


def format_usd(amount: Decimal | None, *, exact: bool = False) -> str:
    """Dollars with thousands separators and two decimals: ``$1,326.00``, ``$6.50``, ``-$12.00``.

    More decimals only where two would leave fewer than two significant
    digits, i.e. below ten cents: ``$0.013``, ``$0.0065``, ``$0.00038``
    (rounded half-even, like the cents). ``exact`` is for prices (USD per 1M
    tokens), which are never rounded: at least two decimals, and every digit
    there is (``$0.075``, ``$2.50``). None (no price) is ``-``.
    """
    if amount is None:
        return "-"
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    if exact:
        shown = _at_least_cents(size.normalize())
    else:
        # The leading digit's place is -adjusted(); keep one more digit after it, and at least cents.
        places = 2 if size == 0 else max(2, SIGNIFICANT_DIGITS - 1 - size.adjusted())
        shown = size.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        if places > 2:  # no zeros past the cents that only the rounding made ($0.0050 -> $0.005)
            shown = _at_least_cents(shown.normalize())
    return f"{sign}${shown:,f}"


def _at_least_cents(value: Decimal) -> Decimal:
    """``value`` with two decimals when it has fewer (``6.5`` -> ``6.50``, ``1.3E+3`` -> ``1300.00``)."""
    return value.quantize(CENT) if value.as_tuple().exponent > -2 else value  # type: ignore[operator]


def format_table(rows: Sequence[Sequence[str]], *, right: Collection[int] = ()) -> str:
    """Rows of cells as aligned text, two spaces apart: the columns in ``right`` (numbers) flush right."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.rjust(width) if i in right else cell.ljust(width)
                  for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
        for row in rows
    )


def write_json(body: bytes) -> None:
    """Write an encoded JSON answer to stdout, as the API sends it, with a newline."""
    sys.stdout.flush()  # anything printed before goes first
    sys.stdout.buffer.write(body + b"\n")


def silence_closed_stdout() -> int:
    """After a BrokenPipeError on stdout: point stdout at /dev/null so the exit flush cannot fail again.

    Python flushes stdout once more at exit; with the reader gone that
    flush would raise again and print "Exception ignored ... BrokenPipeError".
    Returns EXIT_CLOSED_PIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return EXIT_CLOSED_PIPE


def report_invalid(command: str, exc: Exception) -> int:
    """Print an invalid input (a problem from the core, or the typed decoder's error) and return EXIT_USAGE."""
    problem = getattr(exc, "problem", None)
    detail = problem.detail if problem is not None else str(exc)
    suggestions = getattr(problem, "suggestions", None) or []
    print(f"ratecard {command}: {detail}" + (f" (did you mean: {', '.join(suggestions)})" if suggestions else ""),
          file=sys.stderr)
    return EXIT_USAGE


def print_warnings(warnings: Iterable[str]) -> None:
    """Each distinct warning once, on stderr."""
    for warning in dict.fromkeys(warnings):
        print(f"warning: {warning}", file=sys.stderr)
