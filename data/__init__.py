"""Data shipped with ratecard: model catalog, source registry, curated history
and the page snapshots the offline default ingests.

Installed as the package ``ratecard.data``; code reaches these files through
:func:`path`, never through a path relative to a checkout.
"""

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """Return the path of a bundled data file (``path("models", "openai.toml")``)."""
    return Path(str(files(__name__).joinpath(*parts)))
