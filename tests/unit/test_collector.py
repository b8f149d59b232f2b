"""The cyclic collector pauses for a cluster read and comes back as it was, even on error."""

from __future__ import annotations

import gc

import pytest

from kbundle.core.collector import collection_paused


def test_collection_pauses_inside_and_resumes_after_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("a list failed")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
