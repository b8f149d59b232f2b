"""The command line asks glibc for two malloc heaps before any thread starts, unless the user
chose a number with MALLOC_ARENA_MAX (then glibc reads it, and kbundle leaves it alone)."""

from __future__ import annotations

import ctypes
import platform

import pytest

from kbundle.cli import heaps


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_heap_limit_is_set_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert heaps.limit_malloc_heaps() is True


def test_a_heap_limit_the_user_chose_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setattr(ctypes, "CDLL", lambda *a: calls.append(a))
    assert heaps.limit_malloc_heaps() is False
    assert calls == []


def test_without_mallopt_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", lambda *a: object())  # a libc with no mallopt
    assert heaps.limit_malloc_heaps() is False
