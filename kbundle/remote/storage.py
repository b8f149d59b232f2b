"""Bundles in object storage, ``s3://``, ``gs://`` and ``az://``: uploaded from and downloaded
to a local file, streamed both ways, through fsspec and the backend of each scheme (s3fs,
gcsfs, adlfs: kbundle's extras ``s3``, ``gcs``, ``azure``).

fsspec and the backends are imported inside these functions only: importing them takes a
good part of a second, and commands on local files must not pay it.

Nothing that looks complete appears under a key before the whole bundle is there: each
backend's own staged upload is used and committed only by the final ``close()``, and thrown
away on any error or interrupt (S3: a multipart upload, completed at the end and aborted
otherwise; small files are one PUT. GCS: a resumable upload session, finalised by its last
chunk and cancelled otherwise. Azure: staged blocks, invisible until the block list is
committed; uncommitted blocks expire by themselves). A temporary key and a move was not
chosen: none of the three can rename, so a move is a copy of the whole object plus a delete,
and a process killed before the move leaves a complete-looking bundle under the temporary
key. A killed process can leave an unfinished S3 multipart upload behind: invisible to
readers, billed until a lifecycle rule (AbortIncompleteMultipartUpload) removes it.

Credentials and endpoints come from each SDK's usual chain (environment, profiles, the
machine's identity); ``RemoteOptions.storage_options`` go to the filesystem's constructor,
converted as ``storage_options`` says.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from kbundle.core.errors import KbundleError, RemoteError, UsageError
from kbundle.core.model import ProgressCallback
from kbundle.remote.refs import RemoteOptions, StorageRef
from kbundle.remote.storage_errors import Failure, classify, storage_error
from kbundle.remote.storage_options import backend_options, endpoint_shown

__all__ = ["download", "open_head", "upload"]

log = logging.getLogger(__name__)

BACKENDS = {"s3": "s3fs", "gs": "gcsfs", "az": "adlfs"}  # scheme -> the module fsspec uses
CHUNK = 1024 * 1024  # read from the local file per write (the backend buffers up to a part)
HEAD_BLOCK = 64 * 1024  # one ranged read of open_head: the reader's own read size
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


class _Store:
    """One reference's filesystem, path inside it, and how to report its failures."""

    def __init__(self, ref: StorageRef, options: RemoteOptions) -> None:
        self.ref = ref
        self.path = ref.url.split("://", 1)[1]  # BUCKET/KEY, as every backend takes it
        self._secrets = [str(v) for v in options.storage_options.values()]
        self._callers_errors: list[BaseException] = []  # raised by the caller's callback
        kwargs = backend_options(ref, options.storage_options, os.environ)
        self.endpoint = endpoint_shown(ref, kwargs, os.environ)
        fsspec = _import_backend(ref)
        log.debug("%s: %s filesystem, options %s", ref, ref.scheme, sorted(kwargs))
        with self.failures("reach"):
            # a fresh instance: it reads the environment (credentials, endpoint) of this call
            self.fs: Any = fsspec.filesystem(ref.scheme, skip_instance_cache=True, **kwargs)

    @contextlib.contextmanager
    def failures(self, action: str) -> Iterator[None]:
        """The backend's errors as one line naming the reference (see storage_errors)."""
        try:
            yield
        except KbundleError:
            raise
        except Exception as error:  # whatever the SDK raised: classified, never shown raw
            if any(error is own for own in self._callers_errors):
                raise  # the caller's progress callback raised: its error, not storage's
            failure = classify(error)
            if failure is Failure.NOT_FOUND and self._bucket_missing():
                failure = Failure.NO_BUCKET
            log.debug("%s: %s failed: %s (%s)", self.ref, action, type(error).__name__, failure)
            raise storage_error(
                self.ref, action, failure, error, endpoint=self.endpoint, secrets=self._secrets
            ) from None

    def reporter(self, progress: ProgressCallback | None) -> ProgressCallback | None:
        """``progress``, its errors let through ``failures`` untouched (fsspec calls it from
        inside a transfer, where they would look like the backend's)."""
        if progress is None:
            return None
        report = progress

        def reported(done: int, total: int, what: str) -> None:
            try:
                report(done, total, what)
            except BaseException as error:
                self._callers_errors.append(error)
                raise

        return reported

    def _bucket_missing(self) -> bool:
        """Whether the bucket itself is missing (asked only once an object was not found)."""
        bucket = self.path.split("/", 1)[0]
        try:
            return not bool(self.fs.exists(bucket))
        except Exception:  # cannot tell (no right to look): the object is what was missing
            return False


def _import_backend(ref: StorageRef) -> Any:
    """fsspec, once the backend of ``ref`` is known to import; a missing one is a UsageError
    naming the extra that installs it."""
    install = f"pip install 'kbundle[{ref.extra}]'"
    try:
        fsspec = importlib.import_module("fsspec")
        importlib.import_module(BACKENDS[ref.scheme])
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("fsspec", BACKENDS[ref.scheme]):
            raise UsageError(f"{ref} needs kbundle's {ref.extra} extra: {install}") from None
        raise UsageError(
            f"{ref}: {BACKENDS[ref.scheme]} is incomplete: {error}; {install}"
        ) from None
    except ImportError as error:  # installed, but does not load (a version mismatch)
        raise UsageError(
            f"{ref}: {BACKENDS[ref.scheme]} does not load: {error}; {install}"
        ) from None
    return fsspec


