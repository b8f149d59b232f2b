"""The YAML writer builds nodes itself (for speed) and must give the bytes PyYAML's own
representer gives: the bundle format and every existing bundle's digest depend on it.

The oracle below is the writer as it was: ``canonical_object`` copies, then ``yaml.dump_all``
through SafeRepresenter with literal blocks for multi-line strings and no aliases.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.bundle.yaml_codec import canonical_object, dump_document, dump_documents
from tests.yaml_strategies import TEXT, values


class _OracleDumper(yaml.CSafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _literal_when_multiline(dumper: Any, data: str) -> yaml.ScalarNode:
    node: yaml.ScalarNode = dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style="|" if "\n" in data else None
    )
    return node


_OracleDumper.add_representer(str, _literal_when_multiline)


def _oracle(documents: list[Any]) -> bytes:
    data: bytes = yaml.dump_all(
        documents,
        Dumper=_OracleDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
        encoding="utf-8",
    )
    return data


_TEXT = TEXT
_VALUE = values(max_leaves=20, max_size=4)
_OBJECT = st.fixed_dictionaries(
    {"apiVersion": _TEXT, "kind": _TEXT},
    optional={
        "metadata": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(["name", "namespace", "labels", "uid"]), _TEXT),
                _VALUE,
                max_size=5,
            ),
            _VALUE,
        ),
        "spec": _VALUE,
        "data": _VALUE,
        "stringData": _VALUE,
        "status": _VALUE,
        "zzz": _VALUE,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_OBJECT, max_size=4))
def test_object_files_have_the_bytes_of_pyyamls_representer(objects: list[dict[str, Any]]) -> None:
    assert dump_documents(objects) == _oracle([canonical_object(o) for o in objects])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, _VALUE, max_size=6))
def test_a_document_in_given_order_has_the_bytes_of_pyyamls_representer(
    data: dict[str, Any],
) -> None:
    assert dump_document(data) == _oracle([data])


def test_special_floats_and_tuples_are_written_as_pyyaml_writes_them() -> None:
    data = {"n": math.nan, "i": -math.inf, "f": 1e20, "t": (1, "a"), "z": -0.0}
    assert dump_document(data) == _oracle([{**data, "t": [1, "a"]}])
