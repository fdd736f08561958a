"""Throw malformed files and bad arguments at the ``spherecodes`` command and at ``SphereCode.load``.

Every case runs in a subprocess with a wall-clock timeout and an address-space
limit (so that a case that tries to allocate terabytes fails fast instead of
thrashing the machine).  A case passes when:

* the command exits 0 or 2 (or 130 when the fuzzer interrupted it with
  SIGINT after the timeout, to show that Ctrl-C works), never 1 or a signal;
* nothing prints a Python traceback or "internal error";
* an exit 2 prints exactly one error line on stderr (``spherecodes: note:``
  lines aside), and for a file case that line names the file;
* ``SphereCode.load`` either returns or raises ``ValueError`` (a
  ``TypeError`` subclass of it included) with a one-line message naming the
  file -- never another exception, never a hang.

Usage::

    python benchmarks/fuzz_cli.py                    # everything, seed 0
    python benchmarks/fuzz_cli.py --seed 3 --sample 20 --jobs 2

It prints how many cases it tried and how many failed, listing each failure
with its command; the exit status is 1 when any failed.  Same seed, same cases.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spherecodes.cli import ScriptParser, _nonneg_int, _positive_float, _positive_int

ROOT = Path(__file__).resolve().parent.parent
#: Address-space limit of every case (bytes): big enough for numpy, numba and torch, far below a terabyte.
MEMORY_LIMIT = 8 * 2**30


@dataclass
class Case:
    """One command to run and what it is about."""

    name: str
    argv: list
    file: str | None = None          # the file a file case feeds in (its name must appear in an error)
    allowed: tuple = (0, 2)
    notes: list = field(default_factory=list)


# ---------------------------------------------------------------- malformed files
def _npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _npy_header_only(shape, descr="<f8", payload=64) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * payload


def _npz_bytes(**members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(f"{name}.npy", data if isinstance(data, bytes) else _npy_bytes(data))
    return buf.getvalue()


def _code(rng, d=4, K=9):
    W = rng.standard_normal((d, K))
    return W / np.linalg.norm(W, axis=0)


def _saved_code_bytes(W, meta_edit=None, drop=()) -> bytes:
    """A SphereCode file, optionally with its metadata edited or members dropped."""
    from spherecodes import SphereCode

    with tempfile.TemporaryDirectory() as tmp:
        path = SphereCode.from_W(W).save(Path(tmp) / "c.npz")
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    if meta_edit is not None:
        meta = meta_edit(meta)
    arrays["metadata"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    for k in drop:
        arrays.pop(k, None)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _csv(rows, fmt="{:.17g}", sep=",") -> str:
    return "\n".join(sep.join(fmt.format(v) for v in r) for r in rows) + "\n"


def file_cases(rng, folder: Path) -> list:
    """``(name, path)`` of malformed (and a few valid) input files, written into ``folder``."""
    W = _code(rng)
    Wt = W.T
    valid_npz = _saved_code_bytes(W)
    files = {}

    def put(name, data):
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        files[name] = path

    # random bytes under every suffix
    for suffix in (".npy", ".npz", ".csv", ".txt", ".pt", ".pth", ".safetensors", ".dat"):
        put(f"random{suffix}", rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes())
    # truncated and bit-flipped real files
    npy = _npy_bytes(W)
    for i, cut in enumerate(sorted(rng.integers(1, len(npy) - 1, 3))):
        put(f"truncated{i}.npy", npy[:cut])
    for i, cut in enumerate(sorted(rng.integers(1, len(valid_npz) - 1, 3))):
        put(f"truncated{i}.npz", valid_npz[:cut])
    for i in range(3):
        flipped = bytearray(valid_npz)
        for pos in rng.integers(0, len(flipped), 8):
            flipped[pos] ^= 0xFF
        put(f"flipped{i}.npz", bytes(flipped))
    # headers that lie about the size, object arrays, odd dtypes and shapes
    put("huge_header.npy", _npy_header_only((10**6, 10**6)))
    put("huge_header_1d.npy", _npy_header_only((10**12,)))
    put("huge_member.npz", _npz_bytes(W=_npy_header_only((10**6, 10**6))))
    put("huge_metadata.npz", _npz_bytes(W=W, metadata=_npy_header_only((), descr="<U1000000000", payload=8)))
    put("object.npy", _npy_bytes(np.array([{"a": 1}, None], dtype=object)))
    put("complex.npy", _npy_bytes(W.astype(complex)))
    put("strings.npy", _npy_bytes(np.array([["1", "0"], ["0", "1"]])))
    put("bool.npy", _npy_bytes(np.eye(3, dtype=bool)))
    put("int.npy", _npy_bytes(np.eye(3, dtype=np.int64)))
    put("vector.npy", _npy_bytes(W[:, 0]))
    put("cube.npy", _npy_bytes(np.zeros((2, 2, 2))))
    put("scalar.npy", _npy_bytes(np.float64(1.0)))
    put("empty_rows.npy", _npy_bytes(np.zeros((0, 5))))
    put("one_class.npy", _npy_bytes(W[:, :1]))
    put("nan.npy", _npy_bytes(np.where(rng.random(W.shape) < 0.1, np.nan, W)))
    put("inf.npy", _npy_bytes(np.where(rng.random(W.shape) < 0.1, np.inf, W)))
    put("float32_rows.npy", _npy_bytes(Wt.astype(np.float32)))
    put("float16.npy", _npy_bytes(W.astype(np.float16)))
    put("huge_values.npy", _npy_bytes(1e300 * W))
    put("tiny_values.npy", _npy_bytes(1e-310 * W))
    put("zeros.npy", _npy_bytes(np.zeros((3, 4))))
    put("duplicate_classes.npy", _npy_bytes(np.concatenate([W, W[:, :1]], axis=1)))
    put("fortran.npy", _npy_bytes(np.asfortranarray(W)))
    put("several.npz", _npz_bytes(a=W, b=W))
    put("no_arrays.npz", _npz_bytes())
    # SphereCode files with bad metadata
    put("meta_bad_json.npz", _saved_code_bytes(W, lambda m: "{not json"))
    put("meta_list.npz", _saved_code_bytes(W, lambda m: "[1, 2, 3]"))
    put("meta_deep.npz", _saved_code_bytes(W, lambda m: "[" * 100000 + "]" * 100000))
    put("meta_bogus_problem.npz", _saved_code_bytes(W, lambda m: {**m, "problem": "bogus"}))
    put("meta_missing_key.npz", _saved_code_bytes(W, lambda m: {k: v for k, v in m.items() if k != "rho_lower"}))
    put("meta_wrong_type.npz", _saved_code_bytes(W, lambda m: {**m, "restarts": "many", "rattlers": "x"}))
    put("meta_nan.npz", _saved_code_bytes(W, lambda m: {**m, "rho_one_vs_rest": float("nan")}))
    put("meta_other_format.npz", _saved_code_bytes(W, lambda m: {**m, "format": "other/9"}))
    put("meta_wrong_rho.npz", _saved_code_bytes(W, lambda m: {**m, "rho_one_vs_rest": 1.5}))
    put("no_distances.npz", _saved_code_bytes(W, drop=("distances",)))
    put("no_metadata.npz", _saved_code_bytes(W, drop=("metadata",)))
    put("valid_code.npz", valid_npz)
    # text
    put("bom.csv", "\ufeff" + _csv(Wt))
    pandas = ",".join([""] + [str(j) for j in range(Wt.shape[1])]) + "\n" + "".join(
        f"{i}," + ",".join(f"{v:.17g}" for v in r) + "\n" for i, r in enumerate(Wt))
    put("pandas_index.csv", pandas)
    put("pandas_index_bad.csv", pandas.replace("\n3,", "\n7,"))
    put("header.csv", "w0,w1,w2,w3\n" + _csv(Wt))
    lines = _csv(Wt).splitlines()
    put("typo_first.csv", "\n".join([lines[0].replace(",", "x,", 1)] + lines[1:]) + "\n")
    put("typo_middle.csv", "\n".join(lines[:4] + [lines[4].replace(",", ",,", 1)] + lines[5:]) + "\n")
    put("ragged.csv", "\n".join(lines[:3] + [lines[3] + ",0.5"] + lines[4:]) + "\n")
    put("only_header.csv", "a,b,c\n")
    put("only_comments.csv", "# nothing\n# here\n")
    put("blank.csv", "\n\n   \n")
    put("semicolons.csv", _csv(Wt, sep=";"))
    put("tabs.tsv", _csv(Wt, sep="\t"))
    put("spaces.txt", _csv(Wt, sep="   "))
    put("quoted.csv", "\n".join(",".join(f'"{v:.17g}"' for v in r) for r in Wt) + "\n")
    put("nan_text.csv", _csv(Wt).replace(lines[2].split(",")[1], "nan", 1))
    put("overflow.csv", _csv(Wt).replace(lines[2].split(",")[1], "1e999", 1))
    put("latin1.csv", ("w\xe9ight\n" + _csv(Wt)).encode("latin-1"))
    put("nul.csv", b"\0\0\0" + _csv(Wt).encode())
    put("long_line.csv", ",".join(["0.1", "-0.1"] * 1000) + "\n")
    put("transposed.csv", _csv(_code(rng, 12, 5).T.T))      # d=12 > K=5: the longer axis read as d
    return sorted(files.items())


def special_paths(folder: Path) -> list:
    """A missing file, a directory, a named pipe, a dangling and a looping symlink."""
    out = [("missing", folder / "does_not_exist.npz")]
    (folder / "a_dir.npz").mkdir()
    out.append(("directory", folder / "a_dir.npz"))
    fifo = folder / "pipe.npz"
    os.mkfifo(fifo)
    out.append(("fifo", fifo))
    (folder / "dangling.npy").symlink_to(folder / "nowhere.npy")
    out.append(("dangling symlink", folder / "dangling.npy"))
    (folder / "loop.npy").symlink_to(folder / "loop.npy")
    out.append(("symlink loop", folder / "loop.npy"))
    return out


def torch_files(rng, folder: Path) -> list:
    """Checkpoints: nested state dicts, ambiguous keys, pickled objects (refused), bfloat16."""
    try:
        import torch
    except ImportError:
        return []
    W = torch.tensor(_code(rng).T)                     # (K, d), like nn.Linear.weight
    files = []

    def save(name, obj):
        path = folder / name
        torch.save(obj, path)
        files.append((name, path))

    save("state_dict.pt", {"fc.weight": W, "fc.bias": torch.zeros(W.shape[0])})
    save("nested.pth", {"state_dict": {"module.fc.weight": W}, "epoch": 3})
    save("ambiguous.pt", {"a.fc.weight": W, "b.fc.weight": W, "c.weight": W.T.clone()})
    save("bf16.pt", {"fc.weight": W.to(torch.bfloat16)})
    save("no_matrix.pt", {"x": torch.zeros(3)})
    save("pickled_object.pt", {"fc.weight": W, "config": argparse.Namespace(lr=0.1)})
    raw = (folder / "state_dict.pt").read_bytes()
    (folder / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    files.append(("truncated.pt", folder / "truncated.pt"))
    try:
        from safetensors.torch import save_file
    except ImportError:
        return files
    save_file({"fc.weight": W.contiguous()}, str(folder / "w.safetensors"))
    files.append(("w.safetensors", folder / "w.safetensors"))
    raw = (folder / "w.safetensors").read_bytes()
    (folder / "huge_header.safetensors").write_bytes((10**15).to_bytes(8, "little") + raw[8:])
    files.append(("huge_header.safetensors", folder / "huge_header.safetensors"))
    return files


def measure_cases(rng, paths) -> list:
    """``spherecodes measure`` (and ``plot``) on every file, with a random mix of input options."""
    cases = []
    for name, path in paths:
        flags = [f for f, p in (("--rows", 0.4), ("--normalize", 0.5), ("--json", 0.3)) if rng.random() < p]
        if path.suffix in (".pt", ".pth", ".safetensors", ".npz") and rng.random() < 0.5:
            flags += ["--key", str(rng.choice(["fc.weight", "W", "weight", "nope"]))]
        cases.append(Case(f"measure {name}", ["measure", str(path), *flags], file=path.name))
        if rng.random() < 0.15:
            out = path.parent / f"plot_{path.stem}_{len(cases)}.png"
            cases.append(Case(f"plot {name}", ["plot", str(path), "--out", str(out), *flags[:2]], file=path.name))
    return cases


# ---------------------------------------------------------------- bad arguments
BAD_NUMBERS = ["-1", "0", "-0", "1.5", "nan", "inf", "-inf", "1e999", "abc", "", "1e9", "10**12",
               "99999999999999999999", "0x10", " 3", "3 ", "1_000"]
#: Every numeric option of every subcommand, with the other arguments it needs to run.
NUMERIC_OPTIONS = {
    "softmax-code": (["-d", "3", "-K", "8", "--restarts", "2", "--seed", "0"],
                     ["-d", "-K", "--restarts", "--seed", "--time-limit", "--workers", "--rtol"]),
    "tammes": (["-d", "3", "-K", "8", "--restarts", "2", "--seed", "0"],
               ["-d", "-K", "--restarts", "--seed", "--time-limit", "--workers", "--rtol"]),
    "hardmax": (["-d", "3", "-K", "5", "--restarts", "2", "--seed", "0"],
                ["-d", "-K", "-n", "--restarts", "--seed", "--time-limit", "--rtol"]),
    "measure": (["{code}"], ["--rtol", "--restarts", "--seed", "--time-limit"]),
    "plot": (["{code}", "--out", "{out}"], ["--dpi"]),
    "bounds": (["-d", "8", "-K", "100", "--optimum", "never"], ["-d", "-K", "--cheap", "--target-rho", "--rtol"]),
    "compare": (["-d", "3", "-K", "5", "--restarts", "2", "--seed", "0"],
                ["-d", "-K", "--restarts", "--seed", "--time-limit", "--rtol"]),
    "table": (["--d", "3", "--K", "5", "--restarts", "2", "--seed", "0"],
              ["--d", "--K", "--K-max", "--restarts", "--seed", "--time-limit", "--workers"]),
    "train": (["ufm", "--d", "3", "--K", "4", "--steps", "20", "--out", "{outdir}"],
              ["--d", "--K", "--n", "--tau", "--steps", "--lr", "--seed", "--threads"]),
}


def _set_option(base, option, value):
    argv = list(base)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    return argv


def argument_cases(rng, code: Path, folder: Path) -> list:
    """Bad values for every numeric option, unknown options, missing arguments, at every subcommand."""
    cases = []
    for sub, (base, options) in NUMERIC_OPTIONS.items():
        def fill(argv, _n=[0]):
            _n[0] += 1
            return [a.format(code=code, out=folder / f"fuzz_{_n[0]}.png", outdir=folder / f"run_{_n[0]}")
                    for a in argv]

        for option in options:
            for value in rng.choice(BAD_NUMBERS, size=4, replace=False):
                cases.append(Case(f"{sub} {option} {value!r}", [sub, *fill(_set_option(base, option, value))]))
        cases.append(Case(f"{sub} unknown option", [sub, *fill(base), "--bogus-option", "1"]))
        cases.append(Case(f"{sub} no arguments", [sub]))
        cases.append(Case(f"{sub} --help", [sub, "--help"]))
        for i in range(2):                                       # drop one argument at random
            argv = fill(base)
            if argv:
                del argv[int(rng.integers(len(argv)))]
                cases.append(Case(f"{sub} missing piece {i}", [sub, *argv]))
    cases += [Case("no subcommand", []), Case("unknown subcommand", ["frobnicate"]),
              Case("--version", ["--version"]),
              Case("huge d", ["softmax-code", "-d", "1000000000", "-K", "3"]),
              Case("huge K", ["softmax-code", "-d", "3", "-K", "1000000000", "--restarts", "1"]),
              Case("huge n", ["hardmax", "-d", "3", "-K", "4", "-n", "1000000000000"]),
              Case("bounds huge K", ["bounds", "-d", "3", "-K", "1e309"]),
              Case("bounds overflow K", ["bounds", "-d", "3", "-K", "1e300"]),
              Case("table huge range", ["table", "--d", "3:100000000", "--K-max", "5"]),
              Case("out wrong suffix", ["softmax-code", "-d", "3", "-K", "4", "--out", str(folder / "x.txt")]),
              Case("out missing folder", ["softmax-code", "-d", "3", "-K", "4", "--out",
                                          str(folder / "nowhere" / "x.npz")])]
    return cases


# ---------------------------------------------------------------- running
def _limit_memory():  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(k, "1")
    env.pop("SPHERECODES_DEBUG", None)
    env["PYTHONWARNINGS"] = "default"
    return env


def run_case(case: Case, timeout: float, cwd: Path) -> str | None:
    """None if ``case`` behaved, else what went wrong (one line)."""
    cmd = [sys.executable, "-m", "spherecodes", *case.argv]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=_env(), start_new_session=True, preexec_fn=_limit_memory, text=True,
                            errors="replace", cwd=cwd)
    interrupted = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        interrupted = True
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return f"hangs: still running {timeout:g} s + 20 s after SIGINT"
    rc = proc.returncode
    allowed = case.allowed + ((130,) if interrupted else ())
    text = out + err
    errors = [ln for ln in err.splitlines() if ln.strip()
              and not ln.startswith(("spherecodes: note:", "spherecodes: warning:"))]
    if "Traceback" in text:
        lines = text.strip().splitlines()
        where = [ln.strip() for ln in lines if ln.lstrip().startswith("File ")][-1:]
        return (f"rc={rc}{' after SIGINT' if interrupted else ''}, traceback: {lines[-1][:200]}"
                + (f" ({where[0][:160]})" if where else ""))
    if "internal error" in text:
        return f"rc={rc}: {[ln for ln in err.splitlines() if 'internal error' in ln][0][:200]}"
    if rc not in allowed:
        return f"rc={rc} (expected {' or '.join(map(str, allowed))}): {(errors or ['(no stderr)'])[-1][:200]}"
    if rc == 2:
        if len(errors) != 1:
            return f"rc=2 with {len(errors)} error lines: {' | '.join(errors)[:200]}"
        if case.file and case.file not in errors[0] and not errors[0].startswith("spherecodes " ):
            return f"rc=2 but the error does not name {case.file}: {errors[0][:200]}"
    return None


_LOAD_SCRIPT = r"""
import json, sys
from spherecodes import SphereCode
for path in sys.argv[1:]:
    print(json.dumps({"file": path, "state": "start"}), flush=True)
    try:
        SphereCode.load(path)
        rec = {"outcome": "ok"}
    except ValueError as exc:
        rec = {"outcome": "ValueError", "message": str(exc)}
    except BaseException as exc:
        rec = {"outcome": type(exc).__name__, "message": str(exc)[:300]}
    print(json.dumps({"file": path, "state": "done", **rec}), flush=True)
