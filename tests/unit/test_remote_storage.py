"""Object storage without a server: what storage options become, which endpoint is used,
how the backends' errors read, the missing extra, and that an upload cut short commits
nothing (against a stand-in for fsspec's buffered files)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kbundle.core.errors import RemoteError, UsageError
from kbundle.remote import storage
from kbundle.remote.refs import RemoteOptions, StorageRef, parse_location
from kbundle.remote.storage_errors import Failure, classify, storage_error
from kbundle.remote.storage_options import (
    aws_endpoint,
    backend_options,
    convert_value,
    endpoint_shown,
)

S3 = StorageRef("s3://b/k", "s3")
GS = StorageRef("gs://b/k", "gs")
AZ = StorageRef("az://c/k", "az")


# --- --storage-option values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("5242880", 5242880),
        ("-1", -1),
        ("1.5", 1.5),
        ("0123", "0123"),
        ('"12345"', "12345"),
        ("null", None),
        ('{"retries": {"max_attempts": 1}}', {"retries": {"max_attempts": 1}}),
        ("[1, 2]", [1, 2]),
        ("NaN", "NaN"),
        ("{not json", "{not json"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("eu-west-1", "eu-west-1"),
        ("", ""),
    ],
)
def test_storage_option_values_become_python_values(text: str, value: Any) -> None:
    assert convert_value(text) == value
    assert type(convert_value(text)) is type(value)


def test_storage_option_keys_must_be_identifiers() -> None:
    with pytest.raises(UsageError, match="'client-kwargs': KEY must be a Python identifier"):
        backend_options(S3, {"client-kwargs": "{}"}, {})


def test_storage_options_go_to_the_backend_converted() -> None:
    kwargs = backend_options(S3, {"anon": "true", "default_block_size": "5242880"}, {})
    assert kwargs == {"anon": True, "default_block_size": 5242880}


# --- endpoints ----------------------------------------------------------------------------


def test_aws_endpoint_url_reaches_s3fs_as_its_endpoint() -> None:
    kwargs = backend_options(S3, {}, {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert kwargs == {"endpoint_url": "http://127.0.0.1:5000"}


def test_service_specific_endpoint_wins_over_the_general_one() -> None:
    environ = {"AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_S3": "http://s3-only"}
    assert aws_endpoint(environ) == "http://s3-only"


def test_ignore_configured_endpoint_urls_is_honoured() -> None:
    environ = {"AWS_ENDPOINT_URL": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    assert aws_endpoint(environ) is None
    assert backend_options(S3, {}, environ) == {}


def test_an_endpoint_option_wins_over_the_environment() -> None:
    environ = {"AWS_ENDPOINT_URL": "http://from-env"}
    assert backend_options(S3, {"endpoint_url": "http://flag"}, environ) == {
        "endpoint_url": "http://flag"
    }
    nested = backend_options(S3, {"client_kwargs": '{"endpoint_url": "http://flag"}'}, environ)
    assert nested == {"client_kwargs": {"endpoint_url": "http://flag"}}


def test_aws_variables_do_not_touch_other_schemes() -> None:
    assert backend_options(GS, {}, {"AWS_ENDPOINT_URL": "http://x"}) == {}


def test_endpoint_in_messages_never_shows_a_password() -> None:
    shown = endpoint_shown(S3, {"endpoint_url": "https://user:pa55word@host:9000/"}, {})
    assert shown == "https://host:9000/"


def test_endpoint_in_messages_names_the_default_service() -> None:
    assert endpoint_shown(S3, {}, {}) == "AWS S3"
    assert endpoint_shown(GS, {}, {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:4443"}) == (
        "http://127.0.0.1:4443"
    )
    assert endpoint_shown(AZ, {"account_name": "acct"}, {}) == "https://acct.blob.core.windows.net"


# --- the backends' errors -----------------------------------------------------------------


class ClientError(Exception):
    """Shaped like botocore's: the service's error code in ``response``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code, "Message": "..."}}


class NoCredentialsError(Exception):
    pass


class EndpointConnectionError(Exception):
    pass


class ResourceNotFoundError(Exception):
    """Shaped like azure.core's."""

    def __init__(self, error_code: str) -> None:
        super().__init__("The specified resource does not exist.")
        self.error_code = error_code


