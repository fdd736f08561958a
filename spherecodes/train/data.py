"""Offline datasets: sklearn digits, CIFAR-10/100 (python pickle layout), image folders, synthetic.

Nothing here downloads anything.  Loaders return an :class:`ArrayDataset`
holding numpy arrays (``float32`` inputs, ``int64`` labels); a missing or
malformed data folder raises :class:`DataNotFoundError` (a subclass of both
``FileNotFoundError`` and ``ValueError``) whose message names the expected
layout.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field, replace

import numpy as np

from .._validation import check_int, check_real, check_rtol
from ._common import as_rng

CIFAR10_LAYOUT = """expected the CIFAR-10 python layout (cifar-10-python.tar.gz, extracted):
  <root>/data_batch_1 ... <root>/data_batch_5, <root>/test_batch, <root>/batches.meta
  (or the same files inside <root>/cifar-10-batches-py/); each batch is a pickle dict with
  b'data': uint8 array (N, 3072) (1024 red, 1024 green, 1024 blue values, row-major 32x32)
  and b'labels': list of N ints; batches.meta has b'label_names'"""

CIFAR100_LAYOUT = """expected the CIFAR-100 python layout (cifar-100-python.tar.gz, extracted):
  <root>/train, <root>/test, <root>/meta  (or inside <root>/cifar-100-python/); train/test are
  pickle dicts with b'data': uint8 (N, 3072), b'fine_labels' and b'coarse_labels';
  meta has b'fine_label_names' and b'coarse_label_names'"""

IMAGE_FOLDER_LAYOUT = """expected an image folder:
  <root>/train/<class_name>/*.png|jpg|jpeg|bmp|gif  and  <root>/test/<class_name>/...
  (or <root>/<class_name>/... and a test_fraction to split); class names are sorted
  alphabetically to give labels 0..K-1"""

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp")

CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


class DataNotFoundError(FileNotFoundError, ValueError):
    """A local dataset is missing or not in the expected layout (the message names the layout).

    A subclass of both ``FileNotFoundError`` and ``ValueError``.

    See Also
    --------
    load_dataset, load_cifar10, load_cifar100, load_image_folder : the loaders that raise it.
    """


@dataclass
class ArrayDataset:
    """Train/test arrays of one classification task.

    Attributes
    ----------
    x_train : ndarray, float32, shape (N_train, ...) (the input shape follows)
    y_train : ndarray, int64, shape (N_train,)
    x_test : ndarray, float32, shape (N_test, ...) (the input shape follows)
    y_test : ndarray, int64, shape (N_test,)
    num_classes : int
        K; labels lie in ``range(K)``.
    class_names : list of str
        Name of each class (default ``"0"``, ``"1"``, ...).
    name : str
        The dataset's name in logs and tables.

    Raises
    ------
    ValueError
        ``x`` and ``y`` of a split with different numbers of samples, or a
        label outside ``range(num_classes)``.

    See Also
    --------
    load_dataset : the loaders that return one.
    spherecodes.train.fit : trains on one.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: list = field(default_factory=list)
    name: str = ""

    @property
    def input_shape(self) -> tuple:
        """Shape of one input: ``(D,)`` vectors or ``(C, H, W)`` images."""
        return tuple(self.x_train.shape[1:])

    def __post_init__(self):
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"x_{part} has {x.shape[0]} samples but y_{part} has {y.shape[0]}")
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"y_{part} labels must lie in [0, {self.num_classes})")
        if not self.class_names:
            self.class_names = [str(k) for k in range(self.num_classes)]

    def subset(self, classes) -> "ArrayDataset":
        """Keep only ``classes`` (labels or names), relabeled ``0..len(classes)-1`` in the given order.

        Parameters
        ----------
        classes : sequence of int or str
            At least 2 distinct labels in ``range(num_classes)`` or class names.

        Returns
        -------
        ArrayDataset

        Raises
        ------
        ValueError
            An unknown name, a label out of range, fewer than 2 or repeated classes.
        TypeError
            A label that is not an integer (``1.5``, a bool)
            (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).
        """
        idx = []
        for c in classes:
            if isinstance(c, str):
                if c not in self.class_names:
                    raise ValueError(f"unknown class name {c!r}; known: {self.class_names}")
                c = self.class_names.index(c)
            c = check_int(c, "classes", minimum=0)
            if not 0 <= c < self.num_classes:
                raise ValueError(f"class {c} out of range for {self.num_classes} classes")
            idx.append(c)
        if len(set(idx)) != len(idx) or len(idx) < 2:
            raise ValueError(f"classes must be at least 2 distinct classes, got {list(classes)}")
        lut = -np.ones(self.num_classes, dtype=np.int64)
        lut[idx] = np.arange(len(idx))
        mtr, mte = lut[self.y_train] >= 0, lut[self.y_test] >= 0
        return replace(self, x_train=self.x_train[mtr], y_train=lut[self.y_train[mtr]], x_test=self.x_test[mte],
                       y_test=lut[self.y_test[mte]], num_classes=len(idx),
                       class_names=[self.class_names[i] for i in idx], name=f"{self.name}[{len(idx)} classes]")


def _split(n, test_fraction, rng, y=None):
    """Stratified split indices (train, test)."""
    test_fraction = check_real(test_fraction, "test_fraction")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    tr, te = [], []
    for k in np.unique(y):
        ids = rng.permutation(np.flatnonzero(y == k))
        m = max(1, int(round(test_fraction * ids.size)))
        te.append(ids[:m])
        tr.append(ids[m:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


def load_digits(*, test_fraction=0.3, image=False, seed=0) -> ArrayDataset:
    """scikit-learn's bundled 8x8 digits (1797 samples, K = 10), stratified train/test split.

    Inputs are scaled to [0, 1] and standardized with the train mean/std;
    shape ``(64,)`` or ``(1, 8, 8)`` when ``image=True``.

    Parameters
    ----------
    test_fraction : float, keyword-only
        Fraction of each class held out, in ``(0, 1)``.
    image : bool, keyword-only
        Images ``(1, 8, 8)`` (for the CNN encoders) instead of vectors ``(64,)``.
    seed : None, int or numpy.random.Generator, keyword-only
        The split.

    Returns
    -------
    ArrayDataset

    Raises
    ------
    ValueError
        ``test_fraction`` outside ``(0, 1)``; a bad ``seed`` (the solvers' message).
    TypeError
        ``test_fraction`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    load_dataset : every dataset by name.

    References
    ----------
    E. Alpaydin, C. Kaynak, "Optical recognition of handwritten digits",
    UCI Machine Learning Repository (1998) (the test set of the bundled copy).
    """
    from sklearn.datasets import load_digits as _ld

    X, y = _ld(return_X_y=True)
    X = X.astype(np.float32) / 16.0
    tr, te = _split(len(y), test_fraction, as_rng(seed), y)
    mean, std = X[tr].mean(), X[tr].std()
    X = (X - mean) / std
    if image:
        X = X.reshape(-1, 1, 8, 8)
    return ArrayDataset(X[tr], y[tr].astype(np.int64), X[te], y[te].astype(np.int64), 10,
                        [str(k) for k in range(10)], "digits")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only what CIFAR batch files hold: dicts, lists, bytes, numbers and numpy arrays.

    ``pickle.load`` would run whatever a crafted file names (``os.system``, ...); here any
    other global is refused, so a data folder is never code.
    """

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}  # protocol-2 bytes

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR batch holds only arrays and lists")


def _unpickle(path):
    with open(path, "rb") as fh:
        try:
            return _ArrayUnpickler(fh, encoding="bytes").load()
        except pickle.UnpicklingError as exc:
            raise ValueError(f"{path}: {exc}") from None


def _find_root(root, marker, subdir, layout):
    root = os.fspath(root)
    for cand in (root, os.path.join(root, subdir)):
        if os.path.isfile(os.path.join(cand, marker)):
            return cand
    if not os.path.isdir(root):
        raise DataNotFoundError(f"data folder {root!r} does not exist; {layout}")
    raise DataNotFoundError(f"{marker!r} not found in {root!r}; {layout}")


def _cifar_images(d, path, layout):
    try:
        data = np.asarray(d[b"data"], dtype=np.uint8)
    except KeyError:
        raise DataNotFoundError(f"{path!r} has no b'data' entry; {layout}") from None
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DataNotFoundError(f"{path!r}: b'data' must have shape (N, 3072), got {data.shape}; {layout}")
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return (x - CIFAR_MEAN[None, :, None, None]) / CIFAR_STD[None, :, None, None]


def load_cifar10(root) -> ArrayDataset:
    """CIFAR-10 from a local folder in the python pickle layout (never downloads).

    Inputs ``(3, 32, 32)`` float32, normalized per channel.  See :data:`CIFAR10_LAYOUT`.

    Parameters
    ----------
    root : str or path
        The extracted ``cifar-10-batches-py`` folder or its parent.

    Returns
    -------
    ArrayDataset
        50,000 train and 10,000 test images, K = 10.

    Raises
    ------
    DataNotFoundError
        A missing folder or file, or a batch without the expected entries
        (also a ``FileNotFoundError`` and a ``ValueError``).
    ValueError
        A batch file that names anything but arrays and lists (never unpickled).

    See Also
    --------
    load_cifar100, load_dataset

    References
    ----------
    A. Krizhevsky, "Learning multiple layers of features from tiny images",
    technical report, University of Toronto (2009).
    """
    root = _find_root(root, "batches.meta", "cifar-10-batches-py", CIFAR10_LAYOUT)
    xs, ys = [], []
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for f in files:
        if not os.path.isfile(os.path.join(root, f)):
            raise DataNotFoundError(f"{f!r} not found in {root!r}; {CIFAR10_LAYOUT}")
    for f in files:
        p = os.path.join(root, f)
        d = _unpickle(p)
        if b"labels" not in d:
            raise DataNotFoundError(f"{p!r} has no b'labels' entry; {CIFAR10_LAYOUT}")
        xs.append(_cifar_images(d, p, CIFAR10_LAYOUT))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    meta = _unpickle(os.path.join(root, "batches.meta"))
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", [])] or None
    return ArrayDataset(np.concatenate(xs[:5]), np.concatenate(ys[:5]), xs[5], ys[5], 10, names or [], "cifar10")


def load_cifar100(root, *, label="fine") -> ArrayDataset:
    """CIFAR-100 from a local folder in the python pickle layout; ``label`` is ``"fine"`` (100) or ``"coarse"`` (20).

    Parameters
    ----------
    root : str or path
        The extracted ``cifar-100-python`` folder or its parent.
    label : {"fine", "coarse"}, keyword-only
        The 100 classes or the 20 superclasses.

    Returns
    -------
    ArrayDataset
        Inputs ``(3, 32, 32)`` float32, normalized per channel.

    Raises
    ------
    ValueError
        ``label`` not ``"fine"``/``"coarse"``; a file that names anything but
        arrays and lists (never unpickled).
    DataNotFoundError
        A missing folder or file, or a file without the expected entries.

    See Also
    --------
    load_cifar10, load_dataset

    References
    ----------
    A. Krizhevsky, "Learning multiple layers of features from tiny images",
    technical report, University of Toronto (2009).
    """
    if label not in ("fine", "coarse"):
        raise ValueError(f"label must be 'fine' or 'coarse', got {label!r}")
    root = _find_root(root, "meta", "cifar-100-python", CIFAR100_LAYOUT)
    out = {}
    key = f"{label}_labels".encode()
    for f in ("train", "test"):
        p = os.path.join(root, f)
        if not os.path.isfile(p):
            raise DataNotFoundError(f"{f!r} not found in {root!r}; {CIFAR100_LAYOUT}")
        d = _unpickle(p)
        if key not in d:
            raise DataNotFoundError(f"{p!r} has no {key!r} entry; {CIFAR100_LAYOUT}")
        out[f] = (_cifar_images(d, p, CIFAR100_LAYOUT), np.asarray(d[key], dtype=np.int64))
    meta = _unpickle(os.path.join(root, "meta"))
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(f"{label}_label_names".encode(), [])]
    K = 100 if label == "fine" else 20
    return ArrayDataset(*out["train"], *out["test"], K, names, f"cifar100-{label}")


def load_image_folder(root, *, image_size=32, test_fraction=None, seed=0) -> ArrayDataset:
    """Images from ``root/train/<class>/`` and ``root/test/<class>/`` (or ``root/<class>/`` + split).

    Images are converted to RGB, resized to ``image_size`` squared, scaled to
    [0, 1] and standardized per channel with train statistics.  See
    :data:`IMAGE_FOLDER_LAYOUT`.

    Parameters
    ----------
    root : str or path
        The folder.
    image_size : int, keyword-only
        Side of the square images, in pixels.
    test_fraction : float, optional, keyword-only
        Without ``train/`` and ``test/`` folders: the fraction of each class held out.
    seed : None, int or numpy.random.Generator, keyword-only
        That split.

    Returns
    -------
    ArrayDataset
        Inputs ``(3, image_size, image_size)`` float32; classes sorted by name.

    Raises
    ------
    DataNotFoundError
        A missing folder, fewer than 2 class folders, no images, or no split
        and no ``test_fraction``.
    ValueError
        ``image_size < 1``, ``test_fraction`` outside ``(0, 1)``, a bad ``seed`` (the solvers' message).
    TypeError
        ``image_size`` not an integer or ``test_fraction`` not a real number.

    See Also
    --------
    load_dataset
    """
    from PIL import Image

    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataNotFoundError(f"data folder {root!r} does not exist; {IMAGE_FOLDER_LAYOUT}")
    image_size = check_int(image_size, "image_size", minimum=1)

    def classes_in(folder):
        return sorted(e for e in os.listdir(folder) if os.path.isdir(os.path.join(folder, e)))

    def read(folder, names):
        xs, ys = [], []
        for k, name in enumerate(names):
            cdir = os.path.join(folder, name)
            if not os.path.isdir(cdir):
                continue
            for f in sorted(os.listdir(cdir)):
                if f.lower().endswith(IMAGE_EXTENSIONS):
                    with Image.open(os.path.join(cdir, f)) as im:
                        im = im.convert("RGB").resize((image_size, image_size))
                        xs.append(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0)
                    ys.append(k)
        if not xs:
            raise DataNotFoundError(f"no images found under {folder!r}; {IMAGE_FOLDER_LAYOUT}")
        return np.stack(xs), np.asarray(ys, dtype=np.int64)

    split = os.path.isdir(os.path.join(root, "train")) and os.path.isdir(os.path.join(root, "test"))
    if split:
        names = classes_in(os.path.join(root, "train"))
        if len(names) < 2:
            raise DataNotFoundError(f"need at least 2 class folders in {root!r}/train; {IMAGE_FOLDER_LAYOUT}")
        xtr, ytr = read(os.path.join(root, "train"), names)
        xte, yte = read(os.path.join(root, "test"), names)
    else:
        names = classes_in(root)
        if len(names) < 2:
            raise DataNotFoundError(f"need at least 2 class folders in {root!r}; {IMAGE_FOLDER_LAYOUT}")
        if test_fraction is None:
            raise DataNotFoundError(f"{root!r} has no train/ and test/ folders and no test_fraction was given; "
                                    f"{IMAGE_FOLDER_LAYOUT}")
        x, y = read(root, names)
        tr, te = _split(len(y), test_fraction, as_rng(seed), y)
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
    std = xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return ArrayDataset((xtr - mean) / std, ytr, (xte - mean) / std, yte, len(names), names,
                        f"folder:{os.path.basename(os.path.normpath(root))}")


def synthetic_classes(K, *, input_dim=32, n_train=20, n_test=10, noise=0.5, seed=0) -> ArrayDataset:
    """A synthetic many-class task (K from 2 to 10^4 and beyond) for the K >> d regime.

    Class ``k`` has a random Gaussian center ``c_k`` in ``R^input_dim`` (unit
    expected norm per coordinate); samples are ``c_k + noise * N(0, I)``.
    ``n_train``/``n_test`` samples per class.  Memory is ``K * (n_train + n_test) * input_dim`` floats.

    Parameters
    ----------
    K : int
        Number of classes, ``>= 2``.
    input_dim : int, keyword-only
        Dimension of the inputs.
    n_train, n_test : int, keyword-only
        Samples per class in each split, ``>= 1``.
    noise : float, keyword-only
        Standard deviation of the noise, finite and ``>= 0``.
    seed : None, int or numpy.random.Generator, keyword-only
        Centres and noise.

    Returns
    -------
    ArrayDataset
        Inputs ``(input_dim,)`` float32.

    Raises
    ------
    ValueError
        A size below its minimum, ``noise`` negative or not finite, a bad ``seed`` (the solvers' message).
    TypeError
        A size not an integer or ``noise`` not a real number
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    load_dataset
    """
    K = check_int(K, "K", minimum=2)
    input_dim = check_int(input_dim, "input_dim", minimum=1)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    noise = check_rtol(noise, "noise")
    rng = as_rng(seed)
    centers = rng.standard_normal((K, input_dim)).astype(np.float32)

    def draw(m):
        y = np.repeat(np.arange(K, dtype=np.int64), m)
        x = centers[y] + noise * rng.standard_normal((y.size, input_dim)).astype(np.float32)
        return x, y

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    return ArrayDataset(xtr, ytr, xte, yte, K, [f"c{k}" for k in range(K)], f"synthetic-K{K}")


DATASETS = ("digits", "synthetic", "cifar10", "cifar100", "folder")


def load_dataset(name, *, root=None, seed=0, image=False, K=100, input_dim=32, n_train=20, n_test=10,
                 noise=0.5, image_size=32, test_fraction=None) -> ArrayDataset:
    """Dispatch by name: ``digits``, ``synthetic``, ``cifar10``, ``cifar100``, ``folder`` (root required).

    Parameters
    ----------
    name : {"digits", "synthetic", "cifar10", "cifar100", "folder"}
        The dataset.
    root : str or path, optional, keyword-only
        The local folder of ``cifar10``, ``cifar100`` and ``folder``.
    seed, image, K, input_dim, n_train, n_test, noise, image_size, test_fraction
        Passed to the loader that takes them.

    Returns
    -------
    ArrayDataset

    Raises
    ------
    ValueError
        An unknown ``name``; as the loader.
    DataNotFoundError
        ``root`` missing for a local dataset; as the loader.
    TypeError
        As the loader.

    See Also
    --------
    load_digits, synthetic_classes, load_cifar10, load_cifar100, load_image_folder
    """
    if name == "digits":
        return load_digits(image=image, seed=seed)
    if name == "synthetic":
        return synthetic_classes(K, input_dim=input_dim, n_train=n_train, n_test=n_test, noise=noise, seed=seed)
    if name in ("cifar10", "cifar100", "folder"):
        if root is None:
            layout = {"cifar10": CIFAR10_LAYOUT, "cifar100": CIFAR100_LAYOUT, "folder": IMAGE_FOLDER_LAYOUT}[name]
            raise DataNotFoundError(f"dataset {name!r} needs a local data folder (--data-root); {layout}")
        if name == "cifar10":
            return load_cifar10(root)
        if name == "cifar100":
            return load_cifar100(root)
        return load_image_folder(root, image_size=image_size, test_fraction=test_fraction, seed=seed)
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
