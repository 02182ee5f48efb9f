"""Writing and reading task datasets: one file (``.npz``, ``.jsonl``, ``.parquet``) or a
directory of shards with a ``manifest.json``.

Every writer streams: memory stays at one chunk of items whatever the dataset size. Files are
written under a temporary name beside the target and renamed into place only when complete; on
any failure (including SIGTERM and a full disk) the temporary file is removed, so a failed run
never leaves a partial file. Output bytes depend only on (task configuration, seed, index
range, chunk, format, label dtype), never on the thread count or how shards are spread over
processes.

Every format holds the same columns: ``tokens [B, T]``, ``lengths [B]``, ``indices [B]`` and
the task's labels with their full shapes (parquet stores ``[B, T, V]`` as nested fixed-size
lists). ``label_dtype="float16"`` stores floating-point labels at half precision.

Example:
    >>> import tempfile, kleene
    >>> task = kleene.tasks.get("markov", length=8)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = kleene.write(task, seed=0, num=10, out=f"{d}/a.npz")
    ...     batch = kleene.load(f"{d}/a.npz")
    >>> bool((batch.tokens == task.batch(10, seed=0).tokens).all())
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .batch import IGNORE_INDEX, Batch

FORMATS = ("npz", "jsonl", "parquet")
LABEL_DTYPES = ("float16", "float32")
MANIFEST = "manifest.json"
PARTS_DIR = ".kleene"
"""Hidden folder of a sharded dataset holding one record per finished shard."""
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_BASE_COLUMNS = ("tokens", "lengths", "indices")
_STREAM_KEYS = ("task", "seed", "start", "label_dtype")
"""Keys of a stored config that are not task parameters."""
WRITER_REVISION = 2
"""Incremented whenever the writers' bytes change for the same inputs (2: parquet delta/zstd
encoding). It is part of a sharded dataset's identity, so a resume never mixes shards of two
revisions (the directory is refused instead)."""


class Terminated(BaseException):
    """Raised inside a write when the process receives SIGTERM (so the partial file goes)."""


def format_of(path: str | Path, explicit: str | None = None) -> str:
    """The output format: ``explicit`` if given (it must agree with a known suffix), else the
    file suffix."""
    suffix = Path(path).suffix.lstrip(".").lower()
    if explicit is not None and suffix in FORMATS and suffix != explicit:
        raise ValueError(f"--format {explicit} contradicts the suffix of {str(path)!r}")
    fmt = explicit or suffix
    if fmt not in FORMATS:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r}; use a suffix or --format "
            f"among {', '.join(FORMATS)}"
        )
    return fmt


# -- atomic files ---------------------------------------------------------------------------


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turns SIGTERM into :class:`Terminated` while the block runs, so ``finally`` clauses
    (which delete partial files) run. A no-op outside the main thread or when the program
    already handles SIGTERM itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("terminated by SIGTERM; partial output removed")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_for_write(path: Path) -> Any:
    """Opens ``path`` for binary writing (a seam the full-disk tests replace)."""
    return open(path, "wb")  # noqa: SIM115 - the caller closes it


class AtomicFile:
    """A binary file written under a temporary name and renamed to ``path`` on ``commit``.

    ``discard`` closes and deletes the temporary file, swallowing errors from closing (a full
    disk fails the final flush) so that deletion always happens.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"output path {str(self.path)!r} is a directory")
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self.file = _open_for_write(self.tmp)
        except OSError as e:
            raise OSError(f"cannot write to {str(self.path)!r}: {e.strerror}") from None

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.file.close()
        self.tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (nothing is left behind on failure)."""
    with sigterm_raises():
        out = AtomicFile(path)
        try:
            out.file.write(data)
            out.commit()
        except BaseException:
            out.discard()
            raise


# -- one file -------------------------------------------------------------------------------


class DatasetWriter:
    """Streams batches to ``path`` in ``fmt``; the file appears only when complete.

    Use as a context manager; on an exception (or SIGTERM) the partial output is removed.

    Args:
        path: the output file.
        fmt: ``npz``, ``jsonl`` or ``parquet`` (``None``: from the suffix).
        config: JSON-serialisable metadata stored with the data (task config, seed, ...).
        label_dtype: ``"float16"`` stores floating-point labels at half precision.
        pad_id: the task's pad id, used where ``.npz`` chunks of different widths are joined.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: str | None,
        config: dict[str, Any],
        label_dtype: str | None = None,
        pad_id: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.fmt = format_of(path, fmt)
        self.config = config
        self.label_dtype = _check_label_dtype(label_dtype)
        if self.fmt == "parquet":
            _require_pyarrow()
        sink = {"npz": _NpzSink, "jsonl": _JsonlSink, "parquet": _ParquetSink}[self.fmt]
        self._signals: Any = sigterm_raises()  # before the file exists, so no gap
        self._signals.__enter__()
        try:
            self._out = AtomicFile(self.path)
            try:
                self._sink = sink(self._out, config, pad_id)
            except BaseException:
                self._out.discard()
                raise
        except BaseException:
            self._restore_signals()
            raise

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, batch: Batch) -> None:
        """Appends the rows of ``batch``."""
        try:
            self._sink.write(stored_arrays(batch, self.label_dtype))
        except BaseException:
            self.abort()
            raise

    def close(self) -> None:
        """Finishes the file and renames it into place."""
        try:
            self._sink.finish()
            self._out.commit()
        except BaseException:
            self.abort()
            raise
        self._restore_signals()

    def abort(self) -> None:
        """Drops the partial output."""
        self._sink.discard()
        self._out.discard()
        self._restore_signals()

    def _restore_signals(self) -> None:
        if self._signals is not None:
            self._signals.__exit__(None, None, None)
            self._signals = None