"""


def run_loads(paths, timeout: float) -> tuple[int, list]:
    """``SphereCode.load`` on every path in one subprocess; returns (tried, failures)."""
    failures, done = [], set()
    todo = [str(p) for _, p in paths]
    while todo:
        proc = subprocess.Popen([sys.executable, "-c", _LOAD_SCRIPT, *todo], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env(),
                                start_new_session=True, preexec_fn=_limit_memory, text=True,
                                cwd=Path(todo[0]).parent)
        try:
            out, _ = proc.communicate(timeout=timeout * len(todo))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        current = None
        for line in out.splitlines():
            rec = json.loads(line)
            if rec["state"] == "start":
                current = rec["file"]
                continue
            done.add(rec["file"])
            current = None
            name = Path(rec["file"]).name
            msg = rec.get("message", "")
            if rec["outcome"] not in ("ok", "ValueError"):
                failures.append(f"SphereCode.load({name}): {rec['outcome']}: {msg[:200]}")
            elif rec["outcome"] == "ValueError" and ("\n" in msg.strip() or name not in msg):
                failures.append(f"SphereCode.load({name}): message not one line naming the file: {msg[:200]}")
        if current is not None:
            failures.append(f"SphereCode.load({Path(current).name}): hangs or kills the process")
            done.add(current)
        todo = [p for p in todo if p not in done]
        if proc.returncode not in (0, None) and current is None and todo:
            failures.append(f"SphereCode.load: the process died (rc {proc.returncode}) before {todo[0]}")
            todo = todo[1:]
    return len(paths), failures


def main(argv=None) -> int:
    ap = ScriptParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the cases (default 0)")
    ap.add_argument("--sample", type=_positive_int, default=None, help="run only this many CLI cases, drawn at random")
    ap.add_argument("--timeout", type=_positive_float, default=30.0, help="seconds per case before SIGINT (default 30)")
    ap.add_argument("--jobs", type=_positive_int, default=1, help="cases run at once (default 1)")
    ap.add_argument("--no-load", action="store_true", help="skip the SphereCode.load cases")
    ap.add_argument("--skip", action="append", default=[], metavar="SUBCOMMAND",
                    help="leave out the argument cases of this subcommand (repeatable)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spherecodes-fuzz-") as tmp:
        folder = Path(tmp)
        paths = file_cases(rng, folder) + special_paths(folder) + torch_files(rng, folder)
        code = folder / "valid_code.npz"
        cases = measure_cases(rng, paths) + argument_cases(rng, code, folder)
        cases = [c for c in cases if not (c.argv and c.argv[0] in args.skip)]
        if args.sample is not None and args.sample < len(cases):
            cases = [cases[i] for i in sorted(rng.choice(len(cases), size=args.sample, replace=False))]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(lambda c: run_case(c, args.timeout, folder), cases))
        failures = [f"{c.name}: spherecodes {' '.join(c.argv)}\n      -> {r}" for c, r in zip(cases, results) if r]
        n_load = 0
        if not args.no_load:
            load_paths = paths if args.sample is None else [
                paths[i] for i in sorted(rng.choice(len(paths), size=min(len(paths), args.sample), replace=False))]
            n_load, load_failures = run_loads(load_paths, args.timeout)
            failures += load_failures
    total = len(cases) + n_load
    print(f"fuzz_cli: seed {args.seed}: tried {total} cases ({len(cases)} spherecodes commands, "
          f"{n_load} SphereCode.load calls) in {time.perf_counter() - t0:.0f} s")
    if failures:
        print(f"{len(failures)} gave a traceback, a wrong exit code, a hang or an unclear error:")
        for f in failures:
            print("  " + f)
        return 1
    print("none gave a traceback, a wrong exit code (0/2, or 130 after SIGINT), a hang or an unclear error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
