"""Reading weight matrices and writing result files.

Trained classifiers store their weights in many layouts.  :func:`load_weights`
reads a matrix from ``.npy``, ``.npz``, ``.csv`` or whitespace/comma separated
text and returns it in the toolkit's convention: a float64 array ``W`` of shape
``(d, K)`` whose K columns are the class vectors.  PyTorch's ``nn.Linear``
stores its weight as ``(K, d)`` (one row per class): pass ``rows=True`` then.

The ``write_*_atomic`` helpers write to a temporary file in the destination
directory and ``os.replace`` it over the target, so that a reader (or a rerun
after a kill) never sees a half-written file.
"""
from __future__ import annotations

import csv
import io as _io
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._validation import as_code, as_matrix

__all__ = [
    "load_weights",
    "load_matrix",
    "atomic_path",
    "write_text_atomic",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_csv_atomic",
    "merge_csv_atomic",
    "locked",
    "save_npz_atomic",
    "recorded_commands",
    "TEXT_SUFFIXES",
]

#: File suffixes read as delimited text (anything not ``.npy``/``.npz`` is tried as text).
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".text")


def _read_text_matrix(path: Path) -> np.ndarray:
    raw = path.read_text()
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path}: no numeric data found")
    sample = lines[0]
    if "," in sample:
        delim = ","
    elif "\t" in sample:
        delim = "\t"
    elif ";" in sample:
        delim = ";"
    else:
        delim = None  # whitespace

    def parse(rows):
        out = []
        for ln in rows:
            fields = [f.strip() for f in (ln.split(delim) if delim else ln.split())]
            if delim and fields and fields[-1] == "":
                fields = fields[:-1]  # trailing delimiter
            out.append([float(f) for f in fields])
        return out

    try:
        rows = parse(lines)
    except ValueError:
        # one header line is allowed (e.g. a CSV written by pandas)
        try:
            rows = parse(lines[1:])
        except ValueError as exc:
            raise ValueError(f"{path}: could not parse numbers ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: no numeric data found")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of fields {sorted(widths)}")
    return np.asarray(rows, dtype=np.float64)


