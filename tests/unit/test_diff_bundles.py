"""``diff_bundles``: two bundles compared offline, object by object (``kbundle diff A B``)."""

from __future__ import annotations

import base64
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.secret_encryption import SecretKey
from kbundle.core.errors import ExitCode, IntegrityError, UsageError
from kbundle.core.model import (
    SECRETS_ENCRYPTED,
    Object,
    ObjectRef,
    SecretsInfo,
    SelectionInfo,
)
from kbundle.diff.compare import compare
from kbundle.diff.model import DiffStatus
from kbundle.transforms.spec import TransformSpec
from kbundle.verbs.diff_bundles import DiffBundlesOptions, DiffResult, diff_bundles
from kbundle.verbs.sign import KeygenOptions, SignOptions, keygen, sign
from kbundle.verbs.transform import TransformOptions, transform
from tests.bundle_samples import CANARY, CONFIGMAPS, NAMESPACES, write_bundle
from tests.objects import sample_app

PASSPHRASE = b"correct horse battery staple"


def bundle_of(path: Path, objects: list[Object], **manifest: Any) -> Path:
    selected = sorted({o["metadata"].get("namespace") or "shop" for o in objects})
    manifest.setdefault("selection", SelectionInfo(namespaces=tuple(selected)))
    write_bundle(path, [(5, "everything", objects)], **manifest)
    return path


def run(before: Path, after: Path, **options: Any) -> DiffResult:
    return diff_bundles(DiffBundlesOptions(before, after, **options))


def statuses(result: DiffResult) -> dict[ObjectRef, DiffStatus]:
    return {diff.ref: diff.status for diff in result.report.objects}


def secret(value: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "data": {"password": base64.b64encode(value.encode()).decode()},
    }


def encrypted_bundle(path: Path, objects: list[Object]) -> Path:
    """``objects`` with their Secrets sealed as export seals them (a fresh salt each time)."""
    key, info = SecretKey.create(PASSPHRASE)
    sealed = [key.seal(o) if o["kind"] == "Secret" else o for o in objects]
    count = sum(o["kind"] == "Secret" for o in objects)
    return bundle_of(path, sealed, secrets=SecretsInfo(SECRETS_ENCRYPTED, count, info.to_dict()))


# -- pairing and exit codes -----------------------------------------------------------------


def test_two_bundles_one_changed_object_apart_differ_by_that_object_only(tmp_path: Path) -> None:
    objects = sample_app()
    changed = copy.deepcopy(objects)
    (api,) = [o for o in changed if o["kind"] == "Deployment" and o["metadata"]["name"] == "api"]
    api["spec"]["replicas"] = 7
    result = run(
        bundle_of(tmp_path / "a.kbundle", objects), bundle_of(tmp_path / "b.kbundle", changed)
    )
    report = result.report
    assert [d.ref for d in report.objects if d.status is not DiffStatus.UNCHANGED] == [
        ObjectRef("apps", "Deployment", "shop", "api")
    ]
    (diff,) = [d for d in report.objects if d.status is DiffStatus.CHANGE]
    assert [(c.path, c.after) for c in diff.changes] == [("spec.replicas", "7")]
    assert report.totals()[DiffStatus.UNCHANGED] == len(objects) - 1
    assert (report.before_label, report.after_label) == (
        str(tmp_path / "a.kbundle"),
        str(tmp_path / "b.kbundle"),
    )
    assert result.exit_code == 1


def test_a_bundle_compared_with_itself_does_not_differ(tmp_path: Path) -> None:
    path = bundle_of(tmp_path / "a.kbundle", sample_app())
    result = run(path, path)
    assert set(statuses(result).values()) == {DiffStatus.UNCHANGED}
    assert result.exit_code is ExitCode.OK


