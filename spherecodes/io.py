"""Reading weight matrices and writing result files.

Trained classifiers store their weights in many layouts.  :func:`load_weights`
reads a matrix from ``.npy``, ``.npz``, a PyTorch checkpoint (``.pt``/``.pth``,
``weights_only=True``), ``.safetensors``, ``.csv`` or whitespace/comma
separated text and returns it in the toolkit's convention: a float64 array
``W`` of shape ``(d, K)`` whose K columns are the class vectors.  PyTorch's
``nn.Linear`` stores its weight as ``(K, d)`` (one row per class): pass
``rows=True`` then.  The readers themselves (file checks before any open,
array headers checked before any allocation, text that is never guessed
silently) are in :mod:`spherecodes._readers`.

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

from ._readers import (CHECKPOINT_SUFFIXES, InputWarning, check_input_file, note, npz_names, read_checkpoint,
                       read_npy, read_npz, read_safetensors, read_text_matrix)
from ._validation import as_code, check_layout, to_numpy

__all__ = [
    "load_weights",
    "load_matrix",
    "InputWarning",
    "check_input_file",
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


def _read(path, key: str | None):
    """The stored matrix (numpy array, or a torch tensor from a checkpoint), before any checks of its values."""
    path = check_input_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        names = npz_names(path)
        if key is not None:
            if key not in names:
                raise ValueError(f"{path}: no array named {key!r} (arrays: {', '.join(names) or 'none'})")
            name = key
        elif "W" in names:
            name = "W"
        elif len(names) == 1:
            name = names[0]
        else:
            raise ValueError(f"{path}: several arrays ({', '.join(names) or 'none'}) and none named 'W'; "
                             "choose one with key= (--key)")
        return read_npz(path, [name])[name]
    if suffix in CHECKPOINT_SUFFIXES:
        return read_checkpoint(path, key)
    if suffix == ".safetensors":
        return read_safetensors(path, key)
    if key is not None:
        raise ValueError(f"{path}: key= (--key) applies to .npz, .pt/.pth and .safetensors files, not text")
    return read_text_matrix(path)


def load_matrix(path, *, key: str | None = None) -> np.ndarray:
    """Read a 2-D numeric matrix from a file, as stored (no transposition).

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (one array); ``.npz`` (the array named ``key``; else ``W``;
        else the only array in the archive); a PyTorch checkpoint ``.pt``,
        ``.pth`` (read with ``torch.load(weights_only=True)``; ``key`` is a
        state-dict name such as ``fc.weight``, found also under
        ``state_dict.``/``model.`` prefixes; without it the only 2-D tensor);
        ``.safetensors`` (needs the ``safetensors`` package); anything else is
        delimited text (comma, tab, semicolon or whitespace; a UTF-8 BOM,
        ``#`` comments, a header line without numbers and a pandas index
        column are skipped, each but the comments with an
        :class:`InputWarning`).
    key : str, optional
        Which array or tensor of an archive or checkpoint.

    Returns
    -------
    numpy.ndarray, shape (rows, cols)
        Its floating dtype as stored (float32 stays float32; bfloat16 becomes
        float32, exactly); integers become float64.

    Raises
    ------
    ValueError
        One line naming the file: missing, a directory or a pipe, empty,
        truncated or corrupt, a header that declares more data than the file
        holds, pickled objects, a missing or ambiguous ``key`` (listing the
        candidates), a bad text field (line, column and text), not 2-D, or
        a checkpoint or ``.safetensors`` file when ``torch`` or
        ``safetensors`` is not installed.

    See Also
    --------
    load_weights : the same read, checked as a code and returned as ``(d, K)``.
    """
    return _as_2d(_read(path, key), path)


def _as_2d(A, path):
    A = to_numpy(A)
    if A.ndim != 2:
        what = f"a 1-D array of length {A.shape[0]}" if A.ndim == 1 else f"shape {A.shape}"
        raise ValueError(f"{path}: expected a 2-D matrix, got {what}")
    if A.dtype.kind in "biu":
        A = A.astype(np.float64)
    return A


def _warn_if_transposed(A, path) -> None:
    d, K = A.shape
    if d > K:
        note(f"{path}: read as K={K} classes in R^{d} (classes as columns); if the classes are rows, "
             "pass rows=True (--rows); rows=False (--columns) silences this")


def load_weights(path, *, rows: bool | None = None, normalize: bool = False, key: str | None = None,
                 layout: str | None = None) -> np.ndarray:
    """Read a code or classifier weight matrix as ``W`` of shape ``(d, K)``.

    Parameters
    ----------
    path : str or path-like
        See :func:`load_matrix` for the formats.  A :class:`~spherecodes.SphereCode`
        saved with ``save`` is an ``.npz`` with an array ``W`` and is read too.
    rows : bool, optional
        The classes are the rows of the stored matrix (shape ``(K, d)``, as in
        PyTorch's ``nn.Linear.weight``); the result is its transpose.  Left
        unset, the classes are columns and a matrix with more rows than
        columns (``d > K``, likely rows) is noted with an :class:`InputWarning`;
        ``rows=False`` says "columns" explicitly.
    normalize : bool
        Rescale every class vector to unit norm.  Without it, a class vector
        whose norm is off by more than the input precision allows (1e-8 in
        float64, see :func:`spherecodes._validation.unit_norm_atol`) is an error.
    key : str, optional
        Array name inside an ``.npz`` archive, tensor name in a checkpoint
        or ``.safetensors`` file (e.g. ``fc.weight``).
    layout : {"columns", "rows"}, optional
        The same as ``rows`` in the words of the rest of the API.

    Returns
    -------
    W : numpy.ndarray, shape (d, K), float64
        Unit columns.

    Raises
    ------
    ValueError
        Unreadable file (see :func:`load_matrix`), wrong shape, NaN/inf, fewer
        than 2 classes, or non-unit class vectors without ``normalize`` -- each
        naming the file, and the row or column in the file's own layout;
        ``rows`` that contradicts ``layout``; a ``normalize`` that is not a
        bool.
    TypeError
        If ``layout`` is not a string (:class:`spherecodes._validation.ArgumentTypeError`,
        also a ``ValueError``).

    Warns
    -----
    InputWarning
        When ``rows`` and ``layout`` are unset and the matrix has more rows
        than columns, and for text input whose header, BOM or index column
        was skipped.

    See Also
    --------
    load_matrix : the matrix as stored, without the code checks.
    spherecodes.SphereCode.load : a saved code with its measures.
    spherecodes.SphereCode.from_W : measure the loaded code.
    """
    if layout is not None:
        layout = check_layout(layout)
        if rows is not None and bool(rows) != (layout == "rows"):
            raise ValueError(f"rows={rows!r} contradicts layout={layout!r}")
        rows = layout == "rows"
    stored = _read(path, key)
    A = _as_2d(stored, path)
    layout = "rows" if rows else "columns"
    try:
        # the tensor itself when it is one: its dtype (bfloat16 too) sets the unit-norm tolerance
        W = as_code(stored if getattr(stored, "ndim", 0) == 2 and not isinstance(stored, np.ndarray)
                    else A, normalize=normalize, layout=layout)
    except ValueError as exc:
        msg = str(exc)
        if not rows and "layout='rows'" not in msg and ("K >= 2" in msg or (rows is None and A.shape[0] > A.shape[1])):
            msg += "; if the classes are rows, pass rows=True (--rows)"
        raise ValueError(f"{Path(path)}: {msg}") from None
    if rows is None:
        _warn_if_transposed(A, path)
    return W


# ---------------------------------------------------------------- atomic writes
@contextmanager
def atomic_path(path, *, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The folder is created if needed.  Whatever writes to the yielded path
    (bytes, ``savefig``, ``torch.save``, ...) becomes visible at ``path`` in
    one ``os.replace``; on error the temporary file is removed and ``path``
    is left as it was.  ``suffix`` lets writers that infer a format from the
    extension see the right one.

    Parameters
    ----------
    path : str or path-like
        The destination file.
    suffix : str, keyword-only
        Suffix of the temporary file (default ``".tmp"``).

    Yields
    ------
    pathlib.Path
        The temporary file to write, in ``path``'s folder.

    Raises
    ------
    OSError
        If the folder cannot be created, the temporary file cannot be made,
        or the final ``os.replace`` fails.  Any exception raised in the block
        is re-raised after the temporary file is removed.

    See Also
    --------
    write_bytes_atomic, write_text_atomic, write_json_atomic, write_csv_atomic,
    save_npz_atomic : the writers built on it.
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

    Parameters
    ----------
    path : str or path-like
        The lock file (its folder is created if needed).

    Raises
    ------
    OSError
        If the lock file cannot be created or opened.

    See Also
    --------
    merge_csv_atomic : a read-merge-write under this lock.
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

    Parameters
    ----------
    path : str or path-like
        The CSV file (created if missing; its lock is ``.<name>.lock`` beside it).
    rows : iterable of dict
        The new rows; they replace file rows with the same key.
    fieldnames : sequence of str
        The header, and the columns written (other keys are dropped).
    key : callable
        ``key(row)`` -> a sortable, hashable value identifying a row.

    Returns
    -------
    list of dict
        The merged rows as written, sorted by key.

    Raises
    ------
    OSError
        If the file or its lock cannot be read or written.
    Exception
        Whatever ``key`` raises; the file is then left as it was.

    See Also
    --------
    write_csv_atomic : the atomic write used.
    locked : the lock held.
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
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then ``os.replace``).

    Parameters
    ----------
    path : str or path-like
        The destination; its folder is created if needed.
    data : bytes
        The whole content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OSError
        If the file cannot be written or replaced; ``path`` is then unchanged.

    See Also
    --------
    atomic_path : the mechanism.
    write_text_atomic, write_json_atomic, write_csv_atomic, save_npz_atomic
    """
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
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OSError
        If the file cannot be written; ``path`` is then unchanged.

    See Also
    --------
    write_bytes_atomic : the write used.
    """
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    numpy scalars and arrays and paths are converted (see :func:`json_default`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``obj`` holds a value JSON cannot represent; nothing is written.
    ValueError
        If ``obj`` contains a circular reference; nothing is written.
    OSError
        If the file cannot be written; ``path`` is then unchanged.

    See Also
    --------
    write_text_atomic : the write used.
    """
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n")


def write_csv_atomic(path, rows, fieldnames) -> Path:
    """Write a list of dicts as CSV (header ``fieldnames``) to ``path`` atomically.

    Keys not in ``fieldnames`` are dropped; missing ones are written empty.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OSError
        If the file cannot be written; ``path`` is then unchanged.

    See Also
    --------
    merge_csv_atomic : the same, merged with the rows already in the file.
    write_text_atomic : the write used.
    """
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fieldnames), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return write_text_atomic(path, buf.getvalue())


