"""POST /v1/tokens over HTTP: exact counts for OpenAI models, flagged approximations, 4xx for bad input."""

import pytest

from ratecard.service.tokens import (
    MAX_TEXT_BYTES,
    MAX_TEXT_CHARS,
    THREAD_OVER_CHARS,
    TextCounter,
    bundled_encoding,
    check_text,
    count_tokens,
)


def test_openai_counts_are_exact_with_the_models_own_encoding(client):
    answer = client.post("/v1/tokens", json={"model": "gpt-4o", "text": "tiktoken is great!"})
    assert answer.status_code == 200
    # o200k_base ids for this text are [83, 8251, 2488, 382, 2212, 0] (tiktoken's own test).
    assert answer.json() == {"provider": "openai", "model": "gpt-4o", "tokens": 6, "characters": 18,
                             "encoding": "o200k_base", "exact": True, "note": None}


def test_an_older_openai_model_counts_with_cl100k(client):
    answer = client.post("/v1/tokens", json={"model": "openai/gpt-4", "text": "Hello, world!"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["tokens"], body["encoding"], body["exact"]) == (4, "cl100k_base", True)  # [9906, 11, 1917, 0]


def test_other_providers_are_approximate_and_say_so(client):
    body = client.post("/v1/tokens", json={"model": "Claude Opus 4.5", "text": "tiktoken is great!"}).json()
    assert (body["provider"], body["model"], body["tokens"], body["exact"]) == ("anthropic", "claude-opus-4-5", 6, False)
    assert body["note"] == "approximate: counted with o200k_base; anthropic does not publish the tokenizer of claude-opus-4-5"


def test_a_long_text_is_counted_off_the_event_loop_with_the_same_answer(client):
    text = " ".join(["hello world"] * 10_000)  # 119,999 characters: over the thread threshold
    body = client.post("/v1/tokens", json={"model": "gpt-4o", "text": text}).json()
    assert body["tokens"] == 20_000 and body["characters"] == 119_999  # "hello", " world", " hello", ...


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"model": "gpt-4o"}, 400, "text"),
        ({"text": "hi"}, 400, "model"),
        ({"model": "gpt-4o", "text": 7}, 400, "text"),
        ({"model": "gpt-4o", "text": "hi", "extra": 1}, 400, "extra"),
        ({"model": "gpt-4o", "text": "a" * (MAX_TEXT_CHARS + 1)}, 400, "text"),
    ],
)
def test_bad_bodies_are_400_problems_naming_the_field(client, body, status, field):
    answer = client.post("/v1/tokens", json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text


def test_an_unknown_model_is_a_404_with_suggestions(client):
    answer = client.post("/v1/tokens", json={"model": "gpt-4oo", "text": "hi"})
    assert answer.status_code == 404
    assert answer.json()["suggestions"][0] == "openai/gpt-4o"


def test_a_body_that_is_not_json_is_a_400_problem(client):
    answer = client.post("/v1/tokens", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["status"] == 400


def test_a_text_is_tokenized_once_per_encoding_however_many_models_count_it():
    calls = []

    def encoding(name):
        calls.append(name)
        return bundled_encoding(name)

    counter = TextCounter("How much does a million tokens cost?", encoding=encoding)
    counts = [counter.count(p, m) for p, m in [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"),
                                                ("google", "gemini-2.5-pro"), ("openai", "gpt-4"), ("openai", "o3")]]
    assert sorted(calls) == ["cl100k_base", "o200k_base"]
    assert [c.encoding for c in counts] == ["o200k_base", "o200k_base", "o200k_base", "cl100k_base", "o200k_base"]
    assert counts[0].tokens == counts[1].tokens == count_tokens("openai", "gpt-4o", counter.text).tokens


def test_a_text_is_limited_in_bytes_as_well_as_characters(client):
    cjk = "価" * (MAX_TEXT_BYTES // 3 + 1)  # 3 bytes each in UTF-8: under the character limit, over the byte one
    assert len(cjk) < MAX_TEXT_CHARS
    for path, body in (("/v1/tokens", {"model": "gpt-4o", "text": cjk}),
                       ("/v1/estimate", {"models": ["gpt-4o"], "text": cjk})):
        response = client.post(path, json=body)
        assert response.status_code == 400, path
        assert response.json()["errors"][0]["field"] == "text"
        assert f"at most {MAX_TEXT_BYTES:,} are counted" in response.json()["detail"]
    check_text("a" * MAX_TEXT_CHARS)  # ASCII: the character limit binds first


def test_counting_past_the_bound_answers_429_with_retry_after(bundled_service, client):
    long_text = "word " * (THREAD_OVER_CHARS // 5 + 1)
    slots = bundled_service.count_slots
    taken = 0
    while slots.take():  # every slot busy, as if as many long texts were being counted
        taken += 1
    try:
        assert taken == bundled_service.settings.max_concurrent_counts
        for path, body in (("/v1/tokens", {"model": "gpt-4o", "text": long_text}),
                           ("/v1/estimate", {"models": ["gpt-4o"], "text": long_text})):
            busy = client.post(path, json=body)
            assert busy.status_code == 429, path
            assert busy.headers["retry-after"] == "1"
            assert busy.headers["content-type"] == "application/problem+json"
            assert busy.json()["type"].endswith("/busy-counting")
        # A short text is counted at once, not through the slots.
        assert client.post("/v1/tokens", json={"model": "gpt-4o", "text": "hello world"}).json()["tokens"] == 2
    finally:
        for _ in range(taken):
            slots.give_back()
    counted = client.post("/v1/tokens", json={"model": "gpt-4o", "text": long_text})
    # "word", each " word" after it, and the trailing space: one token each in o200k_base.
    assert counted.status_code == 200 and counted.json()["tokens"] == THREAD_OVER_CHARS // 5 + 2
