"""A large object file cut into spans at its document starts, for several processes to
parse apart: the spans cover the file, each but the first begins at a document start, and
together they give the documents the whole file gives. A file that cannot be cut safely
(directives, UTF-16) is one span."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.bundle.yaml_codec import (
    document_spans,
    dump_documents,
    iter_documents,
    load_documents,
)

_TEXT = st.sampled_from(["---", "--- x", "...", "%YAML 1.2", "a: b", "-", "", "x"])


def _documents(count: int, seed_text: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{n}", "namespace": "shop"},
            "data": {"lines": "\n".join(seed_text) + "\n", "key": seed_text[n % len(seed_text)]},
        }
        for n in range(count)
    ]


def _by_spans(path: Path, about: int) -> tuple[list[tuple[int, int]], list[dict[str, Any]]]:
    spans = document_spans(path, about)
    return spans, [document for span in spans for document in iter_documents(path, span)]


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=40),
    about=st.integers(min_value=40, max_value=3000),
    text=st.lists(_TEXT, min_size=1, max_size=6),
)
def test_spans_cover_the_file_and_give_its_documents(
    tmp_path_factory: Any, count: int, about: int, text: list[str]
) -> None:
    path = tmp_path_factory.mktemp("spans") / "objects.yaml"
    path.write_bytes(dump_documents(_documents(count, text)))
    data = path.read_bytes()
    spans, documents = _by_spans(path, about)
    assert documents == load_documents(data)
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(spans))
    assert all(data[start : start + 4] in (b"--- ", b"---\n") for start, _ in spans[1:])
    if len(data) >= 4 * about and count > 8:
        assert len(spans) > 1


def test_a_line_that_only_begins_with_three_dashes_is_no_place_to_cut(tmp_path: Path) -> None:
    body = b"".join(b"---\nkind: K\n---x: %d\n" % n for n in range(200))
    path = tmp_path / "objects.yaml"
    path.write_bytes(body)
    spans, documents = _by_spans(path, 100)
    assert len(spans) > 1 and all(body[s : s + 4] == b"---\n" for s, _ in spans[1:])
    assert documents == load_documents(body)


def test_a_file_with_a_directive_is_one_span(tmp_path: Path) -> None:
    body = dump_documents(_documents(50, ["x"]))
    path = tmp_path / "objects.yaml"
    path.write_bytes(body + b"%YAML 1.1\n---\nkind: K\n")
    assert document_spans(path, 100) == [(0, path.stat().st_size)]


def test_a_utf16_file_is_one_span(tmp_path: Path) -> None:
    path = tmp_path / "objects.yaml"
    path.write_bytes(dump_documents(_documents(50, ["x"])).decode().encode("utf-16"))
    assert document_spans(path, 100) == [(0, path.stat().st_size)]
    assert list(iter_documents(path)) == _documents(50, ["x"])