def save_npz_atomic(path, **arrays) -> Path:
    """``numpy.savez`` to ``path`` atomically (the ``.npz`` suffix is kept as given).

    Returns
    -------
    pathlib.Path
        ``path``, unchanged (no suffix is appended, unlike ``numpy.savez``).

    Raises
    ------
    OSError
        If the file cannot be written; ``path`` is then unchanged.

    See Also
    --------
    spherecodes.SphereCode.save : a code saved with it.
    write_bytes_atomic : the write used.
    """
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def json_default(o):
    """``json.dumps`` fallback for numpy scalars and arrays and paths.

    Raises
    ------
    TypeError
        For any other object (as ``json.dumps`` expects of a ``default``).

    See Also
    --------
    write_json_atomic : uses it.
    """
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

    Raises
    ------
    OSError
        If the file exists but cannot be read.
    UnicodeDecodeError
        If it is not text in the locale's encoding (a ``ValueError``).
    """
    path = Path(path)
    if not path.exists():
        return [], None
    text = path.read_text()
    m = re.search(r"Generated by\n\n```\n(.*?)\n```", text, re.S)
    commands = [c for c in m.group(1).splitlines() if c.startswith(prefix)] if m else []
    m = re.search(r"Wall time of the last invocation: (\d+) s", text)
    return commands, (float(m.group(1)) if m else None)

