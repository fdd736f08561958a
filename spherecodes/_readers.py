"""Reading a matrix from a file without guessing silently and without trusting the file.

The format readers behind :func:`spherecodes.io.load_matrix` and
:meth:`spherecodes.SphereCode.load`:

* every path is checked first (:func:`check_input_file`): missing, a
  directory, a named pipe or device (never opened: it could block forever),
  or empty -- each a one-line ``ValueError`` naming the file;
* ``.npy`` and ``.npz``: the array header is read and its declared size
  checked against the bytes actually present *before* numpy allocates
  anything, so a forged header (``shape=(10**12,)``) is an error, not a
  ``MemoryError``; arrays of Python objects are refused (never unpickled);
* ``.pt``/``.pth``: ``torch.load(weights_only=True)``, nested state dicts
  flattened to dotted keys (``model.fc.weight``), a key chosen by exact name
  or unique dotted suffix; a missing or ambiguous key lists the 2-D tensors;
* ``.safetensors``: through the ``safetensors`` package when installed;
* delimited text: UTF-8 (a byte-order mark is dropped), ``#`` comments, one
  header line only when it has no numeric field, a pandas index column
  dropped with a note, and any other bad field an error naming its line,
  column and text.

Notes about what was done to the input are issued as :class:`InputWarning`.
"""
from __future__ import annotations

import csv
import math
import os
import re
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["InputWarning", "check_input_file", "read_npy", "read_npz", "npz_names", "read_checkpoint",
           "read_safetensors", "read_text_matrix", "CHECKPOINT_SUFFIXES"]

#: Suffixes read with ``torch.load(weights_only=True)``.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
#: A deflated zip member cannot expand more than this (deflate's limit is about 1032:1).
_MAX_DEFLATE_RATIO = 1100
#: How many candidate tensors an error lists before "... (N in all)".
_LIST_LIMIT = 12


class InputWarning(UserWarning):
    """Something was done to an input file that the user should know about (a header or index column dropped, ...)."""


def note(message: str) -> None:
    """Issue an :class:`InputWarning` (the CLI prints it as ``spherecodes: note: ...``)."""
    warnings.warn(message, InputWarning, stacklevel=3)


# ------------------------------------------------------------------ the path
def check_input_file(path) -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is a non-empty regular file that can be read.

    Raises
    ------
    ValueError
        One line naming the file: not found, a directory, not a regular file
        (a named pipe, socket or device -- checked with ``stat`` before any
        ``open``, which could block), empty, or not readable.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    except PermissionError:
        raise ValueError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path} is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path} is not a regular file (a named pipe, socket or device); not read")
    if st.st_size == 0:
        raise ValueError(f"{path} is empty")
    if not os.access(path, os.R_OK):
        raise ValueError(f"cannot read {path}: permission denied")
    return path


# ------------------------------------------------------------------ npy / npz
_NUMERIC_KINDS = "biufc"


