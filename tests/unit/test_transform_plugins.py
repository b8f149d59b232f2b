"""Plugins: entry points (the example package, installed for real) and ``module:callable``.

The callables named as ``module:callable`` live in this module, so the specs below point at
``tests.unit.test_transform_plugins``.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kbundle.core.errors import TransformError, UsageError
from kbundle.core.model import Object
from kbundle.transforms.base import TransformContext, describe
from kbundle.transforms.plugins import GROUP, entry_point_plugins, load_plugin
from kbundle.transforms.runner import run_transforms

EXAMPLE_PLUGIN = (
    Path(__file__).resolve().parents[2] / "fixtures" / "plugins" / "kbundle-example-plugin"
)
HERE = __name__
IMPORTED_BY = "example.kbundle.dev/imported-by"
CONFIG_MAP: Object = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop", "labels": {"app": "api"}},
    "data": {"mode": "production"},
}


# -- plugins named by module:callable (this module is the target) ---------------------------


def add_label(obj: Object, context: TransformContext) -> Object:
    result = copy.deepcopy(obj)
    result["metadata"].setdefault("labels", {})["plugged"] = "yes"
    return result


def split_in_two(obj: Object, context: TransformContext) -> list[Object]:
    copies = [copy.deepcopy(obj), copy.deepcopy(obj)]
    copies[1]["metadata"]["name"] += "-copy"
    return copies


def drop_everything(obj: Object, context: TransformContext) -> None:
    return None


def explodes(obj: Object, context: TransformContext) -> Object:
    raise ValueError("no spec to work on")


def returns_text(obj: Object, context: TransformContext) -> Any:
    return "not an object"


def edits_its_input(obj: Object, context: TransformContext) -> Object:
    obj["metadata"]["name"] = "edited"
    return obj


class Counter:
    """A class plugin: instantiated with no arguments, then called like a function."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        self.calls += 1
        return obj


class Holder:
    @staticmethod
    def transform(obj: Object, context: TransformContext) -> Object:
        return add_label(obj, context)


class NeedsArguments:
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping


NOT_CALLABLE = 42


def run(spec: str, obj: Object) -> Any:
    return load_plugin(spec)(obj, TransformContext())


def test_module_callable_is_loaded_and_named_after_its_spec() -> None:
    plugin = load_plugin(f"{HERE}:add_label")
    assert plugin.name == f"{HERE}:add_label"
    assert describe(plugin) == {"name": f"{HERE}:add_label", "plugin": f"{HERE}:add_label"}
    result = plugin(CONFIG_MAP, TransformContext())
    assert isinstance(result, dict)
    assert result["metadata"]["labels"] == {"app": "api", "plugged": "yes"}


def test_a_plugin_may_return_several_objects_or_none() -> None:
    names = [obj["metadata"]["name"] for obj in run(f"{HERE}:split_in_two", CONFIG_MAP)]
    assert names == ["settings", "settings-copy"]
    assert run(f"{HERE}:drop_everything", CONFIG_MAP) is None
    transforms = [load_plugin(f"{HERE}:split_in_two"), load_plugin(f"{HERE}:add_label")]
    results = run_transforms(CONFIG_MAP, transforms, TransformContext())
    assert [r["metadata"]["labels"]["plugged"] for r in results] == ["yes", "yes"]
    assert (
        run_transforms(CONFIG_MAP, [load_plugin(f"{HERE}:drop_everything")], TransformContext())
        == []
    )


def test_a_class_is_instantiated_and_attribute_paths_work() -> None:
    counter = load_plugin(f"{HERE}:Counter")
    counter(CONFIG_MAP, TransformContext())
    assert run(f"{HERE}:Holder.transform", CONFIG_MAP)["metadata"]["labels"]["plugged"] == "yes"