def test_objects_pair_by_identity_added_and_removed_ones_sorted_with_the_rest(
    tmp_path: Path,
) -> None:
    web, app = CONFIGMAPS[1], CONFIGMAPS[0]
    before = bundle_of(tmp_path / "a.kbundle", [*NAMESPACES, web])
    after = bundle_of(tmp_path / "b.kbundle", [*NAMESPACES, app])
    result = run(before, after)
    assert list(statuses(result).items()) == [
        (ObjectRef("", "ConfigMap", "shop", "app"), DiffStatus.CREATE),
        (ObjectRef("", "ConfigMap", "shop", "web"), DiffStatus.REMOVE),
        (ObjectRef("", "Namespace", "", "shop"), DiffStatus.UNCHANGED),
    ]


def test_the_same_object_at_another_api_version_is_paired_and_compared(tmp_path: Path) -> None:
    cron = next(o for o in sample_app() if o["kind"] == "CronJob")
    newer = {**copy.deepcopy(cron), "apiVersion": "batch/v1"}
    result = run(
        bundle_of(tmp_path / "a.kbundle", [cron]), bundle_of(tmp_path / "b.kbundle", [newer])
    )
    (diff,) = result.report.objects
    assert (diff.status, diff.api_version) == (DiffStatus.CHANGE, "batch/v1")
    assert [c.path for c in diff.changes] == ["apiVersion"]


def test_both_bundles_from_one_stream_is_refused() -> None:
    stream = io.BytesIO(b"")
    with pytest.raises(UsageError, match="only one of the two bundles"):
        diff_bundles(DiffBundlesOptions(stream, stream))


def test_a_missing_bundle_file_is_named(tmp_path: Path) -> None:
    present = bundle_of(tmp_path / "a.kbundle", NAMESPACES)
    with pytest.raises(UsageError, match=r"b\.kbundle: no such bundle file"):
        run(present, tmp_path / "b.kbundle")


def test_a_required_signature_is_required_of_both_bundles(tmp_path: Path) -> None:
    keys = keygen(KeygenOptions(tmp_path / "team.key"))
    signed = bundle_of(tmp_path / "a.kbundle", NAMESPACES)
    sign(SignOptions(signed, keys.private_key))
    unsigned = bundle_of(tmp_path / "b.kbundle", NAMESPACES)
    trusted = (keys.public_key,)
    assert not run(signed, signed, require_signature=trusted).report.differs
    with pytest.raises(IntegrityError, match=r"b\.kbundle: the bundle is not signed"):
        run(signed, unsigned, require_signature=trusted)


# -- transforms -----------------------------------------------------------------------------


def test_a_bundle_and_its_set_label_transform_differ_by_exactly_the_rewritten_labels(
    tmp_path: Path,
) -> None:
    before = bundle_of(tmp_path / "a.kbundle", sample_app())
    after = tmp_path / "b.kbundle"
    rewritten = transform(
        TransformOptions(before, after, (TransformSpec("set-labels", {"labels": {"env": "prod"}}),))
    )
    expected: dict[ObjectRef, set[str]] = {}
    for rewrite in rewritten.rewrites:
        expected.setdefault(rewrite.ref, set()).add(rewrite.path)
    result = run(before, after)
    found = {d.ref: {c.path for c in d.changes} for d in result.report.objects if d.changes}
    assert found == expected
    assert len(found) == len(sample_app())
    assert all(paths == {"metadata.labels.env"} for paths in found.values())
    assert {d.status for d in result.report.objects} == {DiffStatus.CHANGE}


