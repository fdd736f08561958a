import numpy as np
import pytest

from spherecodes._validation import as_code, as_features, check_dims, check_int


def test_check_int():
    assert check_int(3, "K", minimum=2) == 3
    assert check_int(np.int64(4), "K", minimum=2) == 4
    assert check_int(5.0, "K", minimum=2) == 5
    for bad in (1.5, "3", True, None):
        with pytest.raises(ValueError, match="K must be an integer"):
            check_int(bad, "K", minimum=2)
    with pytest.raises(ValueError, match="K must be >= 2"):
        check_int(1, "K", minimum=2)


def test_check_dims():
    assert check_dims(3, 10) == (3, 10)
    with pytest.raises(ValueError, match="d must be >= 1"):
        check_dims(0, 10)


def test_as_code_tolerance():
    W = np.eye(3)
    W[0, 0] = 1 + 5e-9
    assert as_code(W) is not None
    W[0, 0] = 1 + 5e-8
    with pytest.raises(ValueError, match="column 0 has norm"):
        as_code(W)
    with pytest.raises(ValueError, match="zero column"):
        as_code(np.zeros((3, 3)), normalize=True)


def test_as_features():
    H = np.ones((2, 4))
    H2, y, K = as_features(H, [0, 1, 1, 0])
    assert K == 2 and y.dtype == np.int64
    with pytest.raises(ValueError, match="length 3 but H has N=4"):
        as_features(H, [0, 1, 1])
    with pytest.raises(ValueError, match="class 1 has no samples"):
        as_features(H, [0, 2, 2, 0])
    with pytest.raises(ValueError, match="integers"):
        as_features(H, [0.5, 1, 1, 0])
    with pytest.raises(ValueError, match=">= 0"):
        as_features(H, [-1, 1, 1, 0])
    with pytest.raises(ValueError, match="out of range"):
        as_features(H, [0, 1, 1, 0], K=1)