def test_a_plugin_that_edits_its_input_cannot_change_the_object_kbundle_holds() -> None:
    obj = copy.deepcopy(CONFIG_MAP)
    result = run(f"{HERE}:edits_its_input", obj)
    assert result["metadata"]["name"] == "edited"
    assert obj == CONFIG_MAP


def test_a_failing_plugin_is_named_with_the_object_by_run_transforms() -> None:
    plugin = load_plugin(f"{HERE}:explodes")
    with pytest.raises(TransformError) as failed:
        run_transforms(CONFIG_MAP, [plugin], TransformContext())
    assert str(failed.value) == (
        f"transform {HERE}:explodes failed on ConfigMap shop/settings: "
        "ValueError: no spec to work on"
    )


def test_a_plugin_returning_something_else_fails_on_that_object() -> None:
    plugin = load_plugin(f"{HERE}:returns_text")
    with pytest.raises(TransformError) as failed:
        run_transforms(CONFIG_MAP, [plugin], TransformContext())
    assert str(failed.value) == (
        f"transform {HERE}:returns_text failed on ConfigMap shop/settings: "
        "TypeError: returned str, expected a dict, a list of dicts or None"
    )


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("add_label", "expected package.module:callable"),
        (f"{HERE}:", "expected package.module:callable"),
        (f"{HERE}:add-label", "expected package.module:callable"),
        ("no_such_plugin_module:transform", "cannot import no_such_plugin_module: "),
        (f"{HERE}:missing", f"{HERE} has no attribute 'missing'"),
        (f"{HERE}:Holder.missing", f"{HERE} has no attribute 'Holder.missing'"),
        (f"{HERE}:NOT_CALLABLE", "int object is not callable"),
        (f"{HERE}:NeedsArguments", "NeedsArguments() failed: TypeError: "),
    ],
)
def test_a_plugin_spec_that_cannot_load_is_refused_in_one_line(spec: str, reason: str) -> None:
    with pytest.raises(UsageError) as refused:
        load_plugin(spec)
    assert refused.value.message.startswith(f"plugin {spec}: {reason}"), refused.value.message
    assert "\n" not in refused.value.message


def test_a_plugin_module_that_raises_on_import_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kbundle_test_broken_plugin.py").write_text('raise RuntimeError("half-written")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError) as refused:
        load_plugin("kbundle_test_broken_plugin:transform")
    assert refused.value.message == (
        "plugin kbundle_test_broken_plugin:transform: cannot load: RuntimeError: half-written"
    )


# -- entry points: hand-made distributions --------------------------------------------------


