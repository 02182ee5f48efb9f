"""Writing task batches to files: ``.npz``, ``.jsonl`` and ``.parquet`` (pyarrow extra).

Files are written to a temporary name beside the target and renamed into place only when
complete, so a failure never leaves a half-written file. Output is byte-identical for the same
data (``.npz`` entries carry a fixed timestamp).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .batch import Batch

FORMATS = ("npz", "jsonl", "parquet")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def format_of(path: str | Path, explicit: str | None = None) -> str:
    """The output format: ``explicit`` if given, else the file suffix."""
    fmt = explicit or Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r}; use a suffix or --format "
            f"among {', '.join(FORMATS)}"
        )
    return fmt


class DatasetWriter:
    """Collects batches and writes them atomically to ``path`` in ``fmt``.

    Use as a context manager; on an exception the temporary file is removed.
    """

    def __init__(self, path: str | Path, fmt: str, config: dict[str, Any]) -> None:
        self.path = Path(path)
        self.fmt = format_of(path, fmt)
        self.config = config
        if self.fmt == "parquet":
            _require_pyarrow()
        if self.path.is_dir():
            raise ValueError(f"output path {str(self.path)!r} is a directory")
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self._file = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        except OSError as e:
            raise OSError(f"cannot write to {str(self.path)!r}: {e.strerror}") from None
        self._chunks: list[dict[str, np.ndarray]] = []
        self._parquet: Any = None
        self._token_pad = 0

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, batch: Batch) -> None:
        if self.fmt == "npz":
            self._chunks.append(batch.arrays())
            if batch.vocab is not None and batch.vocab.pad_id is not None:
                self._token_pad = batch.vocab.pad_id
        elif self.fmt == "jsonl":
            self._write_jsonl(batch)
        else:
            self._write_parquet(batch)

    def close(self) -> None:
        """Finishes the file and renames it into place."""
        try:
            if self.fmt == "npz":
                self._write_npz()
            if self._parquet is not None:
                self._parquet.close()
            self._file.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drops the partial output."""
        self._file.close()
        self.tmp.unlink(missing_ok=True)

    # -- formats ---------------------------------------------------------------------------
    def _write_npz(self) -> None:
        arrays = _concatenate(self._chunks, self._token_pad)
        arrays["config"] = np.array(json.dumps(self.config, sort_keys=True))
        with zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
                with zf.open(info, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)

    def _write_jsonl(self, batch: Batch) -> None:
        lines = []
        for row in batch.rows():
            n = int(row["lengths"])
            record: dict[str, Any] = {
                "index": int(row["indices"]),
                "length": n,
                "tokens": row["tokens"][:n].tolist(),
            }
            if batch.vocab is not None:
                record["text"] = batch.vocab.decode(row["tokens"][:n])
            for name, value in row.items():
                if name not in ("tokens", "lengths", "indices"):
                    record[name] = np.asarray(value).tolist()
            lines.append(json.dumps(record, separators=(",", ":")))
        self._file.write(("\n".join(lines) + "\n").encode() if lines else b"")

    def _write_parquet(self, batch: Batch) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {}
        shapes = {}
        for name, array in batch.arrays().items():
            if array.ndim == 1:
                columns[name] = pa.array(array)
            else:
                flat = array.reshape(len(array), -1)
                columns[name] = (
                    pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])
                    if flat.shape[1]
                    else pa.array([[] for _ in range(len(array))])
                )
                shapes[name] = list(array.shape[1:])
        table = pa.table(columns)
        meta = {
            "kleene.config": json.dumps(self.config, sort_keys=True),
            "kleene.shapes": json.dumps(shapes),
        }
        table = table.replace_schema_metadata(meta)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._file, table.schema)
        self._parquet.write_table(table.cast(self._parquet.schema))


def _concatenate(chunks: list[dict[str, np.ndarray]], token_pad: int) -> dict[str, np.ndarray]:
    """Joins chunk arrays along the batch axis, padding trailing axes to the widest chunk
    (tokens with the pad id, integer labels with -100, floats with 0)."""
    if not chunks:
        return {}
    out = {}
    for name in chunks[0]:
        parts = [c[name] for c in chunks]
        widest = np.max([p.shape for p in parts], axis=0)
        if all(p.shape[1:] == tuple(widest[1:]) for p in parts):
            out[name] = np.concatenate(parts)
            continue
        fill = token_pad if name == "tokens" else -100 if parts[0].dtype.kind == "i" else 0
        padded = []
        for p in parts:
            pad = [(0, 0)] + [(0, int(w - s)) for w, s in zip(widest[1:], p.shape[1:], strict=True)]
            padded.append(np.pad(p, pad, constant_values=fill))
        out[name] = np.concatenate(padded)
    return out


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError("writing .parquet needs pyarrow: pip install 'kleene[parquet]'") from None
