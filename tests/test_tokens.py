"""Token counting with the shipped vocabularies: known counts, the exact flag, hash checks, the size cap, no network."""

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tiktoken_ext.openai_public

from ratecard import data as ratecard_data
from ratecard.service.tokens import (
    ENCODINGS,
    MAX_TEXT_CHARS,
    TextTooLong,
    TokenCount,
    TokenCountError,
    TokenizerFileError,
    bundled_encoding,
    count_tokens,
    encoding_for_model,
    load_encoding,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# Token ids as tiktoken's own tests and OpenAI's cookbook give them.
KNOWN = [
    ("cl100k_base", "hello world", [15339, 1917]),
    ("o200k_base", "hello world", [24912, 2375]),
    ("cl100k_base", "tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ("o200k_base", "tiktoken is great!", [83, 8251, 2488, 382, 2212, 0]),
    ("cl100k_base", "Hello, world!", [9906, 11, 1917, 0]),
]


@pytest.mark.parametrize(("name", "text", "ids"), KNOWN)
def test_the_shipped_vocabularies_give_tiktokens_known_ids(name, text, ids):
    assert bundled_encoding(name).encode_ordinary(text) == ids


@pytest.mark.parametrize(
    ("provider", "model", "encoding", "exact"),
    [
        ("openai", "gpt-4o", "o200k_base", True),
        ("openai", "gpt-4o-2024-08-06", "o200k_base", True),
        ("openai", "GPT-4o-mini", "o200k_base", True),
        ("openai", "o4-mini", "o200k_base", True),
        ("openai", "gpt-5", "o200k_base", True),
        ("openai", "gpt-4", "cl100k_base", True),
        ("openai", "gpt-3.5-turbo", "cl100k_base", True),
        ("openai", "text-embedding-3-small", "cl100k_base", True),
        ("openai", "gpt-oss-120b", "o200k_base", True),  # o200k_harmony: same vocabulary
        ("openai", "text-davinci-003", "cl100k_base", False),  # p50k, not shipped
        ("openai", "some-future-model", "o200k_base", False),
        ("anthropic", "claude-sonnet-4-5", "o200k_base", False),
        ("google", "gemini-2.5-pro", "o200k_base", False),
    ],
)
def test_which_encoding_counts_a_model_and_whether_exactly(provider, model, encoding, exact):
    assert encoding_for_model(provider, model) == (encoding, exact)


def test_count_tokens():
    assert count_tokens("openai", "gpt-4o", "hello world") == TokenCount(tokens=2, encoding="o200k_base", exact=True)
    assert count_tokens("openai", "gpt-4", "hello world") == TokenCount(tokens=2, encoding="cl100k_base", exact=True)
    assert count_tokens("anthropic", "claude-opus-4-5", "tiktoken is great!") == TokenCount(
        tokens=6, encoding="o200k_base", exact=False)
    assert count_tokens("openai", "gpt-4o", "") == TokenCount(tokens=0, encoding="o200k_base", exact=True)


def test_special_token_strings_count_as_text():
    counted = count_tokens("openai", "gpt-4o", "<|endoftext|>")
    assert counted.tokens > 1  # the string's pieces, not the one special token


def test_the_size_cap_is_enforced_with_a_clear_error():
    assert count_tokens("openai", "gpt-4o", "a " * (MAX_TEXT_CHARS // 2)).tokens > 0
    with pytest.raises(TextTooLong, match="1,000,001 characters; at most 1,000,000"):
        count_tokens("openai", "gpt-4o", "a" * (MAX_TEXT_CHARS + 1))
    assert issubclass(TextTooLong, TokenCountError) and issubclass(TokenCountError, ValueError)


def test_an_altered_vocabulary_file_is_refused(tmp_path: Path):
    shipped = ratecard_data.path("tokenizers", "cl100k_base.tiktoken")
    altered = tmp_path / "cl100k_base.tiktoken"
    body = bytearray(shipped.read_bytes())
    body[10] ^= 1
    altered.write_bytes(bytes(body))
    with pytest.raises(TokenizerFileError, match=f"sha256 .* expected {ENCODINGS['cl100k_base'].sha256}"):
        load_encoding("cl100k_base", directory=tmp_path)


def test_a_missing_vocabulary_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TokenizerFileError, match="cannot read the o200k_base vocabulary"):
        load_encoding("o200k_base", directory=tmp_path)
    # A caller's fault and an installation's fault are told apart.
    assert not issubclass(TokenizerFileError, TokenCountError)


def test_a_copied_intact_vocabulary_loads(tmp_path: Path):
    shutil.copy(ratecard_data.path("tokenizers", "cl100k_base.tiktoken"), tmp_path)
    assert load_encoding("cl100k_base", directory=tmp_path).encode_ordinary("hello world") == [15339, 1917]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_our_definitions_match_tiktokens(monkeypatch, name):
    """Pattern, special tokens and file hash are copied from tiktoken_ext.openai_public; catch any drift."""
    asked = {}

    def fake_load(blobpath, expected_hash=None):
        asked.update(blobpath=blobpath, expected_hash=expected_hash)
        return {}

    monkeypatch.setattr(tiktoken_ext.openai_public, "load_tiktoken_bpe", fake_load)
    theirs = tiktoken_ext.openai_public.ENCODING_CONSTRUCTORS[name]()
    ours = ENCODINGS[name]
    assert (ours.pat_str, ours.special_tokens) == (theirs["pat_str"], theirs["special_tokens"])
    assert asked["expected_hash"] == ours.sha256
    assert asked["blobpath"].endswith("/" + ours.file)


def test_a_fresh_process_counts_with_the_network_blocked():
    """Loading the vocabularies from scratch touches no socket (the in-process guard may see them cached)."""
    script = textwrap.dedent("""
        import socket
        def refuse(*args, **kwargs):
            raise SystemExit("network access attempted")
        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        from ratecard.service.tokens import count_tokens
        print(count_tokens("openai", "gpt-4o", "hello world").tokens,
              count_tokens("openai", "gpt-4", "hello world").tokens)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "TIKTOKEN_CACHE_DIR": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "2"]
