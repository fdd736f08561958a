"""Offline data loaders: fixtures written in the real CIFAR pickle layout and an image folder."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from spherecodes.train.data import (CIFAR_MEAN, CIFAR_STD, DataNotFoundError, load_cifar10, load_cifar100,
                                    load_dataset, load_digits, load_image_folder, synthetic_classes)


def _dump(path, obj):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


def _images(rng, n):
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


@pytest.fixture
def cifar10_dir(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    batches = {}
    for i in range(1, 6):
        data, labels = _images(rng, 4), [int(v) for v in rng.integers(0, 10, 4)]
        batches[f"data_batch_{i}"] = (data, labels)
        _dump(root / f"data_batch_{i}", {b"batch_label": f"training batch {i} of 5".encode(), b"labels": labels,
                                         b"data": data, b"filenames": [b"x.png"] * 4})
    data, labels = _images(rng, 3), [3, 1, 4]
    batches["test_batch"] = (data, labels)
    _dump(root / "test_batch", {b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": data,
                                b"filenames": [b"x.png"] * 3})
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    _dump(root / "batches.meta", {b"label_names": names, b"num_cases_per_batch": 4, b"num_vis": 3072})
    return tmp_path, batches


def test_cifar10_pickle_layout(cifar10_dir):
    parent, batches = cifar10_dir
    for root in (parent, parent / "cifar-10-batches-py"):  # the extracted tarball or its inner folder
        ds = load_cifar10(root)
        assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
        assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
        assert ds.num_classes == 10 and ds.class_names[1] == "automobile" and ds.class_names[9] == "truck"
        np.testing.assert_array_equal(ds.y_test, [3, 1, 4])
        np.testing.assert_array_equal(ds.y_train[4:8], batches["data_batch_2"][1])
        # pixel (row 5, col 7) of channel c of the 2nd image of batch 3: index c*1024 + 5*32 + 7 of the row
        raw = batches["data_batch_3"][0][1]
        for c in range(3):
            expected = (raw[c * 1024 + 5 * 32 + 7] / 255.0 - CIFAR_MEAN[c]) / CIFAR_STD[c]
            assert ds.x_train[9, c, 5, 7] == pytest.approx(expected, rel=1e-6)


def test_cifar100_pickle_layout(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    fine, coarse = [5, 99, 0, 42, 7], [1, 19, 0, 3, 2]
    tr = _images(rng, 5)
    _dump(root / "train", {b"filenames": [b"a"] * 5, b"batch_label": b"training batch 1 of 1", b"fine_labels": fine,
                           b"coarse_labels": coarse, b"data": tr})
    _dump(root / "test", {b"filenames": [b"a"] * 2, b"batch_label": b"testing batch 1 of 1", b"fine_labels": [3, 4],
                          b"coarse_labels": [0, 1], b"data": _images(rng, 2)})
    _dump(root / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                          b"coarse_label_names": [f"c{i}".encode() for i in range(20)]})
    ds = load_cifar100(tmp_path)
    assert ds.num_classes == 100 and ds.x_train.shape == (5, 3, 32, 32)
    np.testing.assert_array_equal(ds.y_train, fine)
    assert ds.class_names[42] == "f42"
    ds = load_cifar100(root, label="coarse")
    assert ds.num_classes == 20
    np.testing.assert_array_equal(ds.y_train, coarse)
    expected = (tr[3, 2 * 1024 + 31 * 32 + 0] / 255.0 - CIFAR_MEAN[2]) / CIFAR_STD[2]
    assert ds.x_train[3, 2, 31, 0] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="fine"):
        load_cifar100(root, label="medium")


def test_missing_folder_names_layout(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match="does not exist") as err:
        load_cifar10(missing)
    assert "data_batch_1" in str(err.value) and "test_batch" in str(err.value) and "b'labels'" in str(err.value)
    with pytest.raises(FileNotFoundError, match="fine_labels"):
        load_cifar100(missing)
    with pytest.raises(ValueError, match="train/<class_name>"):
        load_image_folder(missing)
    with pytest.raises(DataNotFoundError, match="--data-root"):
        load_dataset("cifar10")
    # a folder that exists but lacks a batch
    (tmp_path / "partial").mkdir()
    _dump(tmp_path / "partial" / "batches.meta", {b"label_names": []})
    with pytest.raises(DataNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path / "partial")


def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    colors = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    for split, n in (("train", 3), ("test", 2)):
        for name, rgb in colors.items():
            os.makedirs(tmp_path / split / name)
            for i in range(n):
                Image.new("RGB", (10, 12), rgb).save(tmp_path / split / name / f"{i}.png")
    ds = load_image_folder(tmp_path, image_size=8)
    assert ds.class_names == ["blue", "red"] and ds.num_classes == 2
    assert ds.x_train.shape == (6, 3, 8, 8) and ds.x_test.shape == (4, 3, 8, 8)
    np.testing.assert_array_equal(ds.y_train, [0, 0, 0, 1, 1, 1])
    # standardized per channel with train statistics: red channel is high exactly for class "red"
    assert np.all(ds.x_train[3:, 0] > ds.x_train[:3, 0].max())
    assert np.all(ds.x_test[:2, 2] > ds.x_test[2:, 2].max())


def test_digits_and_subset():
    ds = load_digits(seed=0)
    assert ds.num_classes == 10 and ds.input_shape == (64,)
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert set(np.unique(ds.y_test)) == set(range(10))
    img = load_digits(image=True, seed=0)
    assert img.input_shape == (1, 8, 8)
    sub = ds.subset([3, 8, 1])
    assert sub.num_classes == 3 and sub.class_names == ["3", "8", "1"]
    np.testing.assert_array_equal(sub.x_train, ds.x_train[np.isin(ds.y_train, [3, 8, 1])])
    lut = {3: 0, 8: 1, 1: 2}
    np.testing.assert_array_equal(sub.y_train, [lut[v] for v in ds.y_train[np.isin(ds.y_train, [3, 8, 1])]])
    with pytest.raises(ValueError, match="distinct"):
        ds.subset([3, 3])


def test_synthetic_many_classes():
    ds = synthetic_classes(10_000, input_dim=4, n_train=2, n_test=1, seed=3)
    assert ds.num_classes == 10_000 and ds.x_train.shape == (20_000, 4) and ds.x_test.shape == (10_000, 4)
    np.testing.assert_array_equal(np.bincount(ds.y_train), 2)
    again = synthetic_classes(10_000, input_dim=4, n_train=2, n_test=1, seed=3)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    # with no noise every sample sits on its class center
    clean = synthetic_classes(100, input_dim=5, n_train=3, n_test=2, noise=0.0, seed=1)
    for k in (0, 57):
        pts = clean.x_train[clean.y_train == k]
        np.testing.assert_array_equal(pts, np.repeat(pts[:1], 3, axis=0))
        np.testing.assert_array_equal(clean.x_test[clean.y_test == k][0], pts[0])
    with pytest.raises(ValueError, match="noise"):
        synthetic_classes(10, noise=-1)
    with pytest.raises(ValueError, match="K"):
        synthetic_classes(1)


def test_cifar_batches_are_unpickled_without_running_code(tmp_path):
    """A crafted batch file that names os.system is refused (pickle.load would run it)."""
    import pickle

    from spherecodes.train.data import _unpickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(ValueError, match="refusing to load"):
        _unpickle(bad)
    assert not marker.exists()
    good = tmp_path / "test_batch"
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    good.write_bytes(pickle.dumps({b"data": arr, b"labels": [1, 2, 3]}, protocol=2))
    out = _unpickle(good)
    np.testing.assert_array_equal(out[b"data"], arr) and out[b"labels"] == [1, 2, 3]


def test_options_of_the_wrong_type_are_type_errors():
    """subset([0, 1.5]) kept class 1 (int truncation); noise='0.5' and test_fraction='0.3' were accepted."""
    data = synthetic_classes(4, input_dim=3, n_train=2, n_test=1, seed=0)
    with pytest.raises(TypeError, match="classes must be an integer"):
        data.subset([0, 1.5])
    assert data.subset([3.0, 1]).class_names == ["c3", "c1"]
    with pytest.raises(TypeError, match="noise must be a real number"):
        synthetic_classes(4, noise="0.5")
    with pytest.raises(ValueError, match="noise must be finite and >= 0"):
        synthetic_classes(4, noise=float("nan"))
    with pytest.raises(TypeError, match="test_fraction must be a real number"):
        load_digits(test_fraction="0.3")
    with pytest.raises(ValueError, match="seed must be non-negative"):
        synthetic_classes(4, seed=-1)
    with pytest.raises(ValueError, match="seed must be None, a non-negative int"):
        synthetic_classes(4, seed=1.5)
