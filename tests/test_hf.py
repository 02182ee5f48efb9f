"""kleene.hf with the real Hugging Face datasets library: rows equal task.batch, typed features,
sharding over DataLoader workers and nodes, and kleene parquet shards through load_dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")
torch = pytest.importorskip("torch")

import kleene  # noqa: E402
import kleene.hf  # noqa: E402
from kleene import tasks  # noqa: E402

TASK = tasks.get("markov", length=12, vocab_size=3)


def as_arrays(rows: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def assert_rows_equal(rows: list[dict], truth: kleene.Batch) -> None:
    got = as_arrays(rows)
    assert list(got) == truth.keys()
    for name, array in truth.arrays().items():
        assert np.array_equal(got[name].astype(array.dtype), array), name


def test_rows_and_features_equal_task_batch():
    ds = kleene.hf.dataset(TASK, seed=3, num=45, start=5, block_size=10)
    assert ds.n_shards == 5
    feats = ds.features
    assert feats["tokens"] == datasets.List(datasets.Value("int32"), length=12)
    inner = datasets.List(datasets.Value("float32"), length=3)
    assert feats["bayes"] == datasets.List(inner, length=12)
    assert feats["indices"] == datasets.Value("int64")
    assert_rows_equal(list(ds), TASK.batch(45, seed=3, start=5))
    arr = next(iter(ds.with_format("numpy")))["bayes"]
    assert arr.shape == (12, 3) and arr.dtype == np.float32


def test_shards_split_over_dataloader_workers_and_nodes():
    ds = kleene.hf.dataset(TASK, seed=1, num=70, block_size=10)  # 7 shards
    loader = torch.utils.data.DataLoader(ds.with_format("torch"), batch_size=8, num_workers=2)
    indices = sorted(i for b in loader for i in b["indices"].tolist())
    assert indices == list(range(70))
    from datasets.distributed import split_dataset_by_node

    seen = []
    for rank in range(2):
        node = split_dataset_by_node(
            kleene.hf.dataset(TASK, seed=1, num=80, block_size=10), rank=rank, world_size=2
        )
        seen.append([r["indices"] for r in node])
    assert sorted(seen[0] + seen[1]) == list(range(80)) and len(seen[0]) == len(seen[1]) == 40
    truth = TASK.batch(80, seed=1)
    rows = list(split_dataset_by_node(kleene.hf.dataset(TASK, seed=1, num=80, block_size=10), 1, 2))
    assert_rows_equal(rows, _take(truth, seen[1]))


def _take(batch: kleene.Batch, idx: list[int]) -> kleene.Batch:
    return kleene.Batch(
        batch.tokens[idx],
        batch.lengths[idx],
        batch.indices[idx],
        {k: v[idx] for k, v in batch.labels.items()},
    )


def test_kleene_parquet_shards_load_with_the_same_features(tmp_path: Path):
    pytest.importorskip("pyarrow")
    kleene.write(TASK, seed=2, num=250, out=f"{tmp_path}/d/", shard_size=100, chunk=64)
    ds = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "d" / "*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert ds.features == kleene.hf.features(TASK)
    assert_rows_equal(list(ds), TASK.batch(250, seed=2))


def test_float16_labels_and_bad_arguments():
    ds = kleene.hf.dataset(TASK, seed=0, num=4, label_dtype="float16")
    assert ds.features["bayes"].feature.feature == datasets.Value("float16")
    row = next(iter(ds.with_format("numpy")))  # the numpy formatter widens to float32
    assert np.array_equal(row["bayes"], TASK.batch(1, seed=0).labels["bayes"][0].astype("f2"))
    with pytest.raises(ValueError, match="block_size"):
        kleene.hf.dataset(TASK, seed=0, num=4, block_size=0)
