"""numpy's time for the work bench_tensor times, as `name size median_seconds runs` lines on stdout.

numpy runs on Debian's OpenBLAS (libopenblas0-pthread, both cores): Debian's default libblas.so.3 is the reference
BLAS, so the script re-runs itself with LD_LIBRARY_PATH pointing at OpenBLAS, under a python that has numpy
(/usr/bin/python3 when the one it was started with has none). conv2d is im2col (a strided window view copied into
a (N*OH*OW, C*KH*KW) matrix) and one matmul, the copy included in the time.

Usage: numpy_anchor.py [--max-n N] [--seconds S]
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def ensure_openblas():
    has_numpy = importlib.util.find_spec("numpy") is not None
    if has_numpy and os.environ.get("LD_LIBRARY_PATH", "").split(":")[0] == OPENBLAS:
        return
    python = sys.executable if has_numpy else "/usr/bin/python3"
    path = ":".join(p for p in [OPENBLAS, os.environ.get("LD_LIBRARY_PATH", "")] if p)
    os.execve(python, [python, os.path.abspath(__file__), *sys.argv[1:]], dict(os.environ, LD_LIBRARY_PATH=path))


def blas_library():
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line}
    return ",".join(sorted(libs)) or "none"


def timed(fn, seconds):
    """Median wall time of fn after one warm-up; runs until `seconds` have passed (at least 3, at most 50 runs)."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < seconds and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(times)


def conv2d_im2col(x, w):
    import numpy as np

    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (n, c, h, w, kh, kw)
    cols = np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h * wd, c * kh * kw)
    out = cols @ w.reshape(o, c * kh * kw).T  # (n*h*w, o)
    return out.reshape(n, h, wd, o).transpose(0, 3, 1, 2)


def main():
    ensure_openblas()
    import numpy as np

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=2048)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"# numpy {np.__version__}, blas {blas_library()}", flush=True)
    for n in (256, 512, 1024, 2048):
        if n > args.max_n:
            continue
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        print("matmul", n, *timed(lambda: a @ b, args.seconds), flush=True)
    x, y = rng.random(1 << 24, dtype=np.float32), rng.random(1 << 24, dtype=np.float32)
    print("add", 1 << 24, *timed(lambda: x + y, args.seconds), flush=True)
    print("sum", 1 << 24, *timed(lambda: x.sum(), args.seconds), flush=True)
    img, w = rng.random((8, 64, 56, 56), dtype=np.float32), rng.random((64, 64, 3, 3), dtype=np.float32)
    print("conv2d", 8, *timed(lambda: conv2d_im2col(img, w), args.seconds), flush=True)


if __name__ == "__main__":
    main()