def test_a_bundle_and_its_map_namespace_transform_differ_by_exactly_the_rewritten_fields(
    tmp_path: Path,
) -> None:
    objects = sample_app()
    before = bundle_of(tmp_path / "a.kbundle", objects)
    after = tmp_path / "b.kbundle"
    mapping = {"shop": "shop-prod"}
    rewritten = transform(
        TransformOptions(before, after, (TransformSpec("map-namespace", {"mapping": mapping}),))
    )
    expected: dict[ObjectRef, set[str]] = {}
    for rewrite in rewritten.rewrites:
        expected.setdefault(rewrite.ref, set()).add(rewrite.path)

    def moved(ref: ObjectRef) -> ObjectRef:
        if ref.kind == "Namespace" and ref.group == "":
            return ObjectRef("", "Namespace", "", mapping.get(ref.name, ref.name))
        return ObjectRef(ref.group, ref.kind, mapping.get(ref.namespace, ref.namespace), ref.name)

    result = run(before, after)
    by_status = statuses(result)
    sources = {ObjectRef.of(o) for o in objects}
    renamed = {ref for ref in sources if moved(ref) != ref}
    assert {ref for ref, s in by_status.items() if s is DiffStatus.REMOVE} == renamed
    assert {ref for ref, s in by_status.items() if s is DiffStatus.CREATE} == {
        moved(ref) for ref in renamed
    }
    changed = {ref for ref, s in by_status.items() if s is DiffStatus.CHANGE}
    assert changed == {ref for ref in expected if ref not in renamed}
    assert changed  # the ClusterRoleBinding's subject at least
    # every object, moved or not, differs from its counterpart by exactly its rewrites
    transformed = {ObjectRef.of(o): o for o in _objects_of(after)}
    for obj in objects:
        ref = ObjectRef.of(obj)
        diff = compare(
            ref, obj["apiVersion"], obj, transformed[moved(ref)], before_label="a", after_label="b"
        )
        assert {c.path for c in diff.changes} == expected.get(ref, set()), ref


def _objects_of(path: Path) -> list[Object]:
    from kbundle.bundle.trust import accept_bundle  # noqa: PLC0415

    ready = accept_bundle(path, path.parent / f"{path.name}.open")
    return [o for e in ready.bundle.entries for o in ready.bundle.documents(e)]


# -- Secrets --------------------------------------------------------------------------------


def test_without_the_passphrase_sealed_secrets_are_not_compared_and_the_rest_is(
    tmp_path: Path,
) -> None:
    objects = [*NAMESPACES, CONFIGMAPS[0], secret(CANARY)]
    before = encrypted_bundle(tmp_path / "a.kbundle", objects)
    after = encrypted_bundle(tmp_path / "b.kbundle", objects)
    result = run(before, after)
    assert list(statuses(result).values()) == [
        DiffStatus.UNCHANGED,
        DiffStatus.UNCHANGED,
        DiffStatus.NOT_COMPARED,
    ]
    (sealed,) = [d for d in result.report.objects if d.status is DiffStatus.NOT_COMPARED]
    assert "give the passphrase to compare it" in sealed.message
    assert result.exit_code == 1  # nothing honest can be said: not "no difference"
    opened = run(before, after, passphrase=PassphraseSource(value=PASSPHRASE))
    assert not opened.report.differs


def test_with_the_passphrase_a_changed_secret_shows_its_key_and_no_value(tmp_path: Path) -> None:
    other = "kbundle-canary-other-91c2"
    before = encrypted_bundle(tmp_path / "a.kbundle", [*NAMESPACES, secret(CANARY)])
    after = encrypted_bundle(tmp_path / "b.kbundle", [*NAMESPACES, secret(other)])
    result = run(before, after, passphrase=PassphraseSource(value=PASSPHRASE))
    (diff,) = [d for d in result.report.objects if d.status is DiffStatus.CHANGE]
    assert [c.path for c in diff.changes] == ["data.password"]
    shown = json.dumps(result.report.to_dict()) + repr(result)
    for value in (CANARY, other):
        assert value not in shown
        assert base64.b64encode(value.encode()).decode() not in shown


def test_a_plaintext_bundle_against_its_encrypted_twin_compares_once_opened(
    tmp_path: Path,
) -> None:
    objects = [*NAMESPACES, secret(CANARY)]
    plain = bundle_of(tmp_path / "a.kbundle", objects)
    sealed = encrypted_bundle(tmp_path / "b.kbundle", objects)
    closed = run(plain, sealed)
    (diff,) = [d for d in closed.report.objects if d.ref.kind == "Secret"]
    assert diff.status is DiffStatus.NOT_COMPARED
    assert diff.message == f"encrypted in {sealed}: give the passphrase to compare it"
    assert not run(plain, sealed, passphrase=PassphraseSource(value=PASSPHRASE)).report.differs