def add_distribution(root: Path, name: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution (what pip leaves in site-packages), on ``root``."""
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"[{GROUP}]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for hand-made distributions."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_all_entry_points_are_found_sorted_by_name(site: Path) -> None:
    add_distribution(site, "kbundle-test-zeta", {"test-zeta": f"{HERE}:add_label"})
    add_distribution(site, "kbundle-test-alpha", {"test-alpha": f"{HERE}:Counter"})
    names = [plugin.name for plugin in entry_point_plugins()]
    assert names == sorted(names)
    assert {"test-alpha", "test-zeta"} <= set(names)


def test_named_entry_points_come_in_the_order_given(site: Path) -> None:
    add_distribution(
        site,
        "kbundle-test-both",
        {"test-zeta": f"{HERE}:add_label", "test-alpha": f"{HERE}:drop_everything"},
    )
    zeta, alpha = entry_point_plugins(["test-zeta", "test-alpha"])
    assert describe(zeta) == {"name": "test-zeta", "plugin": f"{HERE}:add_label"}
    assert describe(alpha) == {"name": "test-alpha", "plugin": f"{HERE}:drop_everything"}
    assert alpha(CONFIG_MAP, TransformContext()) is None


def test_an_entry_point_that_is_not_installed_is_refused(site: Path) -> None:
    add_distribution(site, "kbundle-test-one", {"test-one": f"{HERE}:add_label"})
    with pytest.raises(UsageError) as refused:
        entry_point_plugins(["test-two"])
    assert refused.value.message.startswith(
        "plugin test-two: no entry point 'test-two' in group kbundle.transforms (installed: "
    )
    assert "test-one" in refused.value.message


def test_an_entry_point_offered_twice_is_refused(site: Path) -> None:
    add_distribution(site, "kbundle-test-first", {"test-twice": f"{HERE}:add_label"})
    add_distribution(site, "kbundle-test-second", {"test-twice": f"{HERE}:Counter"})
    with pytest.raises(UsageError) as refused:
        entry_point_plugins(["test-twice"])
    assert refused.value.message == (
        "plugin test-twice: offered by more than one package "
        "(kbundle-test-first, kbundle-test-second); uninstall one"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"{HERE}:missing", "cannot load: AttributeError: "),
        ("no_such_plugin_module:transform", "cannot load: ModuleNotFoundError: "),
        (f"{HERE}:NOT_CALLABLE", "int object is not callable"),
    ],
)
def test_an_entry_point_that_fails_to_load_is_refused_in_one_line(
    site: Path, value: str, reason: str
) -> None:
    add_distribution(site, "kbundle-test-broken", {"test-broken": value})
    with pytest.raises(UsageError) as refused:
        entry_point_plugins(["test-broken"])
    message = refused.value.message
    assert message.startswith("plugin test-broken"), message
    assert reason in message
    assert "\n" not in message


# -- entry points: the example package, installed by pip ------------------------------------


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-build-isolation --target`` of the example, offline."""
    root = tmp_path_factory.mktemp("example-plugin")
    source = root / "source"
    # pip builds in the source tree (build/, *.egg-info): build a copy, keep fixtures clean.
    shutil.copytree(
        EXAMPLE_PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    site = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-build-isolation", "--no-index", "--no-deps", "--target", str(site)]
    done = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        hint = ""
        if "bdist_wheel" in done.stderr:
            hint = "\nsetuptools older than 70.1 needs the `wheel` package to build wheels"
        pytest.fail(f"pip could not install the example plugin:\n{done.stderr[-3000:]}{hint}")
    return site


@pytest.fixture
def example_installed(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(example_site))
    yield example_site
    sys.modules.pop("kbundle_example_plugin", None)


def test_the_example_package_installs_its_entry_point(example_installed: Path) -> None:
    [plugin] = entry_point_plugins(["example"])
    assert describe(plugin) == {"name": "example", "plugin": "kbundle_example_plugin:transform"}
    assert "example" in [p.name for p in entry_point_plugins()]


def test_the_example_plugin_labels_objects_and_records_it(example_installed: Path) -> None:
    [plugin] = entry_point_plugins(["example"])
    context = TransformContext()
    result = plugin(CONFIG_MAP, context)
    assert isinstance(result, dict)
    assert result["metadata"]["labels"] == {"app": "api", IMPORTED_BY: "example-plugin"}
    assert IMPORTED_BY not in CONFIG_MAP["metadata"]["labels"]
    [rewrite] = context.rewrites
    assert (rewrite.transform, str(rewrite.ref)) == ("example", "ConfigMap shop/settings")
    assert (rewrite.before, rewrite.after) == ("(absent)", "example-plugin")


def test_the_example_plugin_drops_config_maps_marked_skip(example_installed: Path) -> None:
    [plugin] = entry_point_plugins(["example"])
    skipped = copy.deepcopy(CONFIG_MAP)
    skipped["metadata"]["labels"]["example.kbundle.dev/skip"] = "true"
    assert run_transforms(skipped, [plugin], TransformContext()) == []
    secret = {**skipped, "kind": "Secret"}  # only ConfigMaps are ever skipped
    [kept] = run_transforms(secret, [plugin], TransformContext())
    assert kept["metadata"]["labels"][IMPORTED_BY] == "example-plugin"