def raised_from(outer: BaseException, cause: BaseException) -> BaseException:
    """``outer`` as a backend raises it: translated from the SDK's ``cause``."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except BaseException as error:
        return error


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (
            raised_from(
                FileNotFoundError("The specified bucket does not exist"),
                ClientError("NoSuchBucket"),
            ),
            Failure.NO_BUCKET,
        ),
        (raised_from(FileNotFoundError("b/k"), ClientError("404")), Failure.NOT_FOUND),
        (FileNotFoundError("b/k"), Failure.NOT_FOUND),
        (raised_from(PermissionError("Forbidden"), ClientError("403")), Failure.DENIED),
        (raised_from(PermissionError("x"), ClientError("InvalidAccessKeyId")), Failure.DENIED),
        (ClientError("AccessDenied"), Failure.DENIED),
        (NoCredentialsError("Unable to locate credentials"), Failure.NO_CREDENTIALS),
        (
            raised_from(EndpointConnectionError("x"), ConnectionRefusedError(111, "refused")),
            Failure.UNREACHABLE,
        ),
        (ConnectionRefusedError(111, "refused"), Failure.UNREACHABLE),
        (TypeError("__init__() got an unexpected keyword argument 'bogus'"), Failure.BAD_OPTION),
        (ResourceNotFoundError("ContainerNotFound"), Failure.NO_BUCKET),
        (ResourceNotFoundError("BlobNotFound"), Failure.NOT_FOUND),
        (ValueError("something else"), Failure.OTHER),
    ],
    ids=lambda value: value.name if isinstance(value, Failure) else type(value).__name__,
)
def test_backend_errors_are_classified(error: BaseException, failure: Failure) -> None:
    assert classify(error) is failure


def message_of(ref: StorageRef, failure: Failure, error: BaseException | None = None) -> str:
    made = storage_error(
        ref, "download", failure, error or Exception("x"), endpoint="http://127.0.0.1:9"
    )
    text = f"{made.message} ({made.hint})" if made.hint else made.message
    assert "\n" not in text
    return text


def test_a_missing_object_is_named() -> None:
    assert message_of(S3, Failure.NOT_FOUND).startswith("s3://b/k: no such object in bucket 'b'")


def test_a_missing_bucket_is_named_with_the_endpoint() -> None:
    text = message_of(S3, Failure.NO_BUCKET)
    assert text.startswith("s3://b/k: no such bucket 'b' at http://127.0.0.1:9")
    assert "container 'c'" in message_of(AZ, Failure.NO_BUCKET)


@pytest.mark.parametrize(
    ("ref", "source"),
    [(S3, "AWS_ACCESS_KEY_ID"), (GS, "GOOGLE_APPLICATION_CREDENTIALS"), (AZ, "AZURE_STORAGE")],
)
def test_access_denied_says_where_credentials_come_from(ref: StorageRef, source: str) -> None:
    for failure in (Failure.DENIED, Failure.NO_CREDENTIALS):
        text = message_of(ref, failure)
        assert text.startswith(f"{ref}: ")
        assert source in text


def test_an_unreachable_endpoint_is_named() -> None:
    assert message_of(S3, Failure.UNREACHABLE).startswith(
        "s3://b/k: cannot reach http://127.0.0.1:9 to download it"
    )


def test_an_unknown_option_is_a_usage_error_naming_it() -> None:
    error = TypeError("AioSession.__init__() got an unexpected keyword argument 'bogus'")
    made = storage_error(S3, "upload", Failure.BAD_OPTION, error, endpoint="AWS S3")
    assert isinstance(made, UsageError)
    assert made.message == "s3://b/k: --storage-option bogus is not an option of s3fs"


def test_unrecognised_failures_never_show_a_storage_option_value() -> None:
    error = OSError("signature mismatch for key AKIAEXAMPLE with secret s3cr3t-value\nmore")
    made = storage_error(
        S3, "upload", Failure.OTHER, error, endpoint="AWS S3", secrets=["s3cr3t-value"]
    )
    assert isinstance(made, RemoteError)
    assert "s3cr3t-value" not in made.message
    assert made.message == (
        "s3://b/k: upload failed: OSError: signature mismatch for key AKIAEXAMPLE with secret ***"
    )


# --- the missing extra --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [("s3://b/k", "s3fs", "s3"), ("gs://b/k", "gcsfs", "gcs"), ("az://c/k", "adlfs", "azure")],
)
def test_a_missing_backend_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import MODULE` now fails
    ref = parse_location(url)
    assert isinstance(ref, StorageRef)
    expected = f"{url} needs kbundle's {extra} extra: pip install 'kbundle[{extra}]'"
    bundle = tmp_path / "b.kbundle"
    bundle.write_bytes(b"x")
    attempts: list[Callable[[], object]] = [
        lambda: storage.upload(bundle, ref, RemoteOptions()),
        lambda: storage.download(ref, tmp_path / "in", RemoteOptions()),
        lambda: storage.open_head(ref, RemoteOptions()).__enter__(),
    ]
    for attempt in attempts:
        with pytest.raises(UsageError) as raised:
            attempt()
        assert raised.value.message == expected
    assert not (tmp_path / "in").exists()


def test_a_missing_fsspec_names_the_extra_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(UsageError, match=r"^s3://b/k needs kbundle's s3 extra"):
        storage.download(S3, Path("/nonexistent"), RemoteOptions())


def test_importing_the_storage_module_loads_no_fsspec() -> None:
    code = (
        "import sys, kbundle.remote.storage; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'botocore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == "[]"


# --- uploads cut short commit nothing (a stand-in for fsspec's buffered file) -------------


class FakeUpload:
    """What the code relies on in fsspec's AbstractBufferedFile: ``close()`` commits unless
    ``forced`` is set, ``discard()`` throws the staged parts away."""

    def __init__(self, store: dict[str, bytes], path: str, fail_at_write: int | None) -> None:
        self.store, self.path, self.fail_at_write = store, path, fail_at_write
        self.staged = bytearray()
        self.writes = 0
        self.forced = False
        self.closed = False
        self.discarded = False

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes == self.fail_at_write:
            raise ConnectionResetError(104, "Connection reset by peer")
        self.staged += data
        return len(data)

    def discard(self) -> None:
        self.discarded = True

    def close(self) -> None:
        if self.closed:
            return
        if not self.forced:
            self.store[self.path] = bytes(self.staged)  # the commit
        self.closed = True


class FakeFileSystem:
    def __init__(self, fail_at_write: int | None = None, served: bytes = b"") -> None:
        self.objects: dict[str, bytes] = {}
        self.opened: list[FakeUpload] = []
        self.fail_at_write = fail_at_write
        self.served = served

    def open(self, path: str, mode: str, **_: Any) -> FakeUpload:
        assert mode == "wb"
        upload = FakeUpload(self.objects, path, self.fail_at_write)
        self.opened.append(upload)
        return upload

    def info(self, path: str) -> dict[str, Any]:
        return {"type": "file", "size": len(self.served)}

    def get_file(self, path: str, local: str, callback: Any = None, **_: Any) -> None:
        Path(local).write_bytes(self.served[: len(self.served) // 2])  # cut short

    def exists(self, path: str) -> bool:
        return True


@pytest.fixture()
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeFileSystem]:
    made: dict[str, FakeFileSystem] = {"fs": FakeFileSystem()}
    module = SimpleNamespace(filesystem=lambda protocol, **kwargs: made["fs"])
    monkeypatch.setattr(storage, "_import_backend", lambda ref: module)
    return made


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "shop.kbundle"
    path.write_bytes(b"z" * (3 * storage.CHUNK + 17))
    return path


def test_a_whole_upload_is_committed_once(
    fake_backend: dict[str, FakeFileSystem], bundle: Path
) -> None:
    seen: list[tuple[int, int, str]] = []
    storage.upload(bundle, S3, RemoteOptions(), lambda *args: seen.append(args))
    assert fake_backend["fs"].objects == {"b/k": bundle.read_bytes()}
    assert seen[-1] == (bundle.stat().st_size, bundle.stat().st_size, "s3://b/k")


def test_a_failed_write_discards_the_upload_and_commits_nothing(
    fake_backend: dict[str, FakeFileSystem], bundle: Path
) -> None:
    fake_backend["fs"] = FakeFileSystem(fail_at_write=3)
    with pytest.raises(RemoteError, match=r"^s3://b/k: cannot reach AWS S3 to upload it"):
        storage.upload(bundle, S3, RemoteOptions())
    (sink,) = fake_backend["fs"].opened
    assert sink.discarded and sink.closed
    assert fake_backend["fs"].objects == {}


def test_an_interrupt_commits_nothing_and_stays_an_interrupt(
    fake_backend: dict[str, FakeFileSystem], bundle: Path
) -> None:
    def interrupt(done: int, total: int, what: str) -> None:
        if done > total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        storage.upload(bundle, S3, RemoteOptions(), interrupt)
    assert fake_backend["fs"].objects == {}
    assert fake_backend["fs"].opened[0].discarded


def test_the_callers_own_error_passes_through_untranslated(
    fake_backend: dict[str, FakeFileSystem], bundle: Path
) -> None:
    mine = FileNotFoundError("the progress bar's own problem")

    def progress(done: int, total: int, what: str) -> None:
        raise mine

    with pytest.raises(FileNotFoundError) as raised:
        storage.upload(bundle, S3, RemoteOptions(), progress)
    assert raised.value is mine
    assert fake_backend["fs"].objects == {}


def test_a_short_download_is_refused_and_removed(
    fake_backend: dict[str, FakeFileSystem], tmp_path: Path
) -> None:
    fake_backend["fs"] = FakeFileSystem(served=b"x" * 1000)
    with pytest.raises(RemoteError, match=r"^s3://b/k: the download stopped at 500 of 1000 bytes"):
        storage.download(S3, tmp_path / "in", RemoteOptions())
    assert list((tmp_path / "in").iterdir()) == []
    assert (tmp_path / "in").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("s3://b/dir/shop.kbundle", "shop.kbundle"),
        ("s3://b/shop v1.kbundle", "bundle.kbundle"),
        ("s3://b/..", "bundle.kbundle"),
        ("s3://b/dir/.hidden", "bundle.kbundle"),
    ],
)
def test_downloads_land_under_a_plain_name(url: str, name: str) -> None:
    assert storage._local_name(StorageRef(url, "s3")) == name
