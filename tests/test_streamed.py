"""Which part of an observation's content its streamed output did not show, and what the log keeps."""

from __future__ import annotations

from agentexec.streamed import KEPT_CHARS, StreamedText, StreamsForTheLog


def streamed(*chunks: str) -> StreamedText:
    stream = StreamedText()
    for chunk in chunks:
        stream.feed(chunk)
    return stream


def test_a_command_whose_content_is_its_output_shows_only_what_follows_it() -> None:
    stream = streamed("hi\n", "there\n")
    assert stream.rest_of("hi\nthere\n", {}) == ""
    assert stream.rest_of("hi\nthere\n\n[still running after 1 s]", {}) == "[still running after 1 s]"


def test_a_handler_that_streams_and_returns_something_else_shows_both() -> None:
    stream = streamed("counting notes.txt\n")
    assert not stream.in_content("3", {})
    assert stream.rest_of("3", {}) == "3"
    assert StreamedText().rest_of("3", {}) == "3"  # nothing streamed: the content is all there is


def test_an_excerpt_of_a_long_output_saved_to_a_file_is_not_shown_again() -> None:
    stream = streamed("1\n2\n3\n")
    excerpt = "1\n[... 2 characters cut; full output in /tmp/out.txt ...]\n3\n"
    assert (
        stream.in_content(excerpt, {"output_path": "/tmp/out.txt"})
        and stream.rest_of(excerpt, {"output_path": "x"}) == ""
    )


def test_the_log_keeps_a_stream_only_when_the_content_does_not_hold_it() -> None:
    kept = StreamsForTheLog()
    assert kept.to_write({"output": "a\n", "cause": 1}) == []
    assert kept.to_write({"observation": "run", "content": "a\n", "cause": 1}) == [
        {"observation": "run", "content": "a\n", "cause": 1}
    ]
    kept.to_write({"output": "x" * (KEPT_CHARS + 5), "cause": 2})
    written = kept.to_write({"observation": "count", "content": "3", "cause": 2})
    assert written[0]["cause"] == 2 and written[0]["output"].endswith("[... 5 more characters streamed, not kept]\n")
    assert written[1]["content"] == "3"
