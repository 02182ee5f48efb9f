"""Pictures of cellular automata: PNG space-time diagrams and Life frames, animated GIFs.

The PNG writer is numpy plus the standard library's zlib; GIFs are encoded in Rust (the ``gif``
crate). ``kleene render ...`` on the command line calls :func:`render_main`.

Example:
    >>> import kleene, zlib
    >>> png = to_png(kleene.ECA(90).run("single", 15, width=31), scale=2)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import argparse
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _core
from .cellular import ECA, Life, pattern, soup
from .cellular.patterns import PATTERNS
from .io import atomic_write_bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def to_png(cells: np.ndarray, scale: int = 1) -> bytes:
    """An 8-bit grayscale PNG of a 2D 0/1 array ``[H, W]`` (live cells black), each cell a
    ``scale x scale`` square."""
    cells = np.asarray(cells)
    if cells.ndim != 2 or cells.size == 0:
        raise ValueError(f"`cells` must be a non-empty [H, W] array, got shape {cells.shape}")
    if not 1 <= scale <= 64:
        raise ValueError(f"`scale` must be in [1, 64], got {scale}")
    pixels = np.where(cells != 0, 0, 255).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    h, w = pixels.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), pixels], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def to_gif(frames: np.ndarray, scale: int = 4, delay_ms: int = 100) -> bytes:
    """An animated, looping GIF of frames ``[F, H, W]`` (0/1, live cells black)."""
    frames = np.ascontiguousarray(np.asarray(frames) != 0, dtype=np.uint8)
    if frames.ndim != 3 or frames.size == 0:
        raise ValueError(f"`frames` must be a non-empty [F, H, W] array, got {frames.shape}")
    return _core.cellular_gif(frames, scale=scale, delay_cs=max(1, min(delay_ms // 10, 65535)))


def _parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = parser_class(prog="kleene render", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="kind", required=True, parser_class=parser_class)
    e = sub.add_parser("eca", help="space-time diagram of an elementary CA (PNG)")
    e.add_argument("--rule", type=int, default=110)
    e.add_argument("--width", type=int, default=400)
    e.add_argument("--steps", type=int, default=200)
    e.add_argument("--init", choices=("single", "random"), default="single")
    e.add_argument("--density", type=float, default=0.5)
    e.add_argument("--boundary", default="periodic")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--scale", type=int, default=2)
    e.add_argument("--out", required=True, help="output .png")
    g = sub.add_parser("life", help="Life frames: last frame (PNG) or animation (GIF)")
    g.add_argument("--rule", default="B3/S23")
    g.add_argument("--size", type=int, default=64)
    g.add_argument("--steps", type=int, default=100)
    g.add_argument("--pattern", default="soup", help=f"soup or one of {', '.join(PATTERNS)}")
    g.add_argument("--density", type=float, default=0.35)
    g.add_argument("--boundary", default="torus")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--scale", type=int, default=4)
    g.add_argument("--delay-ms", type=int, default=100)
    g.add_argument("--out", required=True, help="output .gif (animation) or .png (last frame)")
    return p


def render_main(
    argv: Sequence[str] | None = None,
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> int:
    """Entry point of ``kleene render {eca,life} ...``; returns the exit status. The picture
    is written atomically: a failure leaves no partial file."""
    args = _parser(parser_class).parse_args(argv)
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".gif") or (
        args.kind == "eca" and out.suffix.lower() != ".png"
    ):
        allowed = ".png" if args.kind == "eca" else ".png or .gif"
        raise ValueError(f"--out must end in {allowed}, got {str(out)!r}")
    if args.kind == "eca":
        eca = ECA(args.rule, args.boundary)
        cells = eca.run(
            args.init, args.steps, width=args.width, density=args.density, seed=args.seed
        )
        atomic_write_bytes(out, to_png(cells, args.scale))
    else:
        size = (args.size, args.size)
        if args.pattern == "soup":
            grid = soup(size, args.density, seed=args.seed)
        else:
            grid = pattern(args.pattern, size, offset=(1, 1))
        frames = Life(args.rule, args.boundary).run(grid, args.steps)
        if out.suffix.lower() == ".png":
            atomic_write_bytes(out, to_png(frames[-1], args.scale))
        else:
            atomic_write_bytes(out, to_gif(frames, args.scale, args.delay_ms))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(render_main())