def _check_label_dtype(label_dtype: str | None) -> str | None:
    if label_dtype is not None and label_dtype not in LABEL_DTYPES:
        raise ValueError(
            f"label dtype must be one of {', '.join(LABEL_DTYPES)}; got {label_dtype!r}"
        )
    return label_dtype


def stored_arrays(batch: Batch, label_dtype: str | None) -> dict[str, np.ndarray]:
    """The arrays as stored: floating-point labels cast to ``label_dtype`` when given."""
    arrays = batch.arrays()
    if label_dtype is None:
        return arrays
    return {
        k: v.astype(label_dtype) if k in batch.labels and v.dtype.kind == "f" else v
        for k, v in arrays.items()
    }


def _fill_value(name: str, dtype: np.dtype, pad_id: int | None) -> int:
    """Padding for rows narrower than the widest: the pad id for tokens, -100 for integer
    labels, 0 otherwise."""
    if name == "tokens":
        return pad_id or 0
    return IGNORE_INDEX if dtype.kind == "i" else 0


def _pad_to(array: np.ndarray, trailing: tuple[int, ...], fill: int) -> np.ndarray:
    if array.shape[1:] == trailing:
        return array
    pad = [(0, 0)] + [(0, w - s) for w, s in zip(trailing, array.shape[1:], strict=True)]
    return np.pad(array, pad, constant_values=fill)


