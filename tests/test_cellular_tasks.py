"""The `eca` and `life` tasks, complexity measures and rendering, against independent oracles."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import kleene
from kleene import tasks
from kleene.cellular import ECA, Life, complexity
from kleene.render import render_main, to_gif, to_png


def test_eca_task_items_are_windows_of_their_trajectory():
    task = tasks.get(
        "eca",
        rule=54,
        width=130,
        stride=3,
        seq_length=6,
        sample_width=40,
        horizon=30,
        trajectories=2,
    )
    batch = task.batch(10, seed=3)
    states = batch.labels["states"]
    assert states.shape == (10, 6, 40) and batch.tokens.shape == (10, 240)
    assert np.array_equal(batch.tokens, states.reshape(10, -1))
    assert set(batch.labels["trajectory"].tolist()) <= {0, 1}
    assert ((batch.labels["t0"] >= 0) & (batch.labels["t0"] <= 30 - 15)).all()
    assert ((batch.labels["col0"] >= 0) & (batch.labels["col0"] <= 90)).all()
    eca = ECA(54)
    for i in range(10):
        # Row j + 1 is row j after `stride` generations wherever the light cone (radius 3)
        # stays inside the crop.
        for j in range(5):
            assert np.array_equal(eca.step(states[i, j], 3)[3:-3], states[i, j + 1, 3:-3])


def test_eca_task_matches_trajectory_from_full_width():
    task = tasks.get(
        "eca",
        rule=30,
        width=64,
        stride=1,
        seq_length=5,
        sample_width=64,
        horizon=4,
        trajectories=1,
    )
    batch = task.batch(6, seed=1)
    states, t0 = batch.labels["states"], batch.labels["t0"]
    assert (t0 == 0).all() and (batch.labels["col0"] == 0).all()
    assert np.array_equal(ECA(30).run(states[0][0], 4), states[0])
    assert all(np.array_equal(states[i], states[0]) for i in range(6))


def test_life_task_bytes_format_is_lifegpt_text():
    task = tasks.get("life", horizon=2, density_low=0.5, density_high=0.5)
    batch = task.batch(4, seed=7)
    x, y = batch.labels["input"], batch.labels["target"]
    assert batch.tokens.shape == (4, 2071)
    assert np.array_equal(Life().step(x, 2), y)
    text = batch.decode(0)
    bits_in = "".join(map(str, x[0].ravel()))
    bits_out = "".join(map(str, y[0].ravel()))
    assert text == f"@PredictNextState<{bits_in}> [{bits_out}]$"
    assert len(text) == 2071
    lm = batch.labels["lm_labels"]
    prompt = len("@PredictNextState<") + 1024 + len("> [")
    assert (lm[:, :prompt] == kleene.IGNORE_INDEX).all()
    assert np.array_equal(lm[:, prompt:], batch.tokens[:, prompt:])
    assert np.allclose(batch.labels["density"], 0.5)


def test_life_task_grid_format_and_density_sweep():
    task = tasks.get("life", format="grid", size=16, rule="B36/S23", boundary="dead")
    batch = task.batch(300, seed=1)
    x, y = batch.labels["input"], batch.labels["target"]
    assert batch.tokens.shape == (300, 2 * 256 + 1)
    assert (batch.tokens[:, 256] == task.vocab.sep_id).all()
    assert np.array_equal(batch.tokens[:, :256], x.reshape(300, -1))
    assert np.array_equal(Life("B36/S23", "dead").step(x), y)
    d = batch.labels["density"]
    # Densities uniform on [0, 1] (KS distance at n = 300, alpha = 0.001: 0.113).
    ks = np.max(np.abs(np.sort(d) - np.arange(1, 301) / 300))
    assert ks < 0.113
    # Each grid's live fraction follows its density.
    assert np.corrcoef(d, x.reshape(300, -1).mean(axis=1))[0, 1] > 0.95
    # Same data in both formats: format does not key the stream.
    other = tasks.get("life", format="bytes", size=16, rule="B36/S23", boundary="dead")
    assert np.array_equal(other.batch(3, seed=1).labels["input"], x[:3])


def test_task_bad_parameters():
    with pytest.raises(ValueError, match="rule"):
        tasks.get("eca", rule=300)
    with pytest.raises(ValueError, match="sample_width"):
        tasks.get("eca", width=50, sample_width=60)
    with pytest.raises(ValueError, match="horizon"):
        tasks.get("eca", seq_length=10, stride=5, horizon=20)
    with pytest.raises(ValueError, match="rule"):
        tasks.get("life", rule="B3/S2/3")
    with pytest.raises(ValueError, match="density"):
        tasks.get("life", density_low=0.8, density_high=0.2)
    with pytest.raises(ValueError, match="size"):
        tasks.get("life", size=0)
    with pytest.raises(ValueError, match="seq_length"):
        tasks.get("eca", seq_length=0)


# --- complexity ------------------------------------------------------------------------------


def lz76_ref(s: list[int]) -> int:
    """Exhaustive-history parse by definition."""
    n, p, c = len(s), 0, 0
    while p < n:
        length = 0
        while p + length < n and any(
            s[q : q + length + 1] == s[p : p + length + 1] for q in range(p)
        ):
            length += 1
        c += 1
        p += length + 1
    return c


def test_complexity_against_independent_computations():
    states = ECA(110).run("random", 15, width=24, count=5, seed=3)
    m = complexity(states, block=2)
    for b in range(5):
        cells = states[b].ravel()
        assert m["lz_phrases"][b] == lz76_ref(cells.tolist())
        n = cells.size
        assert np.isclose(m["lz_normalized"][b], m["lz_phrases"][b] * np.log2(n) / n)
        words = np.stack([states[b][:, :-1], states[b][:, 1:]], -1).reshape(-1, 2) @ [2, 1]
        p = np.bincount(words, minlength=4) / words.size
        h = -(p[p > 0] * np.log2(p[p > 0])).sum() / 2
        assert np.isclose(m["block_entropy"][b], h)
        packed = np.packbits(cells, bitorder="little").tobytes()
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        ref = len(z.compress(packed) + z.flush()) / len(packed)
        assert abs(m["compression_ratio"][b] - ref) < 0.1 * ref + 0.02


def test_complexity_orders_rule_classes():
    rows = {r: ECA(r).run("random", 119, width=120, seed=5) for r in (0, 4, 30, 110)}
    ratio = {r: complexity(v)["compression_ratio"] for r, v in rows.items()}
    assert ratio[0] < ratio[4] < ratio[110] < ratio[30]
    single = complexity(rows[30])
    assert isinstance(single["lz_phrases"], int) and 0.9 < single["block_entropy"] <= 1


# --- pictures --------------------------------------------------------------------------------


def decode_gray_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:]


def test_png_holds_the_space_time_diagram(tmp_path):
    cells = ECA(90).run("single", 20, width=41)
    img = decode_gray_png(to_png(cells, scale=3))
    assert img.shape == (63, 123)
    assert np.array_equal(img[::3, ::3] == 0, cells == 1)
    out = tmp_path / "rule110.png"
    assert (
        render_main(["eca", "--rule", "110", "--width", "400", "--steps", "200", "--out", str(out)])
        == 0
    )
    diagram = decode_gray_png(out.read_bytes())
    assert diagram.shape == (402, 800)
    assert np.array_equal(diagram[::2, ::2] == 0, ECA(110).run("single", 200, width=400) == 1)


def test_gif_and_life_render(tmp_path):
    frames = Life().run(kleene.cellular.pattern("glider", (10, 10)), 8)
    data = to_gif(frames, scale=2)
    assert data[:6] == b"GIF89a" and struct.unpack("<HH", data[6:10]) == (20, 20)
    assert data.count(b"\x21\xf9\x04") == 9  # one graphic-control block per frame
    out = tmp_path / "life.gif"
    assert (
        render_main(
            ["life", "--pattern", "gosper_gun", "--size", "48", "--steps", "30", "--out", str(out)]
        )
        == 0
    )
    assert out.read_bytes()[:6] == b"GIF89a"
    png = tmp_path / "life.png"
    render_main(["life", "--size", "20", "--steps", "3", "--out", str(png)])
    assert decode_gray_png(png.read_bytes()).shape == (80, 80)


def test_eca_task_train_and_test_splits_share_trajectories():
    common = dict(rule=110, width=128, seq_length=10, sample_width=128, horizon=199)
    train = tasks.get("eca", split="train", **common).batch(100, seed=2)
    test = tasks.get("eca", split="test", **common).batch(100, seed=2)
    assert train.labels["t0"].max() <= 180 - 10 and test.labels["t0"].min() >= 180
    # Same trajectory: continue a train window to the start of a test window.
    i, j = 0, 0
    gap = int(test.labels["t0"][j] - train.labels["t0"][i])
    rolled = ECA(110).step(train.labels["states"][i, 0], gap)
    assert np.array_equal(rolled, test.labels["states"][j, 0])
    with pytest.raises(ValueError, match="split"):
        tasks.get("eca", split="test", train_fraction=1.0, **common)
