"""One table of kleene's kernels against their peers on one device, with the copy bandwidth
measured in the same run as the practical memory ceiling.

Rows: implementation, median ms, achieved GB/s (minimal byte model), % of the measured copy
bandwidth, peak MiB allocated above the inputs, and the time ratio to kleene's row of the same
group (> 1: slower than kleene). A peer that fails to import, build or run is a row with its
error, never dropped. Writes ``table.json`` (and ``table.md``) to ``--out``.

``--dry-run`` runs on CPU through Triton's interpreter with tiny shapes, so the script is
exercised by the test suite (tests/test_gpu_run.py); its numbers mean nothing.

    python bench/gpu/table.py --out "$OUT"            # on a CUDA machine
    python bench/gpu/table.py --dry-run --out /tmp/x  # anywhere
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

DRY_RUN = "--dry-run" in sys.argv
if DRY_RUN:  # before triton is first imported
    os.environ["TRITON_INTERPRET"] = "1"
    os.environ["KLEENE_TRITON_CPU"] = "1"

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ for peers_scan

EXP_PER_S = 3.9e12
"""Special-function (exp2) throughput of an H100 / H200 SXM: 16 per SM per clock x 132 SMs x
~1.83 GHz (see ../shared/reference/kernels.md, section 8)."""


# --- timing -------------------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(call, device: str, reps: int) -> float:
    call()  # compile / autotune outside the timing
    times = []
    for _ in range(reps):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def peak_mib(call, device: str) -> float | None:
    """Peak memory allocated during one call above what was allocated before it."""
    if device != "cuda":
        return None
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    call()
    torch.cuda.synchronize()
    return round((torch.cuda.max_memory_allocated() - base) / 2**20, 1)


def copy_gbps(device: str, reps: int) -> float:
    """Device-to-device copy bandwidth, bytes read + written."""
    n = (1 << 30) if device == "cuda" else (1 << 24)
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src), device, reps)
    return 2 * n / (ms * 1e-3) / 1e9


# --- linear recurrence ------------------------------------------------------------------------


def linrec_inputs(shape, dtype, device, grad):
    g = torch.Generator(device=device).manual_seed(0)
    a = (torch.rand(shape, device=device, generator=g) * 0.1 + 0.9).to(dtype)  # in (0.9, 1)
    x = torch.randn(shape, device=device, generator=g).to(dtype)
    return a.requires_grad_(grad), x.requires_grad_(grad)


def _leaf(t):
    return t.detach().contiguous().requires_grad_(t.requires_grad)


def linrec_impls():
    """name -> loader returning fn(a, x) -> h over kleene's [B, T, D] inputs (layout changes of
    the peers are done once by ``prepare`` outside the timing)."""

    def kleene():
        from kleene.triton_kernels import linear_recurrence

        return lambda a, x: (a, x), linear_recurrence

    def accelerated_scan():
        from accelerated_scan.scalar import scan

        return lambda a, x: (_leaf(a.transpose(1, 2)), _leaf(x.transpose(1, 2))), scan

    def fla(name):
        def load():
            import fla.ops.hgrn as hgrn

            kernel = getattr(hgrn, name)
            # HGRN takes g = log a (so it cannot express negative gates)
            prepare = lambda a, x: (_leaf(x), _leaf(a.float().log().to(a.dtype)))  # noqa: E731
            return prepare, lambda x, g: kernel(x, g)[0]

        return load

    return {
        "kleene linear_recurrence": kleene,
        "accelerated-scan scalar": accelerated_scan,
        "fla chunk_hgrn": fla("chunk_hgrn"),
        "fla fused_recurrent_hgrn": fla("fused_recurrent_hgrn"),
    }


def linrec_groups(device, dry):
    shapes = [(1, 40, 8)] if dry else [(8, 4096, 2048), (2, 16384, 2048)]
    dtype = torch.float32 if dry else torch.bfloat16
    for shape in shapes:
        for backward in (False, True):
            items = shape[0] * shape[1] * shape[2]
            group = "linrec {} B{}-T{}-D{} {}".format(
                "fwd+bwd" if backward else "fwd", *shape, str(dtype).split(".")[-1]
            )
            bytes_ = items * dtype.itemsize * (8 if backward else 3)
            yield group, bytes_, None, _linrec_calls(shape, dtype, device, backward)


def _linrec_calls(shape, dtype, device, backward):
    for name, load in linrec_impls().items():

        def make(load=load):
            prepare, fn = load()
            args = prepare(*linrec_inputs(shape, dtype, device, backward))
            return _with_backward(lambda: fn(*args), args, backward)

        yield name, make


def _with_backward(forward, args, backward):
    def call():
        out = forward()
        if backward:
            leaves = [t for t in args if isinstance(t, torch.Tensor) and t.requires_grad]
            torch.autograd.grad(out, leaves, torch.ones_like(out))

    return call


# --- selective scan ---------------------------------------------------------------------------


def s6_groups(device, dry):
    import peers_scan

    b, d, n, length = (1, 8, 4, 40) if dry else (8, 1536, 16, 2048)
    dtype = torch.float32 if dry else torch.bfloat16
    item = dtype.itemsize
    for backward in (False, True):
        group = (
            f"S6 {'fwd+bwd' if backward else 'fwd'} B{b} D{d} N{n} L{length} "
            + str(dtype).split(".")[-1]
        )
        fwd_bytes = item * b * length * (4 * d + 2 * n)  # read u, delta, z, B, C; write out
        bytes_ = fwd_bytes + (item * b * length * (8 * d + 4 * n) if backward else 0)
        exps = b * length * d * n * (2 if backward else 1)  # the backward recomputes them
        bounds = {"bound: exp units at 3.9 T/s": exps / EXP_PER_S * 1e3}
        calls = _s6_calls(peers_scan, (b, d, n, length), dtype, device, backward, dry)
        yield group, bytes_, bounds, calls


def s6_inputs(shape, dtype, device, grad):
    b, d, n, length = shape
    g = torch.Generator(device=device).manual_seed(0)

    def r(*size, dt=dtype, scale=1.0, rand=False):
        f = torch.rand if rand else torch.randn
        return (f(*size, generator=g, device=device) * scale).to(dt).requires_grad_(grad)

    A = -torch.arange(1.0, n + 1, device=device).repeat(d, 1)
    return dict(
        u=r(b, d, length), delta=r(b, d, length, scale=0.5, rand=True),
        A=A.requires_grad_(grad), B=r(b, n, length), C=r(b, n, length),
        D=r(d, dt=torch.float32), z=r(b, d, length),
        delta_bias=r(d, dt=torch.float32, scale=0.5, rand=True),
    )  # fmt: skip


def _s6_calls(peers, shape, dtype, device, backward, dry):
    def kleene():
        from kleene.triton_kernels import selective_scan

        return lambda x: selective_scan(**x, delta_softplus=True, backend="triton")

    def mamba_cuda():
        mod = peers.load_mamba_cuda()
        if mod is None:
            raise RuntimeError("selective_scan_cuda not built (set MAMBA_SRC to its source)")

        def fn(x):
            B, C = x["B"].unsqueeze(1), x["C"].unsqueeze(1)
            return peers.MambaCudaScan.apply(mod, x["u"], x["delta"], x["A"], B, C, x["D"],
                                             x["z"], x["delta_bias"], True)  # fmt: skip

        return fn

    def ssd():
        scan = peers.import_ssd()
        b, d, n, length = shape
        heads = d // 64 if d >= 64 else 1
        headdim = d // heads

        def fn(x):
            bl = lambda t: t.transpose(1, 2)  # noqa: E731  [b, d, L] -> [b, L, d]
            xs = bl(x["u"]).reshape(b, -1, heads, headdim)
            z = bl(x["z"]).reshape(b, -1, heads, headdim)
            dt = bl(x["delta"]).reshape(b, -1, heads, headdim)[..., 0].contiguous()
            A = x["A"][::headdim, 0].contiguous()
            B, C = bl(x["B"]).unsqueeze(2), bl(x["C"]).unsqueeze(2)
            D, bias = x["D"][::headdim].contiguous(), x["delta_bias"][::headdim].contiguous()
            return scan(xs, dt, A, B, C, chunk_size=256, D=D, z=z, dt_bias=bias, dt_softplus=True)

        return fn

    def mambapy():
        from mambapy.pscan import pscan

        return lambda x: peers.mambapy_scan(pscan, **x)

    loaders = {
        "kleene selective_scan": kleene,
        "mamba_ssm selective_scan_cuda": mamba_cuda,
        "mamba2 SSD (Triton)": ssd,
        "mambapy pscan": mambapy,
    }
    for name, load in loaders.items():

        def make(load=load):
            fn = load()
            x = s6_inputs(shape, dtype, device, backward)
            leaves = [t for t in x.values() if t.requires_grad]
            return _with_backward(lambda: fn(x), leaves, backward)

        yield name, make


# --- the table ----------------------------------------------------------------------------------


def measure(groups, device, reps, copy):
    rows = []
    for group, bytes_, bounds, calls in groups:
        base = None
        for impl, make in calls:
            row = dict(group=group, impl=impl, median_ms=None, GBps=None, pct_copy=None,
                       peak_MiB=None, ratio_to_kleene=None, error=None)  # fmt: skip
            try:
                call = make()
                row["median_ms"] = round(median_ms(call, device, reps), 4)
                row["peak_MiB"] = peak_mib(call, device)
                gbps = bytes_ / (row["median_ms"] * 1e-3) / 1e9
                row["GBps"], row["pct_copy"] = round(gbps, 1), round(100 * gbps / copy, 1)
                if impl.startswith("kleene"):
                    base = row["median_ms"]
                if base:
                    row["ratio_to_kleene"] = round(row["median_ms"] / base, 2)
            except Exception as err:  # noqa: BLE001 - every failure becomes the row's error
                row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            finally:
                if device == "cuda":
                    torch.cuda.empty_cache()
            rows.append(row)
        rows.append(dict(group=group, impl="bound: HBM at the copy bandwidth",
                         median_ms=round(bytes_ / (copy * 1e9) * 1e3, 4)))  # fmt: skip
        for name, ms in (bounds or {}).items():
            rows.append(dict(group=group, impl=name, median_ms=round(ms, 4)))
    return rows


def markdown(rows) -> str:
    head = "| group | implementation | median ms | GB/s | % of copy | peak MiB | ratio to kleene |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r.get(k) for k in ("median_ms", "GBps", "pct_copy", "peak_MiB")]
        cells = ["-" if c is None else str(c) for c in cells]
        ratio = r.get("ratio_to_kleene")
        ratio = "-" if ratio is None else f"{ratio}x"
        if r.get("error"):
            cells[0], ratio = f"error: {r['error']}", "-"
        lines.append(f"| {r['group']} | {r['impl']} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, interpreter, tiny shapes")
    parser.add_argument("--out", default=os.environ.get("OUT", "out"), help="output folder")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per row")
    args = parser.parse_args(argv)
    device = "cpu" if args.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("kleene: error: no CUDA device (use --dry-run to exercise the script on CPU)")
        return 2
    reps = args.reps or (2 if args.dry_run else 30)
    copy = copy_gbps(device, reps)
    groups = [*linrec_groups(device, args.dry_run), *s6_groups(device, args.dry_run)]
    rows = measure(groups, device, reps, copy)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu (dry run)"
    result = dict(device=name, dry_run=args.dry_run, copy_GBps=round(copy, 1),
                  torch=torch.__version__, triton=_version("triton"), rows=rows)  # fmt: skip
    table = f"device: {name}; copy bandwidth {copy:.1f} GB/s (read + write)\n\n" + markdown(rows)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.json").write_text(json.dumps(result, indent=1))
    (out / "table.md").write_text(table + "\n")
    return 0


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001
        return None


if __name__ == "__main__":
    sys.exit(main())
