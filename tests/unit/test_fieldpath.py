"""JSON Pointers and reading places in objects (``kbundle.core.fieldpath``). The report's
dotted notation and ``--remove-field`` are proved in ``test_transform_edits``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbundle.core.fieldpath import (
    MISSING,
    FieldPathError,
    PointerToken,
    find,
    parse_field_path,
    parse_pointer,
    render_pointer,
    value_at,
)

DOCUMENT = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "note": None}, "a/b": {"~": 1}}


@given(st.lists(st.text(max_size=8), max_size=5))
def test_a_rendered_pointer_reads_back_as_the_same_tokens(tokens: list[str]) -> None:
    assert parse_pointer(render_pointer(tokens)) == tuple(tokens)


def test_pointer_escapes_name_slashes_and_tildes_in_keys() -> None:
    assert render_pointer(["a/b", "~"]) == "/a~1b/~0"
    assert value_at(DOCUMENT, parse_pointer("/a~1b/~0")) == 1


@pytest.mark.parametrize(("pointer", "position"), [("/a~2", 3), ("/a~", 3), ("a", 1)])
def test_a_malformed_pointer_names_where_it_breaks(pointer: str, position: int) -> None:
    with pytest.raises(FieldPathError, match=f"malformed path at character {position}$"):
        parse_pointer(pointer)


def test_the_empty_pointer_is_the_whole_document() -> None:
    assert value_at(DOCUMENT, parse_pointer("")) is DOCUMENT


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/spec/containers/1/name", "b"),
        ("/spec/containers/01/name", MISSING),  # RFC 6901: no leading zeros
        ("/spec/containers/-", MISSING),  # the item after the last: nothing there yet
        ("/spec/containers/2", MISSING),
        ("/spec/note", None),  # a JSON null is a value, not a missing one
        ("/spec/note/x", MISSING),
    ],
)
def test_value_at_reads_list_indices_as_json_pointers_do(pointer: str, value: object) -> None:
    assert value_at(DOCUMENT, parse_pointer(pointer)) == value


def test_a_dotted_key_never_indexes_a_list_but_a_pointer_token_does() -> None:
    assert list(find(DOCUMENT, parse_field_path("spec.containers.0"))) == []
    assert parse_field_path("/spec/containers/0")[-1] == PointerToken("0")
    [(parent, key, path)] = find(DOCUMENT, parse_field_path("/spec/containers/0"))
    assert (parent[key], path) == ({"name": "a"}, ("spec", "containers", 0))
