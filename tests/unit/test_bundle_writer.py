"""The writer produces the same bytes for the same input, and a file that is whole or absent."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from kbundle.bundle import writer as writer_module
from kbundle.bundle.layout import CHECKSUMS, MANIFEST
from kbundle.bundle.rendering import render_object_file
from kbundle.bundle.writer import BundleWriter, created_at, manifest_yaml
from kbundle.bundle.yaml_codec import load_documents
from tests.bundle_samples import (
    CONFIGMAPS,
    DEPLOYMENTS,
    MTIME,
    NAMESPACES,
    add_sample_files,
    sample_manifest,
    tar_bytes,
    tar_members,
    write_sample_bundle,
)


def test_members_come_manifest_first_then_checksums_then_objects_by_path(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    names = [info.name for info, _ in tar_members((tmp_path / "b.kbundle").read_bytes())]
    assert names == [
        MANIFEST,
        CHECKSUMS,
        "objects/00-namespaces/core.v1.Namespace.yaml",
        "objects/06-configuration/core.v1.ConfigMap.yaml",
        "objects/09-workloads/apps.v1.Deployment.yaml",
    ]


def test_tar_headers_carry_nothing_about_the_writer(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    for info, _ in tar_members((tmp_path / "b.kbundle").read_bytes()):
        assert (info.mode, info.uid, info.gid, info.uname, info.gname) == (0o644, 0, 0, "", "")
        assert info.mtime == MTIME
        assert info.type == tarfile.REGTYPE


def test_same_objects_manifest_and_mtime_give_byte_identical_bundles(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "one.kbundle")
    write_sample_bundle(tmp_path / "two.kbundle")
    assert (tmp_path / "one.kbundle").read_bytes() == (tmp_path / "two.kbundle").read_bytes()
    write_sample_bundle(tmp_path / "later.kbundle", mtime=MTIME + 1)
    assert (tmp_path / "later.kbundle").read_bytes() != (tmp_path / "one.kbundle").read_bytes()


def test_entry_records_path_digest_size_and_count_of_the_rendered_file(tmp_path: Path) -> None:
    manifest = write_sample_bundle(tmp_path / "b.kbundle")
    contents = {
        info.name: data for info, data in tar_members((tmp_path / "b.kbundle").read_bytes())
    }
    deployment = manifest.files[0]
    assert deployment.path == "objects/09-workloads/apps.v1.Deployment.yaml"
    assert (deployment.api_version, deployment.kind, deployment.level) == (
        "apps/v1",
        "Deployment",
        9,
    )
    assert deployment.objects == 1
    assert deployment.size == len(contents[deployment.path])
    assert load_documents(contents[deployment.path]) == DEPLOYMENTS
    assert load_documents(contents["objects/06-configuration/core.v1.ConfigMap.yaml"]) == CONFIGMAPS


def test_manifest_member_is_the_manifest_in_to_dict_order(tmp_path: Path) -> None:
    manifest = write_sample_bundle(tmp_path / "b.kbundle")
    contents = dict((i.name, d) for i, d in tar_members((tmp_path / "b.kbundle").read_bytes()))
    assert contents[MANIFEST] == manifest_yaml(manifest)
    [document] = load_documents(contents[MANIFEST])
    assert document == manifest.to_dict()
    assert list(document) == list(manifest.to_dict())


def test_checksums_pass_sha256sum_in_the_extracted_bundle(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    (tmp_path / "b.tar").write_bytes(tar_bytes((tmp_path / "b.kbundle").read_bytes()))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(tmp_path / "b.tar"), "-C", str(out)], check=True)
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", CHECKSUMS],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 4


def test_system_tar_lists_every_member_as_a_regular_file(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    listing = subprocess.run(
        ["tar", "-tvf", "-"],
        input=tar_bytes((tmp_path / "b.kbundle").read_bytes()),
        capture_output=True,
        check=True,
    ).stdout.decode()
    lines = listing.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("-rw-r--r-- 0/0") for line in lines)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd command is not installed")
def test_zstd_command_decompresses_the_bundle(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    result = subprocess.run(
        ["zstd", "-d", "-c", str(tmp_path / "b.kbundle")], capture_output=True, check=True
    )
    assert result.stdout == tar_bytes((tmp_path / "b.kbundle").read_bytes())


def test_bundle_is_one_zstd_frame_with_a_content_checksum(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    assert zstandard.get_frame_parameters((tmp_path / "b.kbundle").read_bytes()).has_checksum


def test_core_group_is_spelled_core_and_named_groups_keep_their_name(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer:
        entries = add_sample_files(writer)
    assert entries[1].path == "objects/00-namespaces/core.v1.Namespace.yaml"
    assert entries[0].path == "objects/09-workloads/apps.v1.Deployment.yaml"


def test_adding_the_same_path_twice_is_refused(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer:
        add_sample_files(writer)
        with pytest.raises(ValueError, match="already added"):
            writer.add_object_file(
                level=0,
                level_name="namespaces",
                api_version="v1",
                kind="Namespace",
                namespaced=False,
                objects=[],
            )


def test_objects_of_another_kind_are_refused(tmp_path: Path) -> None:
    with (
        BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer,
        pytest.raises(ValueError, match="got v1 ConfigMap"),
    ):
        writer.add_object_file(
            level=0,
            level_name="namespaces",
            api_version="v1",
            kind="Namespace",
            namespaced=False,
            objects=CONFIGMAPS,
        )


def test_a_name_the_layout_cannot_express_is_refused(tmp_path: Path) -> None:
    with (
        BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer,
        pytest.raises(ValueError, match="not a valid object file name"),
    ):
        writer.add_object_file(
            level=100,
            level_name="Bad Name",
            api_version="v1",
            kind="Namespace",
            namespaced=False,
            objects=NAMESPACES,
        )


def test_finish_refuses_a_manifest_whose_files_differ_from_those_added(tmp_path: Path) -> None:
    target = tmp_path / "b.kbundle"
    with BundleWriter(target, mtime=MTIME) as writer:
        entries = add_sample_files(writer)
        with pytest.raises(ValueError, match=r"objects/00-namespaces/core\.v1\.Namespace\.yaml"):
            writer.finish(sample_manifest(entries[:1] + entries[2:]))
    assert not target.exists()


def test_object_files_are_spooled_to_disk_not_kept_in_memory(tmp_path: Path) -> None:
    spool_parent = tmp_path / "spool"
    spool_parent.mkdir()
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME, tmp_dir=spool_parent) as writer:
        add_sample_files(writer)
        spooled = sorted(spool_parent.glob("kbundle-spool-*/*"))
        assert len(spooled) == 3
        assert load_documents(spooled[0].read_bytes()) == DEPLOYMENTS
    assert list(spool_parent.iterdir()) == []


def test_leaving_the_block_without_finish_leaves_no_file_and_no_spool(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME, tmp_dir=tmp_path) as writer:
        add_sample_files(writer)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_keeps_the_old_target_and_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.kbundle"
    target.write_bytes(b"previous bundle")
    calls = []

    def interrupt_on_third_member(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original(*args, **kwargs)

    original = tarfile.TarFile.addfile
    monkeypatch.setattr(tarfile.TarFile, "addfile", interrupt_on_third_member)
    with pytest.raises(KeyboardInterrupt), BundleWriter(target, mtime=MTIME) as writer:
        writer.finish(sample_manifest(add_sample_files(writer)))
    assert target.read_bytes() == b"previous bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.kbundle"]


def test_the_partial_file_is_hidden_and_named_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = writer_module._write_stream

    def spy(out: Any, members: Any, mtime: int, level: int) -> None:
        seen.extend(p.name for p in tmp_path.iterdir())
        original(out, members, mtime, level)

    monkeypatch.setattr(writer_module, "_write_stream", spy)
    write_sample_bundle(tmp_path / "b.kbundle")
    [partial] = seen
    assert partial.startswith(".b.kbundle.")
    assert partial.endswith(".partial")


def test_abort_removes_the_spool_and_closes_the_writer(tmp_path: Path) -> None:
    writer = BundleWriter(tmp_path / "b.kbundle", mtime=MTIME, tmp_dir=tmp_path)
    add_sample_files(writer)
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="finished or aborted"):
        add_sample_files(writer)


def test_writes_the_same_bytes_to_a_binary_stream(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    stream = io.BytesIO()
    with BundleWriter(stream, mtime=MTIME) as writer:
        writer.finish(sample_manifest(add_sample_files(writer)))
    assert stream.getvalue() == (tmp_path / "b.kbundle").read_bytes()


def test_created_at_is_rfc3339_utc_with_seconds() -> None:
    assert created_at(MTIME) == "2026-11-21T07:00:00Z"


def test_a_file_rendered_elsewhere_gives_the_bundle_add_object_file_gives(tmp_path: Path) -> None:
    """What an export's worker process renders into a reserved spool file makes the same
    bundle, byte for byte, as rendering it in the writer."""
    write_sample_bundle(tmp_path / "direct.kbundle")
    with BundleWriter(tmp_path / "reserved.kbundle", mtime=MTIME) as writer:
        entries = []
        for level, name, api_version, kind, namespaced, objects in (
            (9, "workloads", "apps/v1", "Deployment", True, DEPLOYMENTS),
            (0, "namespaces", "v1", "Namespace", False, NAMESPACES),
            (6, "configuration", "v1", "ConfigMap", True, CONFIGMAPS),
        ):
            path, out = writer.reserve_object_file(
                level=level, level_name=name, api_version=api_version, kind=kind
            )
            rendered = render_object_file(objects, api_version, kind, path, out)
            entries.append(
                writer.add_rendered_file(
                    path, namespaced=namespaced, level=level, rendered=rendered
                )
            )
        writer.finish(sample_manifest(tuple(entries)))
    direct = (tmp_path / "direct.kbundle").read_bytes()
    assert (tmp_path / "reserved.kbundle").read_bytes() == direct


def test_a_rendered_file_needs_its_reservation_and_is_added_once(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b.kbundle", mtime=MTIME) as writer:
        path, out = writer.reserve_object_file(
            level=0, level_name="namespaces", api_version="v1", kind="Namespace"
        )
        rendered = render_object_file(NAMESPACES, "v1", "Namespace", path, out)
        with pytest.raises(ValueError, match="not reserved"):
            writer.add_rendered_file(
                "objects/06-configuration/core.v1.ConfigMap.yaml",
                namespaced=True,
                level=6,
                rendered=rendered,
            )
        writer.add_rendered_file(path, namespaced=False, level=0, rendered=rendered)
        with pytest.raises(ValueError, match="added already"):
            writer.add_rendered_file(path, namespaced=False, level=0, rendered=rendered)
        with pytest.raises(ValueError, match="already added"):
            writer.reserve_object_file(
                level=0, level_name="namespaces", api_version="v1", kind="Namespace"
            )
