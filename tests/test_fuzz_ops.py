"""Fuzzing the ops' arguments and the tokenizer loaders: every call either works (and then
returns arrays of the documented shape, equal to the reference where one exists) or raises
ValueError / TypeError naming what is wrong; never another exception, a crash or a hang."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from kleene.tokbias import TokenizerModel  # noqa: E402
from kleene.triton_kernels.linear_recurrence import linear_recurrence  # noqa: E402
from kleene.triton_kernels.linear_recurrence.reference import linear_recurrence_ref  # noqa: E402
from kleene.triton_kernels.selective_scan import selective_scan  # noqa: E402

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
DTYPES = [torch.float32, torch.float64, torch.float16, torch.int32, torch.bool]


def tensor(draw, shape, dtype, sign=0):
    """Random values of ``shape``; ``sign`` +1 / -1 makes floats non-negative / non-positive."""
    data = draw(st.integers(0, 2**32 - 1))
    gen = torch.Generator().manual_seed(data)
    if dtype in (torch.int32, torch.bool):
        return torch.randint(0, 2, shape, generator=gen).to(dtype)
    values = torch.randn(shape, generator=gen, dtype=torch.float64)
    return (values.abs() * sign if sign else values).to(dtype)


@st.composite
def recurrence_args(draw):
    b, t, d = draw(st.integers(0, 3)), draw(st.integers(0, 9)), draw(st.integers(0, 4))
    shape = (b, t, d)
    x_shape = draw(st.sampled_from([shape, (b, t), (b, t, d + 1), (t, d)]))
    dtype = draw(st.sampled_from(DTYPES))
    kwargs = {"reverse": draw(st.booleans()), "output_final_state": draw(st.booleans())}
    kind = draw(st.sampled_from(["none", "valid", "list", "bad", "float"]))
    if kind != "none":
        cuts = sorted(draw(st.lists(st.integers(0, t), max_size=3)))
        offsets = [0, *cuts, t]
        if kind == "bad":
            offsets = draw(st.lists(st.integers(-2, t + 2), min_size=1, max_size=4))
        kwargs["cu_seqlens"] = {
            "valid": torch.tensor(offsets),
            "bad": torch.tensor(offsets),
            "list": offsets,
            "float": torch.tensor(offsets, dtype=torch.float32),
        }[kind]
    if draw(st.booleans()):
        n = draw(st.integers(0, 3))
        kwargs["initial_state"] = tensor(draw, (n, draw(st.integers(0, 4))), dtype)
    return tensor(draw, shape, dtype), tensor(draw, x_shape, dtype), kwargs


@FUZZ
@given(recurrence_args())
def test_linear_recurrence_works_or_refuses(args):
    a, x, kwargs = args
    try:
        out = linear_recurrence(a, x, **kwargs)
    except (ValueError, TypeError):
        return
    h = out[0] if kwargs["output_final_state"] else out
    assert h.shape == x.shape
    if a.dtype == torch.float64 and "cu_seqlens" not in kwargs and "initial_state" not in kwargs:
        want = linear_recurrence_ref(a, x, reverse=kwargs["reverse"])
        want = want[0] if isinstance(want, tuple) else want
        torch.testing.assert_close(h, want)


@st.composite
def scan_args(draw):
    b, d, length, n = (draw(st.integers(0, 2)), draw(st.integers(0, 3)),
                       draw(st.integers(0, 6)), draw(st.integers(0, 3)))  # fmt: skip
    dtype = draw(st.sampled_from(DTYPES))
    u = tensor(draw, (b, d, length), dtype)
    delta = tensor(draw, draw(st.sampled_from([(b, d, length), (b, d)])), dtype, sign=1)
    a = tensor(draw, draw(st.sampled_from([(d, n), (n, d), (d,)])), dtype, sign=-1)
    bc_shape = draw(st.sampled_from([(d, n), (b, n, length), (b, 1, n, length), (b, n)]))
    kwargs = {
        "delta_softplus": draw(st.booleans()),
        "return_last_state": draw(st.booleans()),
    }
    if draw(st.booleans()):
        kwargs["D"] = tensor(draw, draw(st.sampled_from([(d,), (d + 1,)])), dtype)
    if draw(st.booleans()):
        kwargs["cu_seqlens"] = draw(st.sampled_from([[0, length], torch.tensor([0, length])]))
    return u, delta, a, tensor(draw, bc_shape, dtype), tensor(draw, bc_shape, dtype), kwargs


@FUZZ
@given(scan_args())
def test_selective_scan_works_or_refuses(args):
    u, delta, a, b, c, kwargs = args
    try:
        out = selective_scan(u, delta, a, b, c, **kwargs)
    except (ValueError, TypeError):
        return
    y = out[0] if kwargs["return_last_state"] else out
    assert y.shape == u.shape


def _tokenizer_json(draw) -> dict:
    alphabet = ["a", "b", "c", "Ġ", "ab", "bc", "abc"]
    vocab_tokens = draw(st.lists(st.sampled_from(alphabet), max_size=7, unique=True))
    vocab = {t: i for i, t in enumerate(vocab_tokens)}
    if draw(st.booleans()):
        vocab[draw(st.sampled_from(alphabet))] = draw(st.integers(-3, 20))  # clashing ids
    merges = draw(
        st.lists(st.sampled_from(["a b", "b c", "ab c", "a", "x y", "a b c"]), max_size=4)
    )
    pre = draw(
        st.sampled_from(
            [
                None,
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
                {"type": "Whitespace"},
                {"type": "Split", "pattern": {"Regex": "[a-"}, "behavior": "Isolated"},
                {"type": "Sequence", "pretokenizers": []},
            ]
        )
    )
    norm = draw(st.sampled_from([None, {"type": "NFC"}, {"type": "Lowercase"}, {"type": "Bogus"}]))
    model = {"type": draw(st.sampled_from(["BPE", "WordPiece", "Unigram", "Nope"])),
             "vocab": vocab, "merges": merges}  # fmt: skip
    doc = {"version": "1.0", "model": model, "pre_tokenizer": pre, "normalizer": norm}
    for key in draw(st.lists(st.sampled_from(list(doc)), max_size=2)):
        doc.pop(key, None)  # missing fields
    return doc


def _encode_works_or_refuses(model) -> None:
    """A loaded tokenizer encodes or refuses a text it cannot cover, with ValueError."""
    for text in (b"abc", b"a", b"", "\u00e9".encode()):
        try:
            ids = model.encode(text)
        except ValueError:
            continue
        assert all(0 <= i < model.vocab_size for i in ids)
        assert model.decode(ids) == text


@FUZZ
@given(st.data())
def test_tokenizer_loaders_work_or_refuse(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    if data.draw(st.booleans()):
        path.write_text(json.dumps(_tokenizer_json(data.draw)))
    else:
        path.write_bytes(data.draw(st.binary(max_size=64)))
    try:
        model = TokenizerModel.from_pretrained_file(path)
    except (ValueError, TypeError):
        return
    _encode_works_or_refuses(model)


@FUZZ
@given(st.data())
def test_tiktoken_loader_works_or_refuses(tmp_path_factory, data):
    import base64

    path = tmp_path_factory.mktemp("tik") / "ranks.tiktoken"
    lines = []
    for _ in range(data.draw(st.integers(0, 6))):
        token = data.draw(st.binary(min_size=0, max_size=3))
        rank = data.draw(st.integers(-2, 300))
        sep = data.draw(st.sampled_from([" ", "\t", ""]))
        lines.append(base64.b64encode(token) + sep.encode() + str(rank).encode())
    if data.draw(st.booleans()):
        lines.append(data.draw(st.binary(max_size=16)))
    path.write_bytes(b"\n".join(lines))
    pre = data.draw(st.sampled_from([None, "none", "gpt2", "cl100k", "nonsense"]))
    try:
        model = TokenizerModel.from_tiktoken(path, pretokenizer=pre)
    except (ValueError, TypeError):
        return
    _encode_works_or_refuses(model)


def test_a_tokenizer_json_that_panics_the_tokenizers_library_is_refused(tmp_path):
    # found by the fuzz above: two tokens sharing an id make `tokenizers` panic while loading
    path = tmp_path / "tokenizer.json"
    model = {"type": "BPE", "vocab": {"b": 0, "a": 0}, "merges": ["a b"]}
    path.write_text(json.dumps({"version": "1.0", "model": model}))
    with pytest.raises(ValueError, match="is not a tokenizer.json"):
        TokenizerModel.from_pretrained_file(path)
