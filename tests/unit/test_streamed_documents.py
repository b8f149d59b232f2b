"""Reading an object file as a stream gives what reading it whole gives: the same documents,
or the same error, whatever the window size (verify and import hold one document, not a
file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kbundle.bundle import yaml_codec
from kbundle.bundle.yaml_codec import (
    MAX_DEPTH,
    MAX_DOCUMENT_SIZE,
    describe_error,
    dump_documents,
    iter_documents,
    load_documents,
)

_OBJECTS = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": v}}
    for i, v in enumerate(["plain", "two\nlines\n", "kept\n\n", "[x]", "{}", "---", ""])
]

CASES = {
    "objects": dump_documents(_OBJECTS),
    "empty file": b"",
    "empty documents": b"---\n---\na: 1\n---\n",
    "a list document": b"a: 1\n---\n- 1\n",
    "a scalar document": b"a: 1\n---\nhello\n",
    "invalid yaml": b"a: 1\n---\nb: [\n",
    "a key twice": b"a: 1\na: 2\n",
    "an integer key": b"80: http\n",
    "deep flow nesting": b"a: " + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"\n",
    "deep block nesting": b"".join(b"  " * i + b"k:\n" for i in range(MAX_DEPTH + 5)) + b"\n",
    # past the cheap bound (so parser events are counted) but within the limit
    "many shallow flows": b"a: [" + b",".join([b"[" * 200 + b"]" * 200] * 3) + b"]\n",
    "many empty flows": b"a: [" + b"[]," * 2000 + b"[]]\n",
    "a document too large": b"a: 1\n---\nb: '" + b"x" * (MAX_DOCUMENT_SIZE + 1) + b"'\n",
    "a last line too large": b"b: " + b"x" * (MAX_DOCUMENT_SIZE + 10),
    "no final newline": b"a: 1\n---\nb: 2",
    "document markers in text": b"a: |\n  ---\n  x\n---\nb: '--- not a start'\n",
}


def _outcome(read: object) -> object:
    try:
        return read()  # type: ignore[operator]
    except (yaml.YAMLError, ValueError) as error:
        return ("error", describe_error(error))


# Windows smaller than a line, than a document, and larger than the file (tiny windows only
# over the small cases: over several MiB they only repeat the small runs, slowly).
WINDOWS = [
    (name, window)
    for name in sorted(CASES)
    for window in ([4096, 1 << 20] if len(CASES[name]) > 1 << 16 else [7, 64, 1 << 20])
]


@pytest.mark.parametrize(("name", "window"), WINDOWS)
def test_a_file_streamed_reads_as_the_same_bytes_loaded_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, window: int
) -> None:
    data = CASES[name]
    monkeypatch.setattr(yaml_codec, "_WINDOW", window)
    path = tmp_path / "objects.yaml"
    path.write_bytes(data)
    whole = _outcome(lambda: load_documents(data))
    streamed = _outcome(lambda: list(iter_documents(path)))
    assert streamed == whole


def test_errors_name_the_problem_the_way_a_whole_read_does(tmp_path: Path) -> None:
    path = tmp_path / "objects.yaml"
    path.write_bytes(CASES["a scalar document"])
    with pytest.raises(ValueError, match="document 2 is a scalar, not a mapping"):
        list(iter_documents(path))
    path.write_bytes(CASES["a document too large"])
    with pytest.raises(ValueError, match="document 2 is larger than 8 MiB"):
        list(iter_documents(path))
    path.write_bytes(CASES["deep flow nesting"])  # libyaml's own depth limit may speak first
    with pytest.raises((ValueError, yaml.YAMLError), match="nest"):
        list(iter_documents(path))
