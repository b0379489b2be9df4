"""Accuracy evaluators: the protocol, and top-1 of the subnets of a weight-sharing supernet.

The protocol (what :meth:`AccuracyDataset.build` accepts) is either

- a callable ``evaluator(arch) -> top1``, or
- an object with ``evaluate_batch(archs) -> sequence of top1``,

where ``arch`` is an arch dict including ``image_size`` and ``top1`` is the
top-1 accuracy **in percent** (0..100), the unit OFA stores on disk. An
evaluator may declare its unit in a ``top1_unit`` attribute (``"percent"`` or
``"fraction"``); :meth:`AccuracyDataset.build` then stores its results without
guessing (see its ``top1_unit`` parameter).
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable, Sequence

__all__ = ["SupernetEvaluator", "evaluate_archs", "set_running_statistics"]


def evaluate_archs(evaluator: Any, archs: Sequence[dict]) -> list:
    """Evaluate ``archs`` with an evaluator of either protocol form.

    Parameters
    ----------
    evaluator : callable or object with ``evaluate_batch``
        Gives the top-1 (percent) of archs.
    archs : sequence of dict
        The archs to evaluate.

    Returns
    -------
    list
        One raw result per arch (checked by :meth:`AccuracyDataset.build`).

    Raises
    ------
    EvaluatorError
        ``evaluate_batch`` returned something that is not a sequence of one
        value per arch.
    TypeError
        ``evaluator`` is neither form.

    Examples
    --------
    >>> evaluate_archs(lambda arch: 50.0 + arch["image_size"] / 100, [{"image_size": 128}])
    [51.28]
    """
    from ..exceptions import EvaluatorError

    if isinstance(archs, (str, bytes, dict)):
        raise TypeError(f"archs must be a sequence of arch dicts, got {type(archs).__name__}")
    archs = list(archs)
    batch = getattr(evaluator, "evaluate_batch", None)
    if callable(batch):
        result = batch(archs)
        if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
            raise EvaluatorError(
                f"evaluate_batch returned {type(result).__name__} {result!r}; expected a "
                f"sequence of {len(archs)} top-1 values (percent)"
            )
        values = list(result)
        if len(values) != len(archs):
            raise EvaluatorError(
                f"evaluate_batch returned {len(values)} values for {len(archs)} archs"
            )
        return values
    if callable(evaluator):
        return [evaluator(arch) for arch in archs]
    raise TypeError(
        "evaluator must be a callable arch -> top-1 (percent) or an object with "
        f"evaluate_batch(archs); got {type(evaluator).__name__}"
    )


def _bn_modules(net: Any) -> list:
    from torch import nn

    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def set_running_statistics(net: Any, batches: Iterable, device: Any = "cpu") -> int:
    """Reset the BatchNorm statistics of ``net`` to their average over ``batches``.

    The statistics come from :func:`torch.optim.swa_utils.update_bn`: every
    BatchNorm layer's running mean and variance are reset and re-estimated as
    the cumulative average of the per-batch statistics (``momentum=None``), in
    training mode and without gradients, as OFA does for each subnet before
    evaluating it. Weights are untouched; each layer's momentum and every
    module's train/eval flag are restored afterwards, also when a batch fails.

    Parameters
    ----------
    net : torch.nn.Module
        The network whose BatchNorm statistics are reset.
    batches : iterable of tensors or (inputs, targets) pairs
        Inputs already at the subnet's resolution.
    device : str or torch.device, default="cpu"
        Where the batches run.

    Returns
    -------
    int
        Number of batches used (0 when ``net`` has no BatchNorm layer: then
        nothing is run).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    >>> x = torch.randn(8, 3, 5, 5) * 3 + 1
    >>> set_running_statistics(net, [x[:4], x[4:]])
    2
    >>> ref = net[0](x).detach()
    >>> bool(torch.allclose(net[1].running_mean, ref.mean((0, 2, 3)), atol=1e-5))
    True
    """
    from torch.optim.swa_utils import update_bn

    momenta = [(bn, bn.momentum) for bn in _bn_modules(net)]
    if not momenta:
        return 0
    training = [(m, m.training) for m in net.modules()]
    used = [0]

    def counted():
        for batch in batches:
            used[0] += 1
            yield batch

    try:
        update_bn(counted(), net, device=device)
    finally:  # update_bn restores neither after an exception, nor mixed train/eval flags
        for bn, m in momenta:
            bn.momentum = m
        for m, flag in training:
            m.training = flag
    return used[0]


class SupernetEvaluator:
    """Top-1 (percent) of subnets of a weight-sharing supernet, BatchNorm recalibrated.

    For each arch: activate it (``set_active_subnet(**setting)``, OFA's API:
    ``ks, e, d`` for MobileNets, ``d, e, w`` for ResNets; or extract it with
    ``supernet.subnet(arch)`` from an OFA checkpoint), re-estimate the
    ``ks, e, d`` for MobileNets, ``d, e, w`` for ResNets), re-estimate the
    BatchNorm statistics on calibration batches (:func:`set_running_statistics`),
    then count correct top-1 predictions on ``data_loader`` at the arch's image
    size. The supernet's BatchNorm buffers and train/eval mode are restored after
    each call, so evaluation leaves it as it was (except the active subnet).

    Images reach the arch's resolution in one of two ways: when a loader has
    ``set_image_size(size)`` or ``assign_active_img_size(size)`` (OFA's name) it
    is called first; any batch whose spatial size still differs is resized with
    :func:`torch.nn.functional.interpolate`.

    Parameters
    ----------
    supernet : torch.nn.Module or OFASupernet
        A weight-sharing module exposing ``set_active_subnet(**setting)`` (e.g.
        :class:`~sklearn_ofa.nets.ElasticMobileNetV3`), or an
        :class:`~sklearn_ofa.nets.OFASupernet` from
        :func:`~sklearn_ofa.nets.load_ofa_supernet`: then every arch is evaluated
        on its exact static subnet (:meth:`~sklearn_ofa.nets.OFASupernet.subnet`,
        OFA's kernel transformations included), recalibrated on its own, and the
        checkpoint's weights are never touched.
    data_loader : iterable of (images, labels)
        Re-iterable evaluation batches (e.g. a ``torch.utils.data.DataLoader``).
    calibration_loader : iterable of (images, labels) or None, default=None
        Batches for the BatchNorm statistics (OFA uses a fixed random subset of
        training images). ``None``: the first batches of ``data_loader``.
    device : str, default="cpu"
        Where the supernet runs.
    n_calibration_batches : int or None, default=None
        Use at most this many calibration batches (``None``: all).
    interpolation : str, default="bilinear"
        ``mode`` of :func:`torch.nn.functional.interpolate` when resizing.
    num_threads : int or None, default=None
        ``torch.set_num_threads`` before evaluating (useful in worker processes).
    recalibrate : bool, default=True
        Re-estimate BatchNorm statistics for every subnet.

    Notes
    -----
    Statistics are averaged per batch (PyTorch's cumulative average) and the
    variance is PyTorch's unbiased batch variance; OFA weights batches by their
    size and uses the biased variance. Both differences vanish for equal-sized
    batches of many pixels.

    The object pickles with its supernet and loaders, so it works with process
    based joblib backends and dask.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.nets.elastic import ElasticMobileNetV3
    >>> torch.manual_seed(0) and None
    >>> net = ElasticMobileNetV3("digits_mbv3")
    >>> data = [(torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,)))]
    >>> evaluator = SupernetEvaluator(net, data)
    >>> arch = net.space.sample(1, random_state=0)[0]
    >>> 0.0 <= evaluator(arch) <= 100.0
    True
    """

    #: The unit of the results (read by :meth:`AccuracyDataset.build`).
    top1_unit = "percent"

    def __init__(
        self,
        supernet: Any,
        data_loader: Iterable,
        calibration_loader: Iterable | None = None,
        device: str = "cpu",
        n_calibration_batches: int | None = None,
        interpolation: str = "bilinear",
        num_threads: int | None = None,
        recalibrate: bool = True,
    ):
        self.supernet = supernet
        self.data_loader = data_loader
        self.calibration_loader = calibration_loader
        self.device = device
        self.n_calibration_batches = n_calibration_batches
        self.interpolation = interpolation
        self.num_threads = num_threads
        self.recalibrate = recalibrate

    def __repr__(self) -> str:
        return (
            f"SupernetEvaluator({type(self.supernet).__name__}, device={self.device!r}, "
            f"n_calibration_batches={self.n_calibration_batches!r})"
        )

    # ------------------------------------------------------------------ helpers
    def _resized(self, loader: Iterable, image_size: int, limit: int | None = None):
        import torch.nn.functional as F

        for name in ("set_image_size", "assign_active_img_size"):
            setter = getattr(loader, name, None)
            if callable(setter):
                setter(image_size)
                break
        for i, batch in enumerate(loader):
            if limit is not None and i >= limit:
                break
            images, labels = batch[0], batch[1]
            if tuple(images.shape[-2:]) != (image_size, image_size):
                linear = self.interpolation in ("bilinear", "bicubic")
                kw = {"align_corners": False} if linear else {}
                images = F.interpolate(
                    images, size=(image_size, image_size), mode=self.interpolation, **kw
                )
            yield images, labels

    _INTERPOLATIONS = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")

    def _check_params(self) -> None:
        n = self.n_calibration_batches
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(
                f"n_calibration_batches = {n!r} is not allowed; use None or an int >= 1"
            )
        if self.interpolation not in self._INTERPOLATIONS:
            raise ValueError(
                f"interpolation = {self.interpolation!r} is not allowed; allowed values: "
                f"{list(self._INTERPOLATIONS)}"
            )

    def _activate(self, arch: dict) -> None:
        setting = {k: v for k, v in arch.items() if k != "image_size"}
        params = inspect.signature(self.supernet.set_active_subnet).parameters
        accepts = "image_size" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )
        if accepts and "image_size" in arch:
            setting["image_size"] = arch["image_size"]
        self.supernet.set_active_subnet(**setting)

    # ------------------------------------------------------------------- public
    def evaluate(self, arch: dict) -> float:
        """Top-1 accuracy in percent of one arch (a dict with ``image_size``).

        Parameters
        ----------
        arch : dict
            An arch of the supernet's space.

        Returns
        -------
        float
            Top-1 in percent.
        """
        return self.evaluate_batch([arch])[0]

    __call__ = evaluate

    def evaluate_batch(self, archs: Sequence[dict]) -> list[float]:
        """Top-1 accuracies in percent of several archs.

        Parameters
        ----------
        archs : sequence of dict
            Archs of the supernet's space.

        Returns
        -------
        list of float
            Top-1 in percent, one per arch.
        """
        import torch

        if self.num_threads is not None:
            torch.set_num_threads(int(self.num_threads))
        self._check_params()
        net = self.supernet
        if callable(getattr(net, "subnet", None)) and not hasattr(net, "set_active_subnet"):
            return [self._evaluate_static(net.subnet(arch), arch) for arch in archs]
        if not callable(getattr(net, "set_active_subnet", None)):
            raise TypeError(
                "supernet must expose set_active_subnet(...) (a weight-sharing module) or "
                f"subnet(arch) (an OFASupernet), got {type(net).__name__}"
            )
        net.to(self.device)
        bns = _bn_modules(net)
        saved = [{k: v.clone() for k, v in bn.state_dict().items()} for bn in bns]
        was_training = net.training
        out = []
        try:
            for arch in archs:
                size = self._image_size(arch)
                self._activate(arch)
                self._recalibrate(net, size)
                out.append(self._top1(net, size))
        finally:
            for bn, state in zip(bns, saved):
                bn.load_state_dict(state)
            net.train(was_training)
        return out

    @staticmethod
    def _image_size(arch: dict) -> int:
        if "image_size" not in arch:
            from ..exceptions import ArchValueError

            raise ArchValueError(f"arch has no 'image_size': {arch}")
        return int(arch["image_size"])

    def _recalibrate(self, net: Any, size: int) -> None:
        if not self.recalibrate:
            return
        calib = self.data_loader if self.calibration_loader is None else self.calibration_loader
        used = set_running_statistics(
            net, self._resized(calib, size, self.n_calibration_batches), self.device
        )
        if used == 0 and _bn_modules(net):
            raise ValueError("calibration_loader yielded no batches")

    def _evaluate_static(self, subnet: Any, arch: dict) -> float:
        """Top-1 of a freshly extracted static subnet (its BatchNorm is its own)."""
        size = self._image_size(arch)
        subnet.to(self.device)
        self._recalibrate(subnet, size)
        return self._top1(subnet, size)

    def _top1(self, net: Any, image_size: int) -> float:
        import torch

        net.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for images, labels in self._resized(self.data_loader, image_size):
                logits = net(images.to(self.device))
                labels = labels.to(self.device)
                correct += int((logits.argmax(1) == labels).sum())
                total += int(labels.numel())
        if total == 0:
            raise ValueError("data_loader yielded no samples")
        return 100.0 * correct / total