def load_matrix(path, *, key: str | None = None) -> np.ndarray:
    """Read a 2-D numeric matrix from a file, as stored (no transposition).

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (one array), ``.npz`` (the array named ``key``; else ``W``;
        else the only array in the archive) or delimited text (comma, tab,
        semicolon or whitespace separated; ``#`` comments and one header line
        are skipped).
    key : str, optional
        Name of the array inside an ``.npz`` archive.

    Returns
    -------
    numpy.ndarray, shape (rows, cols), float64

    Raises
    ------
    ValueError
        If the file is missing, unreadable, not 2-D, or the ``.npz`` key is ambiguous.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, expected a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            A = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                names = list(z.files)
                if key is not None:
                    if key not in names:
                        raise ValueError(f"{path}: no array named {key!r} (arrays: {', '.join(names)})")
                    A = z[key]
                elif "W" in names:
                    A = z["W"]
                elif len(names) == 1:
                    A = z[names[0]]
                else:
                    raise ValueError(
                        f"{path}: several arrays ({', '.join(names)}) and none named 'W'; choose one with --key"
                    )
        else:
            A = _read_text_matrix(path)
    except ValueError:
        raise
    except (OSError, EOFError) as exc:
        raise ValueError(f"could not read {path}: {exc}") from None
    except Exception as exc:  # e.g. pickled object arrays, corrupt zip
        raise ValueError(f"could not read {path}: {type(exc).__name__}: {exc}") from None
    A = np.asarray(A)
    if A.ndim == 1:
        raise ValueError(f"{path}: expected a 2-D matrix, got a 1-D array of length {A.shape[0]}")
    if A.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D matrix, got shape {A.shape}")
    return as_matrix(A, "weights")


def load_weights(path, *, rows: bool = False, normalize: bool = False, key: str | None = None) -> np.ndarray:
    """Read a code or classifier weight matrix as ``W`` of shape ``(d, K)``.

    Parameters
    ----------
    path : str or path-like
        See :func:`load_matrix` for the formats.  A :class:`~spherecodes.SphereCode`
        saved with ``save`` is an ``.npz`` with an array ``W`` and is read too.
    rows : bool
        The classes are the rows of the stored matrix (shape ``(K, d)``, as in
        PyTorch's ``nn.Linear.weight``); the result is its transpose.
    normalize : bool
        Rescale every class vector to unit norm.  Without it, a class vector
        whose norm differs from 1 by more than 1e-8 is an error.
    key : str, optional
        Array name inside an ``.npz`` archive.

    Returns
    -------
    W : numpy.ndarray, shape (d, K), float64
        Unit columns.

    Raises
    ------
    ValueError
        Unreadable file, wrong shape, NaN/inf, fewer than 2 classes, or
        non-unit class vectors without ``normalize``.
    """
    A = load_matrix(path, key=key)
    if rows:
        A = A.T
    try:
        return as_code(A, normalize=normalize)
    except ValueError as exc:
        msg = str(exc)
        if "unit norm" in msg and not normalize:
            msg += "; on the command line: --normalize"
        if "K >= 2" in msg and not rows:
            msg += "; if the classes are rows, pass rows=True (--rows)"
        raise ValueError(f"{Path(path)}: {msg}") from None


# ---------------------------------------------------------------- atomic writes
@contextmanager
def atomic_path(path, *, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The folder is created if needed.  Whatever writes to the yielded path
    (bytes, ``savefig``, ``torch.save``, ...) becomes visible at ``path`` in
    one ``os.replace``; on error the temporary file is removed and ``path``
    is left as it was.  ``suffix`` lets writers that infer a format from the
    extension see the right one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


#: Temporary files of an atomic write older than this (seconds) were left by a killed writer.
STALE_SECONDS = 3600.0


def _sweep_stale(path: Path, suffix: str) -> None:
    """Remove ``.name.*<suffix>`` files beside ``path`` left by a writer killed an hour ago or more."""
    import time

    now = time.time()
    for old in path.parent.glob(f".{glob_escape(path.name)}.*{glob_escape(suffix)}"):
        try:
            if now - old.stat().st_mtime > STALE_SECONDS:
                old.unlink()
        except OSError:  # gone already, or not ours to remove
            pass


def glob_escape(text: str) -> str:
    """``text`` with glob wildcards escaped."""
    import glob
    return glob.escape(text)


@contextmanager
def locked(path):
    """Hold an exclusive lock on ``path`` (a ``.lock`` file, created if needed) while the block runs.

    POSIX ``flock``: two processes writing the same table serialize their
    read-merge-write instead of losing each other's rows.  Elsewhere a no-op.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def merge_csv_atomic(path, rows, fieldnames, key) -> list[dict]:
    """Merge ``rows`` into the CSV at ``path`` under a lock and write it back atomically.

    Rows already in the file whose ``key(row)`` is not among ``rows`` are kept (another
    run's cells); the merged rows are returned, sorted by key.  ``key`` must accept the
    string-valued rows read back from the file as well as ``rows``.
    """
    path = Path(path)
    with locked(path.with_name(f".{path.name}.lock")):
        merged = {}
        if path.exists():
            with open(path, newline="", encoding="utf-8") as fh:
                merged = {key(r): r for r in csv.DictReader(fh)}
        merged.update({key(r): r for r in rows})
        ordered = [merged[k] for k in sorted(merged)]
        write_csv_atomic(path, ordered, fieldnames)
    return ordered


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then ``os.replace``)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n")


def write_csv_atomic(path, rows, fieldnames) -> Path:
    """Write a list of dicts as CSV (header ``fieldnames``) to ``path`` atomically."""
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fieldnames), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return write_text_atomic(path, buf.getvalue())


def save_npz_atomic(path, **arrays) -> Path:
    """``numpy.savez`` to ``path`` atomically (the ``.npz`` suffix is kept as given)."""
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def json_default(o):
    """``json.dumps`` fallback for numpy scalars and arrays and paths."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def recorded_commands(path, prefix: str) -> tuple[list[str], float | None]:
    """What a generated Markdown table records about the runs behind its rows.

    Parameters
    ----------
    path : str or path
        A table written by a benchmark script (``Generated by`` and a code block
        of commands, then ``Wall time of the last invocation: N s``).
    prefix : str
        Keep the command lines that start with this (e.g. ``"python benchmarks/x.py"``).

    Returns
    -------
    commands : list of str
        Empty when the file does not exist or lists none.
    wall : float or None
        Seconds of the last invocation, if recorded.
    """
    path = Path(path)
    if not path.exists():
        return [], None
    text = path.read_text()
    m = re.search(r"Generated by\n\n```\n(.*?)\n```", text, re.S)
    commands = [c for c in m.group(1).splitlines() if c.startswith(prefix)] if m else []
    m = re.search(r"Wall time of the last invocation: (\d+) s", text)
    return commands, (float(m.group(1)) if m else None)