def upload(
    file: Path,
    ref: StorageRef,
    options: RemoteOptions,
    progress: ProgressCallback | None = None,
) -> None:
    """Stream ``file`` to ``ref``; the object appears under its key only once whole (see the
    module docstring), and any error or interrupt leaves no object there (an earlier object
    under the same key stays as it was)."""
    store = _Store(ref, options)
    report = store.reporter(progress)
    total = file.stat().st_size
    started = time.monotonic()
    with file.open("rb") as source, store.failures("upload"):
        sink = store.fs.open(store.path, "wb")
        try:
            done = 0
            while chunk := source.read(CHUNK):
                sink.write(chunk)
                done += len(chunk)
                if report is not None:
                    report(done, total, str(ref))
            sink.close()  # the commit: CompleteMultipartUpload, the last chunk, the block list
        except BaseException:
            _abandon(sink, ref)
            raise
    log.info("uploaded %s: %d bytes in %.2f s", ref, total, time.monotonic() - started)


def _abandon(sink: Any, ref: StorageRef) -> None:
    """Throw a staged upload away: fsspec's ``close()`` (also run by ``with`` and by garbage
    collection) would commit what was written so far, so it must not flush again."""
    try:
        sink.discard()  # S3: AbortMultipartUpload; GCS: cancel the session; Azure: no-op
    except Exception as error:  # the interrupt or error that brought us here matters more
        log.warning("%s: could not abort the unfinished upload: %s", ref, type(error).__name__)
    finally:
        sink.forced = True  # fsspec's close() skips its final flush: nothing is committed
        with contextlib.suppress(Exception):
            sink.close()
        sink.closed = True


def download(
    ref: StorageRef,
    into: Path,
    options: RemoteOptions,
    progress: ProgressCallback | None = None,
) -> Path:
    """Stream ``ref`` into a new file inside the private folder ``into`` (created mode 0700
    if missing) and return its path; the file is removed if the transfer fails. It is not
    verified here: the caller verifies it as any bundle file before using it."""
    store = _Store(ref, options)
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = into / _local_name(ref)
    started = time.monotonic()
    with store.failures("download"):
        size = _object_size(store)
        try:
            store.fs.get_file(
                store.path,
                str(target),
                callback=_callback(store.reporter(progress), size, str(ref)),
                **_sequential(ref),
            )
            got = target.stat().st_size if target.exists() else 0
            if got != size:
                raise RemoteError(
                    f"{ref}: the download stopped at {got} of {size} bytes (the object changed "
                    "or the connection dropped)",
                    hint="run the same command again",
                )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    log.info("downloaded %s: %d bytes in %.2f s", ref, size, time.monotonic() - started)
    return target


def _object_size(store: _Store) -> int:
    info = store.fs.info(store.path)
    if info.get("type") != "file":  # a "directory": only a prefix of other keys
        raise FileNotFoundError(store.path)
    return int(info["size"])


def _sequential(ref: StorageRef) -> dict[str, Any]:
    """s3fs downloads a large object as concurrent ranges held in memory (10 x 50 MiB by
    default); one streamed GET keeps memory flat."""
    return {"max_concurrency": 1} if ref.scheme == "s3" else {}


def _callback(progress: ProgressCallback | None, total: int, what: str) -> Any:
    """An fsspec callback reporting to ``progress`` (fsspec's ``hooks``: no subclassing)."""
    callbacks = importlib.import_module("fsspec.callbacks")
    if progress is None:
        return callbacks.NoOpCallback()

    def hook(size: int | None, value: int, **_: Any) -> None:
        progress(value, size or total, what)

    return callbacks.Callback(size=total, hooks={"kbundle": hook})


def _local_name(ref: StorageRef) -> str:
    """The key's last segment when it is a plain file name, else a fixed one."""
    name = ref.url.rsplit("/", 1)[1]
    return name if _PLAIN_NAME.fullmatch(name) else "bundle.kbundle"


@contextlib.contextmanager
def open_head(ref: StorageRef, options: RemoteOptions) -> Iterator[BinaryIO]:
    """A stream over the object, read lazily: no read-ahead, one ranged GET per read as it
    is asked for (through a buffer of ``HEAD_BLOCK`` bytes, the bundle reader's own read
    size), so reading the manifest, the first tar member, fetches only the first bytes of
    the object whatever its size."""
    store = _Store(ref, options)
    with store.failures("read"):
        remote = store.fs.open(store.path, "rb", block_size=HEAD_BLOCK, cache_type="none")
        if (getattr(remote, "details", None) or {}).get("type", "file") != "file":
            remote.close()
            raise FileNotFoundError(store.path)  # a prefix of other keys, not an object
    raw = _RangedReader(remote, store)
    try:
        yield cast(BinaryIO, io.BufferedReader(raw, buffer_size=HEAD_BLOCK))
    finally:
        with contextlib.suppress(Exception):
            remote.close()


class _RangedReader(io.RawIOBase):
    """The backend's file as a raw stream whose errors name the reference."""

    def __init__(self, remote: Any, store: _Store) -> None:
        super().__init__()
        self._remote = remote
        self._store = store

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._store.failures("read"):
            data: bytes = self._remote.read(len(view))
        view[: len(data)] = data
        return len(data)
