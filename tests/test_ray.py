"""kleene.ray on a real local Ray instance (started here with 2 CPUs): rows equal task.batch,
blocks are generated in the workers, torch batches and parquet output keep label shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import kleene  # noqa: E402
import kleene.ray  # noqa: E402
from kleene import tasks  # noqa: E402

TASK = tasks.get("markov", length=12, vocab_size=3)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def test_rows_equal_task_batch_and_blocks_are_index_ranges(local_ray, tmp_path: Path):
    ds = kleene.ray.dataset(TASK, seed=3, num=1000, block_size=128, start=7)
    truth = TASK.batch(1000, seed=3, start=7)
    rows = ds.take_all()
    assert len(rows) == 1000
    got = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in truth.keys()}
    order = np.argsort(got["indices"])
    assert np.array_equal(got["indices"][order], truth.indices)
    for name, array in truth.arrays().items():
        assert got[name][order].shape == array.shape, name
        assert np.array_equal(got[name][order], array), name
    # what travels to the workers is (first, count) ranges, not data
    tasks_ = kleene.ray.TaskDatasource(TASK, 3, 1000, 7, 128).get_read_tasks(2)
    assert sum(t.metadata.num_rows for t in tasks_) == 1000

    batches = list(ds.iter_torch_batches(batch_size=256))
    assert tuple(batches[0]["bayes"].shape) == (256, 12, 3)

    doubled = ds.map_batches(lambda b: {"indices": b["indices"] * 2}).take_all()
    assert sorted(r["indices"] for r in doubled) == [2 * i for i in range(7, 1007)]

    ds.write_parquet(str(tmp_path / "out"))
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out")
    assert sorted(table["indices"].to_pylist()) == list(range(7, 1007))


def test_parquet_args_write_kleene_encodings_with_the_same_rows(local_ray, tmp_path: Path):
    import pyarrow.parquet as pq

    ds = kleene.ray.dataset(TASK, seed=5, num=300, block_size=100)
    ds.write_parquet(str(tmp_path / "out"), **kleene.ray.parquet_args(TASK))
    files = sorted((tmp_path / "out").glob("*.parquet"))
    column = pq.ParquetFile(files[0]).metadata.row_group(0).column(0)
    assert column.path_in_schema == "tokens.list.element"
    assert "DELTA_BINARY_PACKED" in column.encodings and not column.has_dictionary_page
    table = pq.read_table(tmp_path / "out")
    order = np.argsort(table["indices"].to_numpy())
    truth = TASK.batch(300, seed=5)
    tokens = np.stack(table["tokens"].to_numpy(zero_copy_only=False))[order]
    assert np.array_equal(tokens, truth.tokens)
    assert np.array_equal(table["lengths"].to_numpy()[order], truth.lengths)
