"""Encoders with a configurable feature dimension and the normalized network.

Every encoder maps an input batch to raw features of shape ``(B, feature_dim)``;
:class:`NormalizedNet` normalizes them to the unit sphere and passes them to a
classifier from :mod:`spherecodes.train.classifiers`, which returns the logits
``W^T h / tau`` with unit-norm classifier columns (problem (1) of the paper).

Encoders:

* ``"mlp"``      : fully connected, for flat inputs (digits, synthetic data);
* ``"cnn"``      : a small 3-layer CNN for images (8x8 digits up to 32x32);
* ``"resnet18"`` : the CIFAR-style ResNet18 (3x3 stem, no max-pool), whose
  last linear layer outputs ``feature_dim`` (d = 10 in the paper's Figure 2).

This module imports torch at import time; it is only reached through
:mod:`spherecodes.train` entry points.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_int
from .config import ENCODERS  # defined once in the torch-free config module


class MLP(nn.Module):
    """Flatten -> [Linear -> BatchNorm -> ReLU] * len(hidden) -> Linear(feature_dim).

    Parameters
    ----------
    in_features : int
        Size of one flattened input.
    feature_dim : int
        d, the size of the raw features.
    hidden : sequence of int
        Widths of the hidden layers.

    See Also
    --------
    build_encoder : by name, from an input shape.
    """

    def __init__(self, in_features: int, feature_dim: int, hidden=(256, 256)):
        super().__init__()
        layers, width = [nn.Flatten()], in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
            width = h
        layers.append(nn.Linear(width, feature_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """Three conv blocks (conv3x3-BN-ReLU, the last two with stride 2), global average pool, linear.

    Parameters
    ----------
    in_channels : int
        C of the ``(C, H, W)`` inputs.
    feature_dim : int
        d, the size of the raw features.
    width : int
        Channels of the first block (then 2x and 4x).

    See Also
    --------
    build_encoder : by name, from an input shape.
    """

    def __init__(self, in_channels: int, feature_dim: int, width: int = 32):
        super().__init__()
        c = width

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*block(in_channels, c, 1), *block(c, 2 * c, 2), *block(2 * c, 4 * c, 2),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * c, feature_dim)

    def forward(self, x):
        return self.fc(self.features(x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """CIFAR-style ResNet18 (He et al. 2016): 3x3 stem, stages 64-128-256-512, linear to ``feature_dim``.

    Parameters
    ----------
    in_channels : int
        C of the ``(C, H, W)`` inputs.
    feature_dim : int
        d, the size of the raw features (10 in the paper's Figure 2).
    width : int
        Channels of the first stage (64 in the standard network).

    See Also
    --------
    build_encoder : by name, from an input shape.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image
    recognition", CVPR 2016.  Generalized Neural Collapse paper, Section 2.2 and Appendix B
    (ResNet18 with d = 10 on CIFAR-100).
    """

    def __init__(self, in_channels: int = 3, feature_dim: int = 512, width: int = 64):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True))
        cfg = [(w, 1), (2 * w, 2), (4 * w, 2), (8 * w, 2)]
        layers, cin = [], w
        for cout, stride in cfg:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, feature_dim)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build_encoder(name: str, input_shape, feature_dim: int, **kwargs) -> nn.Module:
    """Encoder ``name`` in :data:`ENCODERS` for inputs of shape ``input_shape`` (without batch).

    Parameters
    ----------
    name : {"mlp", "cnn", "resnet18"}
        :class:`MLP`, :class:`SmallCNN` or :class:`ResNet18`.
    input_shape : tuple of int
        One input: ``(D,)`` (or any shape, flattened) for ``mlp``, ``(C, H, W)`` for the others.
    feature_dim : int
        d, ``>= 1``.
    **kwargs
        Passed to the encoder (``hidden``, ``width``).

    Returns
    -------
    torch.nn.Module
        Maps ``(B, *input_shape)`` to raw features ``(B, feature_dim)``.

    Raises
    ------
    ValueError
        An unknown ``name``, ``cnn``/``resnet18`` on inputs that are not
        ``(C, H, W)``, ``feature_dim < 1`` or a size of ``input_shape`` below 1.
    TypeError
        ``feature_dim`` or a size of ``input_shape`` not an integer
        (:class:`spherecodes._validation.ArgumentTypeError`, also a ``ValueError``).

    See Also
    --------
    NormalizedNet : puts the features on the sphere and adds the classifier.
    """
    feature_dim = check_int(feature_dim, "feature_dim", minimum=1)
    input_shape = tuple(check_int(s, "input_shape", minimum=1) for s in input_shape)
    if name == "mlp":
        return MLP(math.prod(input_shape), feature_dim, **kwargs)
    if name in ("cnn", "resnet18"):
        if len(input_shape) != 3:
            raise ValueError(f"encoder {name!r} needs image inputs of shape (C, H, W), got {input_shape}")
        cls = SmallCNN if name == "cnn" else ResNet18
        return cls(input_shape[0], feature_dim, **kwargs)
    raise ValueError(f"encoder must be one of {ENCODERS}, got {name!r}")


class NormalizedNet(nn.Module):
    """``x -> h = phi(x) / ||phi(x)||``, logits ``= classifier(h)`` (``W^T h / tau``, unit ``w_k``).

    ``forward(x, labels=None)`` returns ``(logits, h)`` with ``h`` of shape ``(B, d)``;
    labels are passed to the classifier (the CMF classifier uses them in training).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to raw features ``(B, d)`` (:func:`build_encoder`).
    classifier : torch.nn.Module
        Maps unit features to logits ``(B, K)`` (:func:`spherecodes.train.build_classifier`).

    See Also
    --------
    spherecodes.train.build_model : encoder and classifier by name.

    References
    ----------
    Generalized Neural Collapse paper, eq. (1) (features on the unit sphere, logits divided by ``tau``).
    """

    def __init__(self, encoder: nn.Module, classifier: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.classifier = classifier

    def features(self, x):
        return F.normalize(self.encoder(x), dim=1)

    def forward(self, x, labels=None):
        h = self.features(x)
        # the classifier (small matmul, logits scaled by 1/tau) always runs in float32,
        # also under mixed precision
        with torch.autocast(device_type=h.device.type, enabled=False):
            h = h.float()
            logits = self.classifier(h, labels)
        return logits, h
