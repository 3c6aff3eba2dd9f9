"""Counting the tokens of a prompt, offline, with the vocabularies shipped in data/tokenizers.

OpenAI models are counted exactly with tiktoken's ``o200k_base`` or
``cl100k_base`` (whichever tiktoken's model table names). Other providers do
not publish their tokenizers, so their counts use ``o200k_base`` and say they
are approximate (``exact=False``); so do OpenAI models tiktoken does not know
yet, and the retired ones whose vocabularies (r50k, p50k) we do not ship.

"Exact" is about the text: the chat format adds a few tokens per message
that no count of the text can know, so an API's usage figure can be slightly
higher.

The vocabulary files are read from the package, their sha256 checked against
the hashes tiktoken publishes, and parsed here rather than by
``tiktoken.load``, which would copy them into a temp-dir cache and could
then serve a stale copy past a changed file. Nothing is ever downloaded.
"""

import base64
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec
import tiktoken
import tiktoken.model

from ratecard import data as ratecard_data

# Prompts longer than this are refused: counting is CPU-bound and a caller
# could otherwise make the service tokenize arbitrarily large bodies. The
# byte limit is what binds for scripts of 2 to 4 UTF-8 bytes a character (CJK
# text costs tiktoken several times the memory of ASCII text of the same length).
MAX_TEXT_CHARS = 1_000_000
MAX_TEXT_BYTES = 2_000_000

# Counting is CPU-bound; past this many characters a request handler counts in a worker
# thread (tiktoken releases the GIL), so one long prompt does not stall the event loop,
# and only a few such counts run at once (CountSlots).
THREAD_OVER_CHARS = 8_000

APPROXIMATE_ENCODING = "o200k_base"  # what counts a model whose tokenizer we do not have

# The two vocabularies we ship, as tiktoken_ext/openai_public.py defines them
# (file hash, split pattern, special tokens); tests check these still match it.
_ENDOFTEXT, _ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"
_FIM_PREFIX, _FIM_MIDDLE, _FIM_SUFFIX = "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


class EncodingSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A shipped vocabulary: its file in data/tokenizers, that file's sha256, and how tiktoken splits text."""

    file: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


ENCODINGS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        file="o200k_base.tiktoken",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PATTERN,
        special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
    "cl100k_base": EncodingSpec(
        file="cl100k_base.tiktoken",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=_CL100K_PATTERN,
        special_tokens={_ENDOFTEXT: 100257, _FIM_PREFIX: 100258, _FIM_MIDDLE: 100259, _FIM_SUFFIX: 100260,
                        _ENDOFPROMPT: 100276},
    ),
}

# tiktoken encodings we count with a shipped one. o200k_harmony (gpt-oss) has
# o200k_base's vocabulary and differs only in special tokens, which ordinary
# text never produces, so its counts stay exact.
_SAME_VOCABULARY = {"o200k_harmony": "o200k_base"}


class TokenCountError(ValueError):
    """The text cannot be counted (the caller's fault: e.g. too long)."""


class TextTooLong(TokenCountError):
    """The text is longer than MAX_TEXT_CHARS characters or MAX_TEXT_BYTES bytes of UTF-8."""


class TokenizerFileError(RuntimeError):
    """A shipped vocabulary file is missing, altered or unreadable (the installation's fault)."""


class TokenCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many tokens a text is, with which encoding, and whether that is the model's own tokenizer."""

    tokens: int
    encoding: str
    exact: bool


def encoding_for_model(provider: str, model: str) -> tuple[str, bool]:
    """The shipped encoding that counts ``model``'s text, and whether the count is exact."""
    if provider.lower() != "openai":
        return APPROXIMATE_ENCODING, False
    try:
        name = tiktoken.model.encoding_name_for_model(model.lower())
    except KeyError:
        return APPROXIMATE_ENCODING, False  # a model newer than tiktoken's table: most likely o200k
    name = _SAME_VOCABULARY.get(name, name)
    if name in ENCODINGS:
        return name, True
    # A retired model (r50k, p50k, gpt2): cl100k is the nearest vocabulary we ship.
    return "cl100k_base", False


