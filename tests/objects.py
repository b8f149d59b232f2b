"""Realistic objects for unit tests: the sample app's manifests, and objects as a real
1.20 apiserver returned them (``fixtures/objects``). Each call returns a fresh copy."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from kbundle.core.model import Object
from testbed.fixture_loader import SAMPLE_APP, read_manifests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "objects"


@functools.cache
def _sample_app() -> tuple[Object, ...]:
    return tuple(read_manifests([SAMPLE_APP]))


@functools.cache
def _fixture(name: str) -> Object:
    with (FIXTURES / f"{name}.yaml").open() as f:
        obj: Object = yaml.safe_load(f)
    return obj


def sample(kind: str, name: str) -> Object:
    """A fresh copy of one sample-app object, free for the test to edit."""
    found = [o for o in _sample_app() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} is not in the sample app"
    return copy.deepcopy(found[0])


def fixture(name: str) -> Object:
    """A fresh copy of one object read from a real apiserver."""
    return copy.deepcopy(_fixture(name))


def sample_app() -> list[Object]:
    """Every object of the sample app, fresh copies."""
    return [copy.deepcopy(o) for o in _sample_app()]


def every_object() -> list[Object]:
    """The whole sample app and every server fixture, fresh copies."""
    fixtures = [fixture(p.stem) for p in sorted(FIXTURES.glob("*.yaml"))]
    return sample_app() + fixtures
