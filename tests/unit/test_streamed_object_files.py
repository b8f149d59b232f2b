"""An object file written one object at a time has exactly the bytes of the whole-list dump.

The export writes kinds of any size from a generator (so memory holds one object); the bundle
format and its determinism must not notice: same bytes, digest, size and count as
``dump_documents`` of the same objects held in memory, for any JSON-like object.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.bundle.writer import BundleWriter
from kbundle.bundle.yaml_codec import dump_documents, load_documents, stream_documents
from tests.bundle_samples import MTIME
from tests.yaml_strategies import TEXT, values

_TEXT = TEXT
_VALUE = values(max_leaves=12, max_size=3, floats=False)  # loaded back: JSON numbers only


def _object(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns"},
        "data": data,
    }


_OBJECTS = st.lists(st.dictionaries(_TEXT, _VALUE, max_size=4), max_size=6).map(
    lambda datas: [_object(f"o{i}", data) for i, data in enumerate(datas)]
)


@settings(max_examples=300, deadline=None)
@given(_OBJECTS)
def test_streaming_gives_the_bytes_of_the_whole_list_dump(objects: list[dict[str, Any]]) -> None:
    out = io.BytesIO()
    stream_documents(iter(objects), out)
    assert out.getvalue() == dump_documents(objects)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_OBJECTS)
def test_a_file_added_from_a_generator_matches_the_in_memory_dump(
    tmp_path: Path, objects: list[dict[str, Any]]
) -> None:
    expected = dump_documents(objects)
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer:
        entry = writer.add_object_file(
            level=6,
            level_name="configuration",
            api_version="v1",
            kind="ConfigMap",
            namespaced=True,
            objects=(obj for obj in objects),
        )
        spooled = writer._spooled[entry.path].read_bytes()
    assert spooled == expected
    assert (entry.size, entry.sha256) == (len(expected), hashlib.sha256(expected).hexdigest())
    assert entry.objects == len(objects) == len(load_documents(spooled))


def test_a_document_ending_open_ended_is_followed_by_the_same_separator() -> None:
    # "x\n\n" is written with keep chomping (|+); libyaml then ends the document open-ended.
    objects = [_object("a", {"k": "x\n\n"}), _object("b", {"k": "y"})]
    out = io.BytesIO()
    stream_documents(objects, out)
    assert out.getvalue() == dump_documents(objects)
    assert load_documents(out.getvalue()) == objects