def count_tokens(provider: str, model: str, text: str) -> TokenCount:
    """Count the tokens of ``text`` as ``provider``'s ``model`` would; TextTooLong past the limits.

    Special-token strings in the text ("<|endoftext|>") count as ordinary
    text, as they do when sent to an API. CPU-bound: an async caller should
    run it in a thread for long texts (tiktoken releases the GIL while encoding).
    """
    return TextCounter(text).count(provider, model)


def check_text(text: str) -> None:
    """Raise TextTooLong when ``text`` is over MAX_TEXT_CHARS characters or MAX_TEXT_BYTES bytes of UTF-8."""
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(f"text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are counted")
    if len(text) * 4 > MAX_TEXT_BYTES:  # shorter texts fit whatever their script: no need to encode them
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise TextTooLong(f"text is {size:,} bytes of UTF-8; at most {MAX_TEXT_BYTES:,} are counted")


class TextCounter:
    """One text counted for one model or several: each encoding runs over it once.

    Most models share a vocabulary (every approximate count is o200k_base), so a text
    priced on 20 models is tokenized once or twice, not 20 times. ``encoding`` gives the
    tiktoken Encoding of a name (the shipped ones by default).
    """

    def __init__(self, text: str, *, encoding: Callable[[str], tiktoken.Encoding] | None = None) -> None:
        check_text(text)
        self.text = text
        self._encoding = encoding or bundled_encoding
        self._tokens: dict[str, int] = {}

    def count(self, provider: str, model: str) -> TokenCount:
        """The text's tokens as ``provider``'s ``model`` counts them."""
        name, exact = encoding_for_model(provider, model)
        tokens = self._tokens.get(name)
        if tokens is None:
            tokens = self._tokens[name] = len(self._encoding(name).encode_ordinary(self.text))
        return TokenCount(tokens=tokens, encoding=name, exact=exact)


class CountSlots:
    """A small bound on how many long texts are counted at once: each holds a core and its memory.

    :meth:`take` never waits: when every slot is taken the caller answers "busy"
    (429 with Retry-After) rather than queueing work the client may have given up on.
    """

    def __init__(self, slots: int) -> None:
        self._free = threading.BoundedSemaphore(slots)

    def take(self) -> bool:
        """Take a slot if one is free; False when all are taken."""
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        """Free a slot taken with :meth:`take`."""
        self._free.release()


def load_encoding(name: str, *, directory: Path | None = None) -> tiktoken.Encoding:
    """Build the tiktoken Encoding ``name`` from its file (in data/tokenizers unless ``directory``), hash checked."""
    spec = ENCODINGS.get(name)
    if spec is None:
        raise KeyError(f"no shipped encoding {name!r}; shipped: {', '.join(ENCODINGS)}")
    path = (directory or ratecard_data.path("tokenizers")) / spec.file
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise TokenizerFileError(f"cannot read the {name} vocabulary at {path}: {exc}") from exc
    actual = hashlib.sha256(body).hexdigest()
    if actual != spec.sha256:
        raise TokenizerFileError(
            f"the {name} vocabulary at {path} has sha256 {actual}, expected {spec.sha256}: "
            "the file is corrupt or was replaced; reinstall ratecard"
        )
    return tiktoken.Encoding(
        name, pat_str=spec.pat_str, mergeable_ranks=_parse_ranks(body, path), special_tokens=spec.special_tokens
    )


def _parse_ranks(body: bytes, path: Path) -> dict[bytes, int]:
    """Read a .tiktoken file: one ``base64(token) rank`` per line."""
    ranks = {}
    for number, line in enumerate(body.splitlines(), start=1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError as exc:
            raise TokenizerFileError(f"{path} line {number} is not 'base64 rank': {line[:60]!r}") from exc
    return ranks


_loaded: dict[str, tiktoken.Encoding] = {}
_loading = threading.Lock()


def bundled_encoding(name: str) -> tiktoken.Encoding:
    """The shipped encoding ``name``, loaded on first use, once, whichever thread asks first."""
    encoding = _loaded.get(name)
    if encoding is None:
        with _loading:  # loading takes a while; make concurrent first callers wait rather than load twice
            encoding = _loaded.get(name)
            if encoding is None:
                encoding = _loaded[name] = load_encoding(name)
    return encoding


def preload_encodings() -> None:
    """Load every shipped encoding now (e.g. at startup) so no request pays for it."""
    for name in ENCODINGS:
        bundled_encoding(name)
