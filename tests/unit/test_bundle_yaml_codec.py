"""Object files are byte-stable, readable YAML that loads back to exactly what was written."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.bundle.yaml_codec import (
    Dumper,
    describe_error,
    dump_document,
    dump_documents,
    load_documents,
)

TRICKY_STRINGS = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "~",
    "null",
    "=",
    "0x10",
    "0o17",
    "010",
    "1_000",
    "1:20",
    "1e3",
    ".inf",
    "-",
    "- a",
    "? x",
    "a: b",
    "#x",
    "&a",
    "*a",
    "!x",
    "%x",
    "@x",
    "`x",
    "'",
    '"',
    "",
    " ",
    "  lead",
    "trail  ",
    "\n",
    "\n\n",
    "a\n",
    "a\n\n",
    " a\nb",
    "a \nb",
    "\ta\n",
    "2026-11-21T07:00:00Z",
    "2026-11-21",
    "héllo ✓",
    "\u2028",
    "\x85",
    "\ufeff",
    "---",
    "...",
]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.text(),
    st.sampled_from(TRICKY_STRINGS),
)
_keys = st.one_of(st.text(max_size=8), st.sampled_from(TRICKY_STRINGS))
json_like = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)
    ),
    max_leaves=12,
)
objects = st.lists(st.dictionaries(_keys, json_like, min_size=1, max_size=6), max_size=3)


@settings(max_examples=100, deadline=None)
@given(objects)
def test_round_trip_is_exact_for_json_like_values(docs: list[dict[str, Any]]) -> None:
    assert load_documents(dump_documents(docs)) == docs


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_tricky_strings_stay_strings(text: str) -> None:
    docs = [{"data": {text: text}, "list": [text]}]
    assert load_documents(dump_documents(docs)) == docs


def _keys_in_order(data: bytes, indent: str) -> list[str]:
    lines = data.decode().splitlines()
    return [
        line.strip().split(":")[0]
        for line in lines
        if line.startswith(indent) and not line.startswith(indent + " ")
    ]


def test_top_level_keys_come_in_canonical_order() -> None:
    obj = {
        "zeta": 1,
        "stringData": {},
        "status": {},
        "data": {},
        "spec": {},
        "metadata": {"name": "a"},
        "kind": "Secret",
        "apiVersion": "v1",
        "alpha": 2,
    }
    keys = [
        line.split(":")[0]
        for line in dump_documents([obj]).decode().splitlines()
        if line[:1].isalpha()
    ]
    assert keys == [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "data",
        "stringData",
        "alpha",
        "status",
        "zeta",
    ]


def test_metadata_keys_come_in_canonical_order_then_alphabetically() -> None:
    metadata = {
        "uid": "u",
        "ownerReferences": [],
        "finalizers": [],
        "annotations": {},
        "labels": {},
        "namespace": "ns",
        "name": "a",
        "generateName": "g",
    }
    data = dump_documents([{"metadata": metadata}])
    assert _keys_in_order(data, "  ") == [
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "generateName",
        "uid",
    ]


def test_deeper_mappings_are_sorted_alphabetically_even_inside_lists() -> None:
    obj = {"spec": {"b": 1, "a": [{"y": 1, "x": 2}], "metadata": {"namespace": "n", "name": "x"}}}
    text = dump_documents([obj]).decode()
    assert text == (
        "spec:\n  a:\n  - x: 2\n    y: 1\n  b: 1\n  metadata:\n    name: x\n    namespace: n\n"
    )


def test_same_objects_give_the_same_bytes_whatever_the_key_order() -> None:
    one = {"kind": "ConfigMap", "apiVersion": "v1", "data": {"b": "2", "a": "1"}}
    two = {"data": {"a": "1", "b": "2"}, "apiVersion": "v1", "kind": "ConfigMap"}
    assert dump_documents([one]) == dump_documents([two])


def test_multiline_strings_are_written_as_literal_blocks() -> None:
    text = dump_documents([{"data": {"script": "#!/bin/sh\necho hi\n"}}]).decode()
    assert "script: |\n    #!/bin/sh\n    echo hi\n" in text


def test_long_strings_are_never_folded() -> None:
    long = "word " * 400 + "end"
    text = dump_documents([{"data": {"a": long, "b": "x" * 5000}}]).decode()
    assert len(text.splitlines()) == 3


def test_unicode_is_written_as_is() -> None:
    assert "héllo ✓ 日本" in dump_documents([{"a": "héllo ✓ 日本"}]).decode()


def test_ambiguous_strings_are_quoted() -> None:
    text = dump_documents([{"a": "yes", "b": "on", "c": "=", "d": "0x10", "e": "null"}]).decode()
    assert text == "a: 'yes'\nb: 'on'\nc: '='\nd: '0x10'\ne: 'null'\n"


def test_documents_are_separated_by_document_markers() -> None:
    data = dump_documents([{"a": 1}, {"b": 2}, {"c": 3}])
    assert data == b"a: 1\n---\nb: 2\n---\nc: 3\n"
    assert dump_documents([]) == b""


def test_shared_values_are_written_out_without_anchors() -> None:
    shared = {"x": [1, 2]}
    text = dump_documents([{"a": shared, "b": shared}]).decode()
    assert "&" not in text
    assert "*" not in text


def test_dumper_uses_libyaml_when_available() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    assert issubclass(Dumper, yaml.CSafeDumper)


def test_manifest_document_keeps_the_given_key_order() -> None:
    assert dump_document({"b": 1, "a": {"d": 1, "c": 2}}) == b"b: 1\na:\n  d: 1\n  c: 2\n"


def test_load_accepts_a_bare_equals_sign_as_a_string() -> None:
    assert load_documents(b"data:\n  op: =\n  list: [=]\n") == [
        {"data": {"op": "=", "list": ["="]}}
    ]


def test_load_skips_empty_documents() -> None:
    assert load_documents(b"---\n---\na: 1\n---\n# only a comment\n---\nb: 2\n") == [
        {"a": 1},
        {"b": 2},
    ]
    assert load_documents(b"") == []


def test_load_keeps_timestamps_as_strings_like_kubernetes() -> None:
    docs = load_documents(b"t: 2026-11-21T07:00:00Z\nd: 2026-11-21\n")
    assert docs == [{"t": "2026-11-21T07:00:00Z", "d": "2026-11-21"}]


def test_load_refuses_python_object_tags() -> None:
    with pytest.raises(yaml.YAMLError):
        load_documents(b"a: !!python/object/apply:os.system ['true']\n")


def test_load_rejects_a_document_that_is_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="document 2 is a sequence, not a mapping"):
        load_documents(b"a: 1\n---\n- x\n")


def test_describe_error_gives_one_line_with_the_position() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        load_documents(b"a: 1\nb: [unclosed\n")
    message = describe_error(caught.value)
    assert "\n" not in message
    assert "line 3" in message


_PLAIN_SCALARS = [
    *TRICKY_STRINGS,
    *(s.upper() for s in TRICKY_STRINGS),
    "True",
    "NULL",
    "Null",
    "+12",
    "-0.5",
    "1.5e-3",
    ".NaN",
    "-.inf",
    "0b101",
    "190:20:30",
    "2001-12-14t21:59:43.10-05:00",
    "<<",
    "80",
    "TCP",
    "a" * 33,  # longer than the remembered ones
]


@pytest.mark.parametrize("implicit", [(True, False), (False, True), (True, True), (False, False)])
def test_scalars_resolve_to_the_tags_pyyaml_gives_them(implicit: tuple[bool, bool]) -> None:
    """kbundle's loader remembers the tags of short plain scalars: twice asked, each gets
    what PyYAML's own resolver says, and collections their default tags."""
    from kbundle.bundle.yaml_codec import Loader  # noqa: PLC0415

    ours, theirs = Loader(""), yaml.SafeLoader("")
    pyyaml: Any = yaml.resolver.BaseResolver.resolve
    for _ in range(2):
        for value in _PLAIN_SCALARS:
            expected = pyyaml(theirs, yaml.ScalarNode, value, implicit)
            assert Loader.resolve(ours, yaml.ScalarNode, value, implicit) == expected, value
    for kind in (yaml.MappingNode, yaml.SequenceNode):
        expected = pyyaml(theirs, kind, None, (False, False))
        assert Loader.resolve(ours, kind, None, (False, False)) == expected


def test_strings_load_as_the_same_values_whether_plain_or_quoted() -> None:
    text = "a: x\nb: 'y'\nc: \"z\"\nd: |\n  w\ne: [x, 'y']\nf: {g: h}\n"
    assert load_documents(text.encode()) == [
        {"a": "x", "b": "y", "c": "z", "d": "w\n", "e": ["x", "y"], "f": {"g": "h"}}
    ]
