"""Hypothesis strategies for JSON-like values that stress the YAML emitter's choices: block
scalars with every chomping (a trailing blank line makes a document end open-ended), quoting
of YAML 1.1 words, unicode, spaces, special floats. Shared by the tests that pin the object
files' bytes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

AWKWARD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "yes",
        "No",
        "on",
        "null",
        "~",
        "=",
        "0x10",
        "0o7",
        "1e3",
        "1_000",
        ".5",
        "- a",
        "a: b",
        "#x",
        "'",
        '"',
        "\t",
        "x\n",
        "x\n\n",
        "\n",
        "a\nb",
        " lead\n",
        "trail \n",
        "日本\n",
        "é",
        "---",
        "...",
        "2024-01-01",
        "1:20",
        "<<",
        "!tag",
        "%x",
        "\u2028",
        "\x85",
        "\ufeff",
        "a\r\nb",
        "a\n\n\n",
    ]
)
TEXT = st.one_of(AWKWARD_TEXT, st.text(max_size=24))
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), TEXT)  # what a bundle loads
SCALAR = st.one_of(JSON_SCALAR, st.floats(allow_nan=True, allow_infinity=True))


def values(max_leaves: int, max_size: int, *, floats: bool = True) -> st.SearchStrategy[Any]:
    """Scalars (with any float, nan and infinities included, when ``floats``), lists and
    string-keyed mappings nested to ``max_leaves`` leaves."""
    return st.recursive(
        SCALAR if floats else JSON_SCALAR,
        lambda inner: st.one_of(
            st.lists(inner, max_size=max_size), st.dictionaries(TEXT, inner, max_size=max_size)
        ),
        max_leaves=max_leaves,
    )
