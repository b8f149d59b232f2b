"""Reading refuses every archive trick and every bomb while streaming, naming the member."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from kbundle.bundle.layout import CHECKSUMS, MANIFEST
from kbundle.bundle.reader import DEFAULT_LIMITS, Limits, extract_bundle, read_manifest
from kbundle.core.errors import BundleFormatError
from tests.bundle_samples import (
    Entry,
    compress,
    pack,
    pack_tar,
    regular,
    special,
)


def one_line_error(action: Callable[[], Any]) -> str:
    with pytest.raises(BundleFormatError) as caught:
        action()
    message = caught.value.message
    assert "\n" not in message
    return message


def extract_error(tmp_path: Path, data: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """The message of the error extracting ``data`` into a fresh folder raises."""
    into = Path(tempfile.mkdtemp(dir=tmp_path))
    return one_line_error(lambda: extract_bundle(io.BytesIO(data), into, limits))


GOOD = [regular(MANIFEST, b"kind: KbundleManifest\n"), regular(CHECKSUMS, b"")]


def test_extracts_every_member_in_order_with_its_digest_and_size(tmp_path: Path) -> None:
    data = pack([*GOOD, regular("objects/00-a/core.v1.Namespace.yaml", b"abc")])
    bundle = tmp_path / "b.kbundle"
    bundle.write_bytes(data)
    members = extract_bundle(bundle, tmp_path / "out")
    assert [m.name for m in members] == [
        MANIFEST,
        CHECKSUMS,
        "objects/00-a/core.v1.Namespace.yaml",
    ]
    last = members[-1]
    assert last.path == tmp_path / "out" / "objects" / "00-a" / "core.v1.Namespace.yaml"
    assert last.path.read_bytes() == b"abc"
    assert last.size == 3
    assert last.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_extracted_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    members = extract_bundle(io.BytesIO(pack(GOOD)), tmp_path / "out")
    assert stat.S_IMODE(members[0].path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700


def test_refuses_to_extract_into_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "left-over").write_text("x")
    with pytest.raises(ValueError, match="must be empty"):
        extract_bundle(io.BytesIO(pack(GOOD)), tmp_path / "out")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd", "absolute path"),
        ("../x", "'..' in the path"),
        ("objects/../../x", "'..' in the path"),
        ("a//b", "not normalised"),
        ("./a", "not normalised"),
        ("a/./b", "not normalised"),
        ("a\\b", "backslash"),
        ("a\nb", "control"),
        ("x" * 300, "too long"),
    ],
)
def test_rejects_unsafe_member_names(tmp_path: Path, name: str, reason: str) -> None:
    message = extract_error(tmp_path, pack([*GOOD, regular(name)]))
    assert reason in message
    assert repr(name)[1:20] in message or name in message
    assert not (tmp_path / "etc").exists()
    assert not (tmp_path / "x").exists()


def test_rejects_a_nul_character_hidden_in_a_pax_path(tmp_path: Path) -> None:
    message = extract_error(tmp_path, pack([*GOOD, regular("a", path="a\x00b")]))
    assert "NUL" in message


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        (special("objects", tarfile.DIRTYPE), "a directory"),
        (special("objects/link.yaml", tarfile.SYMTYPE, "/etc/passwd"), "a symbolic link"),
        (special("objects/hard.yaml", tarfile.LNKTYPE, MANIFEST), "a hard link"),
        (special("objects/fifo", tarfile.FIFOTYPE), "a FIFO"),
        (special("objects/dev", tarfile.CHRTYPE), "a character device"),
    ],
)
def test_rejects_members_that_are_not_regular_files(
    tmp_path: Path, entry: Entry, what: str
) -> None:
    message = extract_error(tmp_path, pack([*GOOD, entry]))
    assert message == f"member {entry[0].name} is {what}; only regular files are allowed"
    assert not (tmp_path / "out" / "objects").exists()


def test_rejects_a_duplicate_member(tmp_path: Path) -> None:
    message = extract_error(tmp_path, pack([*GOOD, regular(MANIFEST, b"again")]))
    assert message == f"member {MANIFEST} appears more than once"


def test_rejects_a_member_whose_path_runs_through_another_member(tmp_path: Path) -> None:
    message = extract_error(tmp_path, pack([*GOOD, regular(f"{MANIFEST}/x")]))
    assert f"member {MANIFEST}/x clashes" in message


def test_rejects_a_member_over_the_member_size_limit(tmp_path: Path) -> None:
    data = pack([*GOOD, regular("big", b"x" * 2000)])
    message = extract_error(tmp_path, data, Limits(max_member_size=1000))
    assert message == "member big is 2000 bytes, over the limit of 1000 bytes per member"
    assert not (tmp_path / "out" / "big").exists()


def test_rejects_a_bundle_over_the_total_size_limit(tmp_path: Path) -> None:
    members = [regular(f"m{i}", b"x" * 400) for i in range(5)]
    message = extract_error(tmp_path, pack(members), Limits(max_total_size=1000))
    assert message == "member m2 takes the bundle over the limit of 1000 uncompressed bytes"


def test_rejects_too_many_members(tmp_path: Path) -> None:
    members = [regular(f"m{i}") for i in range(4)]
    message = extract_error(tmp_path, pack(members), Limits(max_members=3))
    assert message == "member m3: more than 3 members"


def test_a_decompression_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    header = tarfile.TarInfo("bomb")
    header.size = 64 << 20
    compressor = zstandard.ZstdCompressor(level=1).compressobj()
    chunks = [compressor.compress(header.tobuf(tarfile.PAX_FORMAT))]
    chunks += [compressor.compress(bytes(1 << 20)) for _ in range(64)]
    bomb = b"".join(chunks) + compressor.flush()
    assert len(bomb) < 64 << 10
    tracemalloc.start()
    try:
        message = extract_error(tmp_path, bomb, Limits(max_total_size=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == "member bomb takes the bundle over the limit of 1048576 uncompressed bytes"
    assert peak < 24 << 20


def test_a_huge_pax_header_is_refused_while_streaming(tmp_path: Path) -> None:
    data = pack([regular(MANIFEST, comment="x" * (2 << 20))])
    assert "tar header is larger than 1 MiB" in extract_error(tmp_path, data)


def test_data_hidden_after_the_end_of_archive_is_refused(tmp_path: Path) -> None:
    tar = pack_tar(GOOD)
    assert "data after the end of the tar archive" in extract_error(
        tmp_path, compress(tar + b"\x00" * 1024 + b"hidden" + b"\x00" * 506)
    )
    assert "data after the end of the tar archive" in extract_error(
        tmp_path, compress(tar + bytes(1 << 20))
    )


def test_rejects_input_that_is_not_zstd(tmp_path: Path) -> None:
    message = extract_error(tmp_path, gzip.compress(pack_tar(GOOD)))
    assert message.startswith("not a kbundle file: not zstd-compressed")
    assert extract_error(tmp_path, pack_tar(GOOD)).startswith("not a kbundle file:")


def test_rejects_empty_input(tmp_path: Path) -> None:
    assert extract_error(tmp_path, b"").startswith("not a kbundle file: the input is empty")


def test_rejects_zstd_data_that_is_not_a_tar(tmp_path: Path) -> None:
    message = extract_error(tmp_path, compress(b"just some text\n" * 100))
    assert message.startswith("not a kbundle file: ")
    assert "tar" in message


@pytest.mark.parametrize("cut", [1, 4, 9, 100, 300])
def test_rejects_a_truncated_stream(tmp_path: Path, cut: int) -> None:
    data = pack([*GOOD, regular("objects/00-a/core.v1.Namespace.yaml", bytes(range(256)) * 40)])
    message = extract_error(tmp_path, data[:-cut])
    assert message.startswith("not a kbundle file: ")
    assert "truncated" in message


def test_rejects_a_tar_cut_short_inside_a_complete_zstd_frame(tmp_path: Path) -> None:
    tar = pack_tar([*GOOD, regular("objects/x", b"y" * 5000)])
    message = extract_error(tmp_path, compress(tar[:3000]))
    assert message.startswith("not a kbundle file: ")
    assert "objects/x" in message


def test_rejects_a_tar_without_its_end_of_archive_marker(tmp_path: Path) -> None:
    tar = pack_tar(GOOD)
    end = 512 * 3  # the manifest's header and data, the (empty) checksums' header
    message = extract_error(tmp_path, compress(tar[:end]))
    assert message == f"not a kbundle file: the tar stream is truncated (after member {CHECKSUMS})"


def test_a_corrupt_header_after_the_first_member_is_an_error_not_the_end(tmp_path: Path) -> None:
    tar = bytearray(pack_tar([*GOOD, regular("objects/x")]))
    tar[512 * 2 + 3] ^= 0x01  # the name of the second member: its header checksum no longer holds
    message = extract_error(tmp_path, compress(bytes(tar)))
    assert message.startswith("not a kbundle file: corrupt tar header")
    assert f"after member {MANIFEST}" in message


def test_rejects_data_after_the_zstd_frame(tmp_path: Path) -> None:
    data = pack(GOOD)
    assert "after the zstd frame" in extract_error(tmp_path, data + b"junk")
    assert "after the zstd frame" in extract_error(tmp_path, data + data)


def test_rejects_corrupt_compressed_data(tmp_path: Path) -> None:
    data = bytearray(pack([*GOOD, regular("objects/x", bytes(range(256)) * 20)]))
    data[len(data) // 2] ^= 0x40
    assert extract_error(tmp_path, bytes(data)).startswith("not a kbundle file: ")


def test_read_manifest_parses_the_first_member(tmp_path: Path) -> None:
    data = pack([regular(MANIFEST, b"kind: KbundleManifest\nformatVersion: 1.0.0\n")])
    assert read_manifest(io.BytesIO(data)) == {"kind": "KbundleManifest", "formatVersion": "1.0.0"}


def test_read_manifest_stops_after_the_first_member(tmp_path: Path) -> None:
    data = pack([regular(MANIFEST, b"kind: KbundleManifest\n"), regular("big", b"x" * 5000)])
    limits = Limits(max_member_size=1000)
    assert read_manifest(io.BytesIO(data), limits) == {"kind": "KbundleManifest"}
    assert "member big" in extract_error(tmp_path, data, limits)


def test_read_manifest_requires_the_manifest_to_come_first() -> None:
    data = pack([regular(CHECKSUMS, b""), regular(MANIFEST, b"kind: KbundleManifest\n")])
    message = one_line_error(lambda: read_manifest(io.BytesIO(data)))
    assert message == f"not a kbundle file: the first member is {CHECKSUMS}, not {MANIFEST}"


def test_read_manifest_reports_invalid_yaml_in_one_line() -> None:
    data = pack([regular(MANIFEST, b"kind: [unclosed\n")])
    message = one_line_error(lambda: read_manifest(io.BytesIO(data)))
    assert message.startswith(f"{MANIFEST} is not valid YAML: ")