def _npy_header(fh, where: str):
    """``(shape, fortran_order, dtype)`` from the header of a ``.npy`` stream, or a ValueError naming ``where``."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            return fmt.read_array_header_1_0(fh)
        return fmt.read_array_header_2_0(fh)       # 2.0 and 3.0 share the layout (3.0: UTF-8 names)
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, EOFError, SyntaxError, ...
        raise ValueError(f"{where}: not a valid .npy array ({_first_line(exc)})") from None


def _check_declared(shape, dtype, available: int, where: str, kinds: str = _NUMERIC_KINDS) -> None:
    """Refuse object arrays and headers that declare more bytes than the file holds."""
    if dtype.hasobject:
        raise ValueError(f"{where}: holds Python objects (dtype {dtype}); not unpickled")
    if dtype.kind not in kinds:
        raise ValueError(f"{where}: holds dtype {dtype}, not numbers")
    need = math.prod(int(s) for s in shape) * dtype.itemsize
    if need > available:
        raise ValueError(f"{where}: truncated or corrupt: its header declares shape {tuple(shape)} of {dtype} "
                         f"({need} bytes) but only {available} bytes of data follow")


def read_npy(path) -> np.ndarray:
    """One array from a ``.npy`` file, its header checked against the file size first."""
    path = check_input_file(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        shape, _, dtype = _npy_header(fh, str(path))
        offset = fh.tell()
    _check_declared(shape, dtype, size - offset, str(path))
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"could not read {path}: {_first_line(exc)}") from None


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid .npz archive (truncated or corrupt zip: {_first_line(exc)})") from None


def npz_names(path) -> list[str]:
    """Names of the arrays in an ``.npz`` archive (its ``.npy`` members)."""
    path = check_input_file(path)
    with _open_zip(path) as zf:
        return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]


def read_npz(path, names=None, *, kinds: str = _NUMERIC_KINDS) -> dict:
    """Arrays of an ``.npz`` archive by name (all when ``names`` is None), each header checked before reading.

    A member's declared size must fit in its declared uncompressed size, which
    must be consistent with its compressed size (stored: equal; deflated: at
    most ~1100 times), so nothing larger than about a thousand times the file
    is ever allocated, whatever the archive claims.

    Raises
    ------
    ValueError
        Not a zip archive, a missing name, a corrupt member (bad CRC,
        truncated), an object array, or a forged size -- naming the file and
        the array.
    """
    path = check_input_file(path)
    out = {}
    with _open_zip(path) as zf:
        members = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        wanted = list(members) if names is None else list(names)
        for name in wanted:
            if name not in members:
                continue
            where = f"{path}: array {name!r}"
            info = zf.getinfo(members[name])
            if info.compress_type == zipfile.ZIP_STORED:
                plausible = info.file_size == info.compress_size
            else:
                plausible = info.file_size <= _MAX_DEFLATE_RATIO * info.compress_size + 4096
            if not plausible:
                raise ValueError(f"{where}: corrupt archive entry (declares {info.file_size} bytes "
                                 f"from {info.compress_size} compressed)")
            try:
                with zf.open(info) as fh:
                    shape, _, dtype = _npy_header(fh, where)
                    header = fh.tell()
                _check_declared(shape, dtype, info.file_size - header, where, kinds)
                with zf.open(info) as fh:
                    out[name] = np.lib.format.read_array(fh, allow_pickle=False)
            except ValueError:
                raise
            except Exception as exc:  # noqa: BLE001 - BadZipFile (CRC), EOFError, zlib.error, ...
                raise ValueError(f"{where}: corrupt ({_first_line(exc)})") from None
    return out


# ------------------------------------------------------------------ PyTorch
def _flatten(obj, limit_depth: int = 64) -> dict:
    """Tensors of a (nested) checkpoint by dotted key; a bare tensor is ``""``."""
    import torch

    out, stack = {}, [("", obj, 0)]
    while stack:
        prefix, item, depth = stack.pop()
        if isinstance(item, torch.Tensor):
            out[prefix] = item
        elif depth < limit_depth and isinstance(item, dict):
            stack.extend((f"{prefix}.{k}" if prefix else str(k), v, depth + 1) for k, v in reversed(item.items()))
        elif depth < limit_depth and isinstance(item, (list, tuple)):
            stack.extend((f"{prefix}.{i}" if prefix else str(i), v, depth + 1)
                         for i, v in reversed(list(enumerate(item))))
    return out


def _shape_list(shapes: dict) -> str:
    items = [f"{k} {tuple(s)}" for k, s in shapes.items()]
    text = ", ".join(items[:_LIST_LIMIT])
    return text + (f", ... ({len(items)} in all)" if len(items) > _LIST_LIMIT else "")


def choose_key(shapes: dict, key: str | None, where: str) -> str:
    """The entry of ``shapes`` (name -> shape) that ``key`` selects.

    ``key`` matches a name exactly or as a dotted suffix (``fc.weight`` finds
    ``model.fc.weight`` and ``state_dict.module.fc.weight``) and must then be
    unique; without ``key`` the only 2-D entry is taken.  Otherwise a one-line
    ``ValueError`` lists the 2-D candidates with their shapes.
    """
    matrices = {k: s for k, s in shapes.items() if len(s) == 2}
    if key is None:
        if len(shapes) == 1 and "" in shapes:
            return ""
        if len(matrices) == 1:
            return next(iter(matrices))
        if not matrices:
            raise ValueError(f"{where}: no 2-D tensor in it ({len(shapes)} tensors, none a matrix)")
        raise ValueError(f"{where}: {len(matrices)} tensors are 2-D; choose one with key= (--key): "
                         + _shape_list(matrices))
    if key in shapes:
        hits = [key]
    else:
        hits = [k for k in shapes if k.endswith("." + key)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ValueError(f"{where}: key {key!r} is ambiguous: " + _shape_list({k: shapes[k] for k in hits}))
    listing = _shape_list(matrices) if matrices else "none"
    raise ValueError(f"{where}: no tensor named {key!r}; 2-D tensors: {listing}")


def read_checkpoint(path, key: str | None = None):
    """The weight matrix named ``key`` in a PyTorch checkpoint, as a CPU tensor (dtype kept).

    Read with ``torch.load(weights_only=True, map_location="cpu")``: a file
    that needs arbitrary unpickling (a whole pickled model) is refused.
    State dicts may be nested (``{"state_dict": ...}``, ``{"model": ...}``);
    see :func:`choose_key`.
    """
    path = check_input_file(path)
    try:
        import torch
    except ImportError:
        raise ValueError(f"{path}: reading a PyTorch checkpoint needs torch "
                         "(pip install 'spherecodes[train]')") from None
    import pickle

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(f"{path}: torch.load(weights_only=True) refused it: it holds pickled Python objects, "
                         f"not only tensors (a whole model?); save model.state_dict() instead "
                         f"({_first_line(exc)[:120]})") from None
    except Exception as exc:  # noqa: BLE001 - RuntimeError (bad zip), EOFError, ...
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({_first_line(exc)[:160]})") from None
    tensors = _flatten(obj)
    if not tensors:
        raise ValueError(f"{path}: holds no tensors")
    name = choose_key({k: tuple(t.shape) for k, t in tensors.items()}, key, str(path))
    t = tensors[name]
    if t.ndim != 2:
        raise ValueError(f"{path}: {name!r} has shape {tuple(t.shape)}, not a 2-D weight matrix")
    return t


def read_safetensors(path, key: str | None = None):
    """The tensor named ``key`` of a ``.safetensors`` file (needs the ``safetensors`` package)."""
    path = check_input_file(path)
    try:
        from safetensors import safe_open
    except ImportError:
        raise ValueError(f"{path}: reading .safetensors needs the 'safetensors' package "
                         "(pip install safetensors)") from None
    try:
        import torch  # noqa: F401 - bfloat16 needs the torch framework
        framework = "pt"
    except ImportError:
        framework = "numpy"
    try:
        with safe_open(str(path), framework=framework) as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
            if not shapes:
                raise ValueError(f"{path}: holds no tensors")
            name = choose_key(shapes, key, str(path))
            if len(shapes[name]) != 2:
                raise ValueError(f"{path}: {name!r} has shape {shapes[name]}, not a 2-D weight matrix")
            return f.get_tensor(name)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError, ...
        raise ValueError(f"{path}: not a readable .safetensors file ({_first_line(exc)[:160]})") from None


# ------------------------------------------------------------------ text
_INT = re.compile(r"^[+-]?\d+$")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_lines(text: str):
    """``(line number, fields)`` of the non-blank, non-comment lines; delimiter from the first of them."""
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return []
    first = lines[0][1]
    delim = next((c for c in (",", "\t", ";") if c in first), None)
    out = []
    for i, ln in lines:
        if delim is None:
            fields = ln.split()
        else:
            fields = [f.strip() for f in next(csv.reader([ln], delimiter=delim))]
            if len(fields) > 1 and fields[-1] == "":
                fields = fields[:-1]            # a trailing delimiter
        out.append((i, fields))
    return out


def _is_index_column(rows) -> bool:
    """The first field of every row is the integer 0, 1, ..., n-1 (as pandas writes its index)."""
    return all(f and _INT.match(f[0]) and int(f[0]) == r for r, (_, f) in enumerate(rows))


def read_text_matrix(path) -> np.ndarray:
    """A float64 matrix from delimited text (comma, tab, semicolon or whitespace), never guessing silently.

    * UTF-8, a leading byte-order mark dropped; ``#`` lines and blank lines skipped;
    * the first line is a header only if none of its fields is a number
      (``w0,w1,w2``), or if it is pandas' ``,0,1,2`` (empty first cell)
      or ``0,1,2,...`` column names over non-integer data -- each noted;
      a first line with some numbers and some text is an error naming the field;
    * a pandas index column (empty first header cell, then 0..n-1) is dropped
      with a note; a header-less first column 0..n-1 is kept and noted;
    * any other field that is not a number is an error naming line, column and text.
    """
    path = check_input_file(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError(f"{path}: binary data, not a text matrix (use .npy/.npz, or .pt/.safetensors)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); not a text matrix") from None
    rows = _split_lines(text)
    if not rows:
        raise ValueError(f"{path}: no numeric data found")
    index_header = False
    line1, head = rows[0]
    numeric = [_is_number(f) for f in head]
    if head and head[0] == "" and (not any(numeric[1:])
                                   or [f for f in head[1:]] == [str(j) for j in range(len(head) - 1)]):
        index_header = True                         # pandas to_csv: ",w0,w1" or ",0,1,2"
        rows = rows[1:]
    elif not any(numeric):
        rows = rows[1:]
        note(f"{path}: line {line1} read as a header ({', '.join(head[:4])}{', ...' if len(head) > 4 else ''})")
    elif (len(head) >= 3 and head == [str(j) for j in range(len(head))] and len(rows) > 1
          and any(not _INT.match(f) for _, fields in rows[1:] for f in fields)):
        rows = rows[1:]
        note(f"{path}: line {line1} ({','.join(head[:4])},...) read as column names 0..{len(head) - 1} "
             "(pandas to_csv without its index)")
    if not rows:
        raise ValueError(f"{path}: no numeric data found (only a header)")
    if index_header:
        if not _is_index_column(rows):
            raise ValueError(f"{path}: line {line1} starts with an empty cell (an index column?) but column 1 "
                             "is not 0, 1, ..., n-1; remove the index column")
        rows = [(i, f[1:]) for i, f in rows]
        note(f"{path}: read as written by pandas to_csv: header line {line1} and index column 1 "
             f"(0..{len(rows) - 1}, a pandas index) dropped")
    elif len(rows) >= 3 and _is_index_column(rows) and any(not _INT.match(f) for _, fs in rows for f in fs[1:]):
        note(f"{path}: column 1 is 0, 1, ..., {len(rows) - 1} (an index column?); it was read as data")
    width = len(rows[0][1])
    values = np.empty((len(rows), width))
    for r, (i, fields) in enumerate(rows):
        if len(fields) != width:
            raise ValueError(f"{path}: line {i} has {len(fields)} fields, line {rows[0][0]} has {width}")
        for j, f in enumerate(fields):
            try:
                values[r, j] = float(f)
            except ValueError:
                what = "is empty (a missing value)" if f == "" else "is not a number"
                raise ValueError(f"{path}: line {i}, column {j + 1}: {f!r} {what}") from None
    return values


def _first_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
