"""MAD's recall-type tasks and H3's induction heads: replayed layouts and distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kleene import IGNORE_INDEX, tasks

ALPHA = 1e-4


def uniform_p(counts: np.ndarray) -> float:
    return stats.chisquare(counts).pvalue


def replay_recall(raw: np.ndarray, n: int, multi: bool, copy: int) -> tuple[np.ndarray, int]:
    """MAD's test targets for one raw (unshifted) sequence, rebuilt by reading it; also the
    number of noise slots. Asserts the structural rules on the way."""
    half = n // 2
    bound: dict[int, int] = {}
    targets, noise = [], 0
    body = raw[: len(raw) - (2 if multi else 3)]
    for k, v in body.reshape(-1, 2):
        if k >= n:
            assert v >= n, "noise comes in pairs"
            targets += [IGNORE_INDEX, IGNORE_INDEX]
            noise += 1
            continue
        assert k < half <= v < n
        seen = k in bound
        assert bound.setdefault(k, v) == v, "a key keeps its value within a sequence"
        targets += [IGNORE_INDEX, v if seen and multi else IGNORE_INDEX]
    if not multi:
        assert raw[-3] == copy
        targets.append(IGNORE_INDEX)
    probe, value = raw[-2:]
    assert bound[probe] == value
    targets += [IGNORE_INDEX, value]
    return np.array(targets[1:]), noise


@pytest.mark.parametrize("name", ["in_context_recall", "noisy_in_context_recall"])
@pytest.mark.parametrize("multi", [True, False])
def test_recall_targets_match_a_replay_of_the_sequence(name, multi):
    params = dict(length=64, multi_query=multi)
    nxt = tasks.get(name, **params).batch(300, seed=4)
    rec = tasks.get(name, targets="recall", **params).batch(300, seed=4)
    assert np.array_equal(nxt.tokens, rec.tokens)
    lab = nxt.labels["targets"]
    assert np.array_equal(lab[:, :-1], nxt.tokens[:, 1:])
    task = tasks.get(name, **params)
    assert nxt.tokens.shape[1] == (63 if multi else 64)
    for row in range(len(nxt)):
        raw = np.append(nxt.tokens[row], lab[row, -1])
        expected, _ = replay_recall(raw, task.n_ordinary, multi, task.vocab_size - 1)
        assert np.array_equal(rec.labels["targets"][row], expected)


def test_noise_slots_keys_values_and_probe_follow_their_laws():
    task = tasks.get("noisy_in_context_recall", length=128, frac_noise=0.4)
    batch = task.batch(2000, seed=8)
    raw = np.concatenate([batch.tokens, batch.labels["targets"][:, -1:]], axis=1)
    pairs = raw[:, :-2].reshape(len(batch), -1, 2)
    noise = (pairs[:, :, 0] >= 16).sum()
    slots = len(batch) * (pairs.shape[1] - 1)  # one slot per row is exempt
    assert stats.binomtest(int(noise), slots, 0.4).pvalue > ALPHA
    keys = pairs[:, :, 0][pairs[:, :, 0] < 16]
    assert uniform_p(np.bincount(keys, minlength=8)) > ALPHA
    noise_tokens = pairs[pairs[:, :, 0] >= 16].ravel()
    assert uniform_p(np.bincount(noise_tokens - 16, minlength=16)) > ALPHA
    # the value bound to a key on first sight is uniform over the values
    first = [pairs[r][pairs[r, :, 0] < 16][0, 1] for r in range(len(batch))]
    assert uniform_p(np.bincount(np.array(first) - 8, minlength=8)) > ALPHA
    # the probe is uniform over the keys shown (rows that showed all 8 keys)
    full = [r for r in range(len(batch)) if len(set(pairs[r, :, 0][pairs[r, :, 0] < 16])) == 8]
    assert len(full) > 1800
    assert uniform_p(np.bincount(raw[full, -2], minlength=8)) > ALPHA


@pytest.mark.parametrize("selective", [True, False])
def test_copying_layout_and_labels(selective):
    v, seq_len, n = 16, 64, 8
    name = "selective_copying" if selective else "copying"
    batch = tasks.get(name, vocab_size=v, length=seq_len, num_tokens_to_copy=n).batch(3000, seed=2)
    tok, lab = batch.tokens, batch.labels["targets"]
    body = seq_len - n - 1
    assert (tok[:, body] == v - 1).all() and (tok[:, body + 1 :] == v - 2).all()
    assert (lab[:, : body + 1] == IGNORE_INDEX).all()
    data_mask = tok[:, :body] < v - 2
    assert (data_mask.sum(axis=1) == n).all() and (tok[:, :body] <= v - 2).all()
    data = tok[:, :body][data_mask].reshape(-1, n)
    assert np.array_equal(lab[:, body + 1 :], data)
    assert uniform_p(np.bincount(data.ravel(), minlength=v - 2)) > ALPHA
    first_data = data_mask.argmax(axis=1)
    if selective:
        assert data_mask[:, body - 1].all(), "the last data token precedes the copy token"
        # each of the L - 2n - 1 blanks goes before a uniform data token: Binomial(., 1/n)
        blanks = seq_len - 2 * n - 1
        counts = np.bincount(first_data, minlength=blanks + 1)
        probs = stats.binom.pmf(np.arange(blanks + 1), blanks, 1 / n)
        expected = probs * len(batch)
        keep = expected >= 5
        obs = np.append(counts[keep], counts[~keep].sum())
        exp = np.append(expected[keep], expected[~keep].sum())
        assert (~keep).any() and stats.chisquare(obs, exp).pvalue > ALPHA
    else:
        assert (first_data == 0).all() and data_mask[:, :n].all()


def test_compression_reconstruction_is_the_inputs():
    batch = tasks.get("compression", vocab_size=16, length=32).batch(2000, seed=1)
    tok = batch.tokens
    assert np.array_equal(batch.labels["reconstruction"], tok)
    assert (tok[:, -1] == 15).all()
    assert uniform_p(np.bincount(tok[:, :-1].ravel(), minlength=15)) > ALPHA
    noisy = tasks.get("compression", vocab_size=20, noise_vocab_size=4, frac_noise=0.25)
    tok = noisy.batch(2000, seed=1).tokens[:, :-1]
    noise = int(((tok >= 15) & (tok < 19)).sum())
    assert stats.binomtest(noise, tok.size, 0.25).pvalue > ALPHA


def test_memorization_labels_come_from_one_fixed_map():
    task = tasks.get("memorization", vocab_size=64, length=32)
    kv = task.kv_map()
    assert len(kv) == 31 and len(set(kv.tolist())) == 31 and ((kv >= 31) & (kv < 63)).all()
    for seed in (0, 1):
        batch = task.batch(500, seed=seed)
        keys, inserts = batch.tokens[:, 0::2], batch.tokens[:, 1::2]
        assert (inserts == 63).all()
        assert np.array_equal(batch.labels["targets"][:, 1::2], kv[keys])
        assert (batch.labels["targets"][:, 0::2] == IGNORE_INDEX).all()
    assert uniform_p(np.bincount(keys.ravel(), minlength=31)) > ALPHA
    other = tasks.get("memorization", vocab_size=64, length=32, map_seed=1).kv_map()
    assert not np.array_equal(kv, other)


def test_induction_heads_answer_and_trigger_position():
    v, seq_len = 16, 40
    task = tasks.get("induction_heads", vocab_size=v, length=seq_len)
    batch = task.batch(6000, seed=5)
    tok, lab = batch.tokens, batch.labels["targets"]
    assert tok.shape == (6000, seq_len + 1)
    trig = tok == v - 1
    assert (trig.sum(axis=1) == 2).all() and trig[:, -1].all()
    first = trig.argmax(axis=1)
    assert uniform_p(np.bincount(first, minlength=seq_len - 2)) > ALPHA
    answer = tok[np.arange(len(batch)), first + 1]
    assert np.array_equal(lab[:, -1], answer) and (lab[:, :-1] == IGNORE_INDEX).all()
    assert ((tok >= 1) & (tok <= v - 1)).all()
    ordinary = tok[~trig]
    assert uniform_p(np.bincount(ordinary, minlength=v - 1)[1:]) > ALPHA
    train = tasks.get("induction_heads", vocab_size=v, length=seq_len, targets="next_token")
    full = train.batch(10, seed=5)
    assert np.array_equal(full.tokens, tok[:10])
    assert np.array_equal(full.labels["targets"][:, :-1], tok[:10, 1:])


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("in_context_recall", dict(length=31), "length"),
        ("in_context_recall", dict(vocab_size=4, noise_vocab_size=3), "vocab_size"),
        ("in_context_recall", dict(frac_noise=0.2), "noise_vocab_size"),
        ("selective_copying", dict(length=33, num_tokens_to_copy=16), "2\\*num_tokens_to_copy"),
        ("compression", dict(vocab_size=2), "vocab_size"),
        ("memorization", dict(length=31), "even"),
        ("induction_heads", dict(length=2), "length"),
        ("fuzzy_in_context_recall", dict(vocab_size=6), "fewer than the motif sizes"),
        ("fuzzy_in_context_recall", dict(length=13), "length"),
    ],
)
def test_bad_parameters_name_the_failed_constraint(name, params, message):
    with pytest.raises(ValueError, match=message):
        tasks.get(name, **params)


def runs(tokens: np.ndarray, n: int, noise_end: int) -> list[tuple[str, int, list[int]]]:
    """Splits a fuzzy-recall stream into maximal runs (kind, start, tokens): keys "k", values
    "v", noise "x" and specials "s" (pad, copy prefix)."""
    out: list[tuple[str, int, list[int]]] = []
    for pos, t in enumerate(tokens.tolist()):
        kind = "k" if t < n // 2 else "v" if t < n else "x" if t < noise_end else "s"
        if out and out[-1][0] == kind and kind != "s":
            out[-1][2].append(t)
        else:
            out.append((kind, pos, [t]))
    return out


@pytest.mark.parametrize("multi", [True, False])
@pytest.mark.parametrize("noise", [0, 3])
def test_fuzzy_recall_replay(multi, noise):
    """Parse each row back into pairs (key and value alphabets are disjoint), rebuild MAD's
    test targets from the parse, and compare."""
    v = 16 + noise
    params = dict(vocab_size=v, length=64, multi_query=multi, noise_vocab_size=noise)
    params["frac_noise"] = 0.2 if noise else 0.0
    task = tasks.get("fuzzy_in_context_recall", **params)
    n = task.n_ordinary
    pad = v - 1 if multi else v - 2
    recallable = 0
    for split in ("train", "test"):
        batch = tasks.get("fuzzy_in_context_recall", split=split, **params).batch(200, seed=3)
        lab = batch.labels["targets"]
        for row in range(len(batch)):
            tok = batch.tokens[row]
            if split == "train":
                assert np.array_equal(lab[row, :-1], tok[1:])
                continue
            raw = np.append(tok, lab[row, -1])  # the last target is the last value token
            pieces = runs(raw, n, n + noise)
            specials = [p for p in pieces if p[0] == "s"]
            assert all(raw[p[1]] == pad for p in specials[: len(specials) - (not multi)])
            if not multi:
                assert raw[specials[-1][1]] == v - 1 and pieces[-3] == specials[-1]
            body = [p for p in pieces if p[0] in "kv"]
            assert [p[0] for p in body] == ["k", "v"] * (len(body) // 2)
            expected = np.full(len(raw), IGNORE_INDEX)
            bound: dict[tuple, tuple] = {}
            for (_, _, key), (_, start, value) in zip(body[0::2], body[1::2], strict=True):
                key, value = tuple(key), tuple(value)
                assert len(set(key)) == len(key) == 3 and len(set(value)) == len(value) <= 3
                seen = key in bound
                assert bound.setdefault(key, value) == value, "a key keeps its value"
                last = start == body[-1][1]
                if (seen and multi) or last:
                    expected[start : start + len(value)] = value
                recallable += last and seen
            assert np.array_equal(lab[row], expected[1:])
    # the probe is usually shown before it is queried (MAD's offset can miss the loop)
    assert recallable > 0.8 * 200


def test_fuzzy_training_keys_take_every_size():
    batch = tasks.get("fuzzy_in_context_recall", length=128).batch(200, seed=1)
    sizes = set()
    for tok in batch.tokens:
        sizes |= {len(p[2]) for p in runs(tok, 15, 15) if p[0] == "k"}
    assert sizes == {1, 2, 3}


@pytest.mark.parametrize("allow_dot", [False, True])
def test_associative_recall_binding_query_and_answer(allow_dot):
    v, seq_len = 12, 16  # keys 1..5, values 6..10
    task = tasks.get("associative_recall", vocab_size=v, length=seq_len, allow_dot=allow_dot)
    batch = task.batch(6000, seed=2)
    tok, lab = batch.tokens, batch.labels["targets"]
    assert tok.shape == (6000, seq_len + 2)  # pairs, "=>", query key (value is the label)
    pairs = tok[:, :seq_len].reshape(len(batch), -1, 2)
    assert ((pairs[:, :, 0] >= 1) & (pairs[:, :, 0] <= 5)).all()
    assert ((pairs[:, :, 1] >= 6) & (pairs[:, :, 1] <= 10)).all()
    assert (tok[:, seq_len] == v - 1).all() and (lab[:, :-1] == IGNORE_INDEX).all()
    query = tok[:, -1]
    absent = 0
    for r in range(len(batch)):
        bound = {}
        for k, x in pairs[r]:
            assert bound.setdefault(int(k), int(x)) == x, "one value per key within a row"
        if int(query[r]) in bound:
            assert lab[r, -1] == bound[int(query[r])]
        else:
            assert allow_dot and lab[r, -1] == 0
            absent += 1
    assert (absent > 0) == allow_dot
    if allow_dot:
        assert stats.chisquare(np.bincount(query, minlength=6)[1:]).pvalue > ALPHA
    else:
        full = np.array([len(set(pairs[r, :, 0])) == 5 for r in range(len(batch))])
        assert full.mean() > 0.25  # rows that showed all 5 keys
        assert stats.chisquare(np.bincount(query[full], minlength=6)[1:]).pvalue > ALPHA
    assert uniform_p(np.bincount(pairs[:, 0, 1] - 6, minlength=5)) > ALPHA