class _NpzSink:
    """``.npz``: each array is spilled to its own raw file beside the output, then copied into
    the zip member by member (a zip holds members one after another), one chunk at a time."""

    def __init__(self, out: AtomicFile, config: dict[str, Any], pad_id: int | None) -> None:
        self.out, self.config, self.pad_id = out, config, pad_id
        self.spill_dir = out.tmp.with_name(out.tmp.name + ".d")
        self.spill_dir.mkdir()
        self.files: dict[str, Any] = {}
        self.chunks: dict[str, list[tuple[int, ...]]] = {}
        self.dtypes: dict[str, np.dtype] = {}

    def write(self, arrays: dict[str, np.ndarray]) -> None:
        for name, array in arrays.items():
            if name not in self.files:
                self.files[name] = open(self.spill_dir / f"{len(self.files)}.raw", "wb")  # noqa: SIM115
                self.chunks[name], self.dtypes[name] = [], array.dtype
            if array.dtype != self.dtypes[name]:
                raise ValueError(f"column {name!r} changed dtype between chunks")
            self.files[name].write(np.ascontiguousarray(array).data)
            self.chunks[name].append(array.shape)

    def finish(self) -> None:
        for f in self.files.values():
            f.close()
        with zipfile.ZipFile(self.out.file, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for i, name in enumerate(self.files):
                self._copy_member(zf, name, self.spill_dir / f"{i}.raw")
                (self.spill_dir / f"{i}.raw").unlink()
            info = zipfile.ZipInfo("config.npy", date_time=_FIXED_TIME)
            with zf.open(info, "w", force_zip64=True) as f:
                config = np.array(json.dumps(self.config, sort_keys=True))
                np.lib.format.write_array(f, config, allow_pickle=False)
        self.discard()

    def _copy_member(self, zf: zipfile.ZipFile, name: str, spill: Path) -> None:
        shapes, dtype = self.chunks[name], self.dtypes[name]
        trailing = (
            tuple(int(w) for w in np.max([s[1:] for s in shapes], axis=0)) if shapes[0][1:] else ()
        )
        rows = sum(s[0] for s in shapes)
        header = {
            "descr": np.lib.format.dtype_to_descr(dtype),
            "fortran_order": False,
            "shape": (rows, *trailing),
        }
        fill = _fill_value(name, dtype, self.pad_id)
        info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
        with zf.open(info, "w", force_zip64=True) as f, open(spill, "rb") as src:
            np.lib.format.write_array_header_1_0(f, header)
            for shape in shapes:
                count = int(np.prod(shape, dtype=np.int64))
                chunk = np.fromfile(src, dtype=dtype, count=count).reshape(shape)
                f.write(np.ascontiguousarray(_pad_to(chunk, trailing, fill)).data)

    def discard(self) -> None:
        for f in self.files.values():
            with contextlib.suppress(OSError):
                f.close()
        shutil.rmtree(self.spill_dir, ignore_errors=True)


class _JsonlSink:
    """``.jsonl``: one JSON object per item with the same columns as the other formats."""

    def __init__(self, out: AtomicFile, config: dict[str, Any], pad_id: int | None) -> None:
        self.out = out

    def write(self, arrays: dict[str, np.ndarray]) -> None:
        names = list(arrays)
        columns = [arrays[n].tolist() for n in names]
        lines = [
            json.dumps(dict(zip(names, row, strict=True)), separators=(",", ":"))
            for row in zip(*columns, strict=True)
        ]
        if lines:
            self.out.file.write(("\n".join(lines) + "\n").encode())

    def finish(self) -> None:
        pass

    def discard(self) -> None:
        pass


def to_arrow(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> Any:
    """A pyarrow table of batch arrays: ``[B, d1, d2]`` becomes nested fixed-size lists
    (``d1`` lists of ``d2`` values), so every shape survives a round trip."""
    import pyarrow as pa

    columns = {}
    for name, array in arrays.items():
        values = _arrow_values(array)
        if 0 in array.shape[1:]:  # pyarrow has no zero-size fixed-size lists
            columns[name] = pa.array([[] for _ in range(len(array))], pa.list_(values.type))
            continue
        for size in reversed(array.shape[1:]):
            values = pa.FixedSizeListArray.from_arrays(values, size)
        columns[name] = values
    table = pa.table(columns)
    return table.replace_schema_metadata(metadata) if metadata else table


def _arrow_values(array: np.ndarray) -> Any:
    """The values of ``array`` as one flat arrow array, sharing numpy's buffer (booleans are
    packed into bits, as arrow stores them). ``pa.array`` would do too, but its first call
    imports pandas: half a second per process."""
    import pyarrow as pa

    flat = np.ascontiguousarray(array).reshape(-1)
    data = np.packbits(flat, bitorder="little") if flat.dtype.kind == "b" else flat
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(flat.dtype), len(flat), [None, pa.py_buffer(data)]
    )


def from_arrow(table: Any) -> dict[str, np.ndarray]:
    """Inverse of :func:`to_arrow`: numpy arrays with their full shapes."""
    import pyarrow as pa

    out = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        shape = [len(column)]
        while pa.types.is_fixed_size_list(column.type):
            shape.append(column.type.list_size)
            column = column.flatten()
        if pa.types.is_list(column.type):
            shape.append(0)
            column = column.flatten()
        out[name] = column.to_numpy(zero_copy_only=False).reshape(shape)
    return out


def parquet_options(schema: Any) -> dict[str, Any]:
    """How kleene encodes a table of ``schema`` (``pyarrow.parquet.ParquetWriter`` options).

    Chosen by measurement (docs/scale.md): integer columns use ``DELTA_BINARY_PACKED``,
    which packs small ids into a few bits in one pass, at about 40% less CPU than dictionary
    encoding; zstd at level 1 then makes the files as small as pyarrow's defaults (dictionary
    and snappy) for the same CPU as snappy. Float columns keep dictionary encoding (label
    values often repeat). Statistics are kept only for the one-value-per-item columns
    (``indices``, ``lengths``, ...), where readers use them to skip row groups. Extension
    columns (Ray's tensors) are encoded by their storage type."""
    import pyarrow as pa

    integers, floats, flat = {}, [], []  # by leaf type; booleans stay plain
    for field in schema:
        leaf, path = _storage(field.type), field.name
        while (
            pa.types.is_fixed_size_list(leaf)
            or pa.types.is_list(leaf)
            or pa.types.is_large_list(leaf)
        ):
            leaf, path = _storage(leaf.value_type), f"{path}.list.element"
        if path == field.name:
            flat.append(field.name)
        if pa.types.is_integer(leaf):
            integers[path] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(leaf):
            floats.append(path)
    return {
        "compression": "zstd",
        "compression_level": 1,
        "use_dictionary": floats,
        "column_encoding": integers or None,
        "write_statistics": flat,
    }


def _storage(arrow_type: Any) -> Any:
    """The type an extension type (a Ray tensor column, say) is stored as."""
    return getattr(arrow_type, "storage_type", arrow_type)


class _ParquetSink:
    """``.parquet``: one row group per chunk; the schema comes from the first chunk."""

    def __init__(self, out: AtomicFile, config: dict[str, Any], pad_id: int | None) -> None:
        self.out, self.pad_id = out, pad_id
        self.meta = {"kleene.config": json.dumps(config, sort_keys=True)}
        self.writer: Any = None
        self.trailing: dict[str, tuple[int, ...]] = {}

    def write(self, arrays: dict[str, np.ndarray]) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            self.trailing = {k: v.shape[1:] for k, v in arrays.items()}
            self.meta["kleene.shapes"] = json.dumps({k: list(s) for k, s in self.trailing.items()})
        for name, array in arrays.items():
            want = self.trailing.get(name)
            if (
                want is None
                or len(want) != array.ndim - 1
                or any(s > w for s, w in zip(array.shape[1:], want, strict=True))
            ):
                raise ValueError(
                    f"column {name!r} has shape {list(array.shape[1:])} in a later chunk, "
                    f"wider than {list(want or [])} in the first; parquet needs one width"
                )
            arrays[name] = _pad_to(array, want, _fill_value(name, array.dtype, self.pad_id))
        table = to_arrow(arrays, self.meta)
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.out.file, table.schema, **parquet_options(table.schema)
            )
        self.writer.write_table(table)

    def finish(self) -> None:
        if self.writer is None:
            raise ValueError("nothing was written: a parquet file needs at least one batch")
        self.writer.close()

    def discard(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer.is_open = False  # keeps __del__ from closing again
            self.writer = None


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError("writing .parquet needs pyarrow: pip install 'kleene[parquet]'") from None


# -- the writing API ------------------------------------------------------------------------

ProgressFn = Callable[[int, int, int, int], None]
"""Called as ``progress(items_done, tokens_done, shards_done, shards_total)``."""


def write(
    task: Any,
    seed: int,
    num: int,
    out: str | Path,
    *,
    start: int = 0,
    fmt: str | None = None,
    chunk: int = 4096,
    threads: int | None = None,
    label_dtype: str | None = None,
    shard_size: int | None = None,
    shard_index: int = 0,
    num_shards: int = 1,
    jobs: int = 1,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Writes items ``start .. start+num`` of ``task``'s stream ``seed`` to ``out``.

    ``out`` is one file unless ``shard_size`` is given or ``out`` is a directory (or ends with
    ``/``): then shards of ``shard_size`` items (default 100,000; parquet by default) go into
    the directory with a ``manifest.json``. Rerunning resumes: shards whose recorded sha256
    matches are kept, others are redone. ``shard_index``/``num_shards`` write only the shards
    ``k`` with ``k % num_shards == shard_index`` (one process of a Slurm array, say); the last
    process to finish writes the manifest. The bytes are identical however the work is split.

    Args:
        task: a :class:`kleene.tasks.Task`.
        seed, num, start: the stream and index range.
        fmt: ``npz``, ``jsonl`` or ``parquet`` (default: the suffix, or parquet for shards).
        chunk: items generated per call (one parquet row group each).
        threads: generation threads.
        label_dtype: ``"float16"`` halves the size of floating-point labels.
        jobs: shards written at once, each on its own thread (generation then uses one
            thread per shard unless ``threads`` says otherwise). The bytes do not change.
        progress: called after every chunk (see :data:`ProgressFn`).

    Returns:
        A summary: ``{"items", "tokens", "path", "manifest"}`` (``manifest`` is ``None`` for
        one file and while other processes' shards are missing).
    """
    _check_count("num", num, 0)
    _check_count("chunk", chunk, 1)
    _check_label_dtype(label_dtype)
    job = _Job(task, seed, start, num, fmt, chunk, label_dtype, threads)
    sharded = shard_size is not None or str(out).endswith(("/", os.sep)) or Path(out).is_dir()
    if not sharded and (num_shards != 1 or shard_index != 0 or jobs != 1):
        raise ValueError("--shard-index/--num-shards/--jobs need a directory output (--out DIR/)")
    with sigterm_raises():  # also between shards: a scheduler's SIGTERM ends with one line
        if not sharded:
            return _write_file(job, Path(out), progress)
        job = replace(job, fmt=fmt or "parquet")
        size = shard_size or 100_000
        return _write_shards(job, Path(out), size, shard_index, num_shards, jobs, progress)


def _check_count(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"`{name}` must be >= {low}, got {value}")


@dataclass(frozen=True)
class _Job:
    """What decides the bytes of a file: the stream, its range, the format and the chunking."""

    task: Any
    seed: int
    start: int
    num: int
    fmt: str | None
    chunk: int
    label_dtype: str | None
    threads: int | None

    def write_range(self, path: Path, lo: int, hi: int, progress: Callable[[Batch], None]) -> int:
        """Writes stream indices ``lo .. hi`` to one file; returns the tokens written."""
        config = {**self.task.config, "seed": self.seed, "start": lo}
        if self.label_dtype is not None:
            config["label_dtype"] = self.label_dtype
        pad_id = self.task.vocab.pad_id
        tokens = 0
        with DatasetWriter(path, self.fmt, config, self.label_dtype, pad_id) as writer:
            for batch in _one_ahead(self._chunks(lo, hi)):
                writer.write(batch)
                tokens += int(batch.lengths.sum())
                progress(batch)
        return tokens

    def _chunks(self, lo: int, hi: int) -> list[Callable[[], Batch]]:
        """One maker per batch covering ``lo .. hi`` (one empty batch for an empty range, so
        that even an empty file knows its columns)."""
        spans = [(first, min(self.chunk, hi - first)) for first in range(lo, hi, self.chunk)]
        return [
            partial(self.task.batch, n, self.seed, first, threads=self.threads)
            for first, n in spans or [(lo, 0)]
        ]

    def identity(self, shard_size: int) -> dict[str, Any]:
        """Everything a sharded dataset's bytes depend on (recorded in its manifest)."""
        from . import __version__

        return {
            "kleene_version": __version__,
            "writer_revision": WRITER_REVISION,
            "format": self.fmt,
            "task": self.task.config,
            "config_hash": self.task.config_hash,
            "seed": self.seed,
            "start": self.start,
            "num": self.num,
            "shard_size": shard_size,
            "chunk": self.chunk,
            "label_dtype": self.label_dtype,
        }

    def columns(self) -> dict[str, dict[str, Any]]:
        """Name, stored dtype and per-item shape of every column."""
        probe = self.task.batch(min(1, self.num), self.seed, self.start)
        stored = stored_arrays(probe, self.label_dtype)
        return {n: {"dtype": str(a.dtype), "shape": list(a.shape[1:])} for n, a in stored.items()}


def _one_ahead(makers: list[Callable[[], Batch]]) -> Iterator[Batch]:
    """The batches of ``makers`` in order, each next one generated on a helper thread while
    the caller writes the current one. Generation and pyarrow's encoding both release the
    GIL, so the two overlap; memory holds at most two batches."""
    if len(makers) == 1:
        yield makers[0]()
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="kleene-generate")
    try:
        pending = pool.submit(makers[0])
        for make in makers[1:]:
            batch = pending.result()
            pending = pool.submit(make)
            yield batch
        yield pending.result()
    finally:  # on an error or Ctrl-C, do not wait for a chunk nobody will write
        pool.shutdown(wait=False, cancel_futures=True)


class _Counter:
    """Counts items, tokens and shards for the progress callback (from any writer thread),
    and tells every writer to stop once one has failed."""

    def __init__(self, progress: ProgressFn | None, shards: int) -> None:
        self.progress, self.shards = progress, shards
        self.items = self.tokens = self.done = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def batch(self, batch: Batch) -> None:
        if self.stop.is_set():
            raise Terminated("stopped because another shard failed")
        with self._lock:
            self.items += len(batch)
            self.tokens += int(batch.lengths.sum())
            self._report()

    def shard_done(self, skipped_items: int = 0) -> None:
        with self._lock:
            self.items += skipped_items
            self.done += 1
            self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.items, self.tokens, self.done, self.shards)


def _write_file(job: _Job, path: Path, progress: ProgressFn | None) -> dict[str, Any]:
    job = replace(job, fmt=format_of(path, job.fmt))
    if job.fmt == "npz":
        _check_disk_space(job, path)
    counter = _Counter(progress, 1)
    job.write_range(path, job.start, job.start + job.num, counter.batch)
    return {"items": job.num, "tokens": counter.tokens, "path": str(path), "manifest": None}


def _check_disk_space(job: _Job, path: Path) -> None:
    """Refuses an ``.npz`` that cannot fit: it is written twice (spill files, then the zip),
    and its size is known exactly from one item."""
    item = sum(
        np.dtype(c["dtype"]).itemsize * int(np.prod(c["shape"])) for c in job.columns().values()
    )
    need = 2 * item * job.num
    try:
        free = shutil.disk_usage(path.parent if str(path.parent) else ".").free
    except OSError:
        return  # the open will report the problem
    if need > free:
        raise ValueError(
            f"{str(path)!r} needs about {_size(need)} of free disk while it is written "
            f"({_size(item * job.num)} for the file), but only {_size(free)} is free; "
            f"free some space or write parquet shards (--out DIR/), which are smaller"
        )


def _size(nbytes: float) -> str:
    for scale, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB")):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes / 1e3:.1f} kB"


def _shard_name(k: int, count: int, fmt: str) -> str:
    return f"shard-{k:05d}-of-{count:05d}.{fmt}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _write_shards(
    job: _Job,
    root: Path,
    shard_size: int,
    shard_index: int,
    num_shards: int,
    jobs: int,
    progress: ProgressFn | None,
) -> dict[str, Any]:
    if job.fmt not in FORMATS:
        raise ValueError(f"unknown format {job.fmt!r}; use one of {', '.join(FORMATS)}")
    if job.fmt == "parquet":
        _require_pyarrow()
    _check_count("shard_size", shard_size, 1)
    _check_count("num_shards", num_shards, 1)
    _check_count("jobs", jobs, 1)
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"--shard-index must be in [0, {num_shards - 1}], got {shard_index}")
    identity = job.identity(shard_size)
    key = _identity_key(identity)
    count = -(-job.num // shard_size)
    parts = root / PARTS_DIR
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot create {str(root)!r}: {e.strerror}") from None
    _refuse_other_dataset(root, key)
    mine = range(shard_index, count, num_shards)
    counter = _Counter(progress, len(mine))
    if jobs > 1 and job.threads is None:
        job = replace(job, threads=1)  # the parallelism is across shards

    def write_shard(k: int) -> None:
        lo = job.start + k * shard_size
        hi = job.start + min((k + 1) * shard_size, job.num)
        name = _shard_name(k, count, str(job.fmt))
        if _shard_is_done(root, name, key):
            counter.shard_done(skipped_items=hi - lo)
            return
        _remove_stale_temporaries(root, name)
        job.write_range(root / name, lo, hi, counter.batch)
        record = {
            "file": name,
            "start": lo,
            "stop": hi,
            "rows": hi - lo,
            "bytes": (root / name).stat().st_size,
            "sha256": _sha256(root / name),
            "key": key,
        }
        atomic_write_bytes(parts / f"{name}.json", json.dumps(record).encode())
        counter.shard_done()

    _run_all(write_shard, list(mine), jobs, counter.stop)
    manifest = _finish_manifest(job, root, identity, key, count)
    return {
        "items": counter.items,
        "tokens": counter.tokens,
        "path": str(root),
        "manifest": manifest,
    }


def _run_all(fn: Callable[[int], None], items: list[int], jobs: int, stop: threading.Event) -> None:
    """``fn(item)`` for every item, on ``jobs`` threads. On the first failure (or SIGTERM in
    the waiting main thread) the others are told to stop and are waited for, so each removes
    its partial file before the error propagates."""
    if jobs == 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            wait(futures)
            raise


def _shard_is_done(root: Path, name: str, key: str) -> bool:
    """The shard exists, and its bytes hash to what its record says."""
    record = _read_record(root / PARTS_DIR / f"{name}.json")
    if record is None or record.get("key") != key or not (root / name).exists():
        return False
    return _sha256(root / name) == record["sha256"]


def _remove_stale_temporaries(root: Path, name: str) -> None:
    """Drops what a killed run (SIGKILL, power loss) left of shard ``name``; each shard
    belongs to one process, so these are never another live writer's files."""
    for stale in root.glob(f".{name}.tmp-*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _refuse_other_dataset(root: Path, key: str) -> None:
    """A directory holds one dataset: refuse to mix shards of another configuration."""
    manifest = _read_record(root / MANIFEST)
    keys = {r.get("key") for p in (root / PARTS_DIR).glob("*.json") if (r := _read_record(p))}
    if manifest is not None:
        keys.add(manifest.get("key"))
    if keys - {key}:
        raise ValueError(
            f"{str(root)!r} holds shards of a different dataset (other task, seed, range, "
            f"format or shard size); choose an empty directory"
        )


def _finish_manifest(
    job: _Job, root: Path, identity: dict[str, Any], key: str, count: int
) -> dict[str, Any] | None:
    """Writes ``manifest.json`` once every shard is recorded; returns it (or None)."""
    records = []
    for k in range(count):
        record = _read_record(root / PARTS_DIR / f"{_shard_name(k, count, str(job.fmt))}.json")
        if record is None or record["key"] != key:
            return None
        records.append({f: record[f] for f in ("file", "start", "stop", "rows", "bytes", "sha256")})
    manifest = {**identity, "key": key, "columns": job.columns(), "shards": records}
    atomic_write_bytes(root / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    return manifest


# -- reading --------------------------------------------------------------------------------


def load(path: str | Path) -> Batch | ShardedDataset:
    """Reads what :func:`write` wrote: a :class:`kleene.Batch` for one file, a
    :class:`ShardedDataset` for a directory with a ``manifest.json``.

    Raises:
        ValueError: unknown format, or a directory without a complete manifest.
    """
    path = Path(path)
    if path.is_dir():
        return ShardedDataset(path)
    if not path.exists():
        raise ValueError(f"no such file or directory: {str(path)!r}")
    fmt = format_of(path)
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        config = json.loads(arrays.pop("config").item())
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        config = json.loads((table.schema.metadata or {}).get(b"kleene.config", b"{}"))
        arrays = from_arrow(table)
    else:
        arrays, config = _read_jsonl(path), {}
    return _to_batch(arrays, config)


def _read_jsonl(path: Path) -> dict[str, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    if not rows:
        return {}
    return {name: np.array([r[name] for r in rows]) for name in rows[0]}


def _to_batch(arrays: dict[str, np.ndarray], config: dict[str, Any]) -> Batch:
    vocab = None
    if "task" in config:
        from . import tasks

        params = {k: v for k, v in config.items() if k not in _STREAM_KEYS}
        with contextlib.suppress(ValueError, TypeError):
            vocab = tasks.get(config["task"], **params).vocab
    if not arrays:
        empty = np.zeros(0, np.int64)
        return Batch(np.zeros((0, 0), np.int32), empty, empty, {}, vocab)
    labels = {k: v for k, v in arrays.items() if k not in _BASE_COLUMNS}
    return Batch(arrays["tokens"], arrays["lengths"], arrays["indices"], labels, vocab)


class ShardedDataset:
    """A directory written by :func:`write` with shards: its manifest, and the shards as
    batches, one at a time (constant memory) or all together."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        manifest = _read_record(self.root / MANIFEST)
        if manifest is None:
            raise ValueError(
                f"{str(self.root)!r} has no readable {MANIFEST}: the dataset is incomplete "
                f"(rerun the same `kleene generate` command to finish it)"
            )
        self.manifest: dict[str, Any] = manifest

    @property
    def files(self) -> list[Path]:
        """The shard files in index order."""
        return [self.root / s["file"] for s in self.manifest["shards"]]

    def __len__(self) -> int:
        return int(self.manifest["num"])

    def batches(self) -> Iterator[Batch]:
        """Each shard as one batch, in order."""
        for path in self.files:
            batch = load(path)
            assert isinstance(batch, Batch)
            yield batch

    def read(self) -> Batch:
        """The whole dataset as one batch (it must fit in memory)."""
        parts = list(self.batches())
        if not parts:
            return _to_batch({}, {})
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0].keys()}
        return _to_batch(arrays, {**self.manifest["task"]})

    def verify(self) -> None:
        """Checks every shard's size and sha256 against the manifest; raises ValueError."""
        for shard, path in zip(self.manifest["shards"], self.files, strict=True):
            if not path.exists() or _sha256(path) != shard["sha256"]:
                raise ValueError(f"shard {str(path)!r} is missing or differs from the manifest")
