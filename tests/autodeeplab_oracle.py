"""An independent count of the Auto-DeepLab network: closed-form parameters and fvcore MultiAdds per layer,
walked over a canonical `hierarchical` genotype dict with explicit map sizes. It shares no code with
genocompile's builder or op modules (only the published architecture: TF nas_network / nas_cell and the
DeepLabv3+ head), so agreement between the two is evidence, not tautology.

fvcore conventions: conv = out_numel * (C_in / groups) * kh * kw (bias not counted); BatchNorm in eval with
affine = 2 * numel; bilinear upsample = 4 * output numel; adaptive average pool = input numel; ReLU, add,
pools = 0. A TorchScript trace drops what nothing reads: a cell input no op reads, a layer whose output no
later layer, the decoder or the ASPP reads, costs no MultiAdds (its parameters still count).

`tf_sizes=True` counts on TensorFlow's sizes instead: DeepLab evaluates Cityscapes on 4k+1 crops
(1025x2049 for a 1024x2048 setting), where a map at rate r is (H/r + 1) x (W/r + 1).
"""
from __future__ import annotations

RATE_STEM0 = 2  # H^{-2}, after the stem's first two convs
RATE_STEM = 4  # H^{-1}, the stem's output


class _Tally:
    def __init__(self):
        self.params = 0
        self.multiadds = 0

    def conv(self, c_in, c_out, k, hw, groups=1, live=True, bias=False):
        self.params += c_in // groups * c_out * k * k + (c_out if bias else 0)
        if live:
            self.multiadds += hw * c_out * (c_in // groups) * k * k

    def bn(self, c, hw, live=True):
        self.params += 2 * c
        if live:
            self.multiadds += 2 * c * hw

    def resize(self, c, hw_out, live=True):
        if live:
            self.multiadds += 4 * c * hw_out


def _reads(cell, index):
    return any(i == index for _, i in cell)


def _liveness(cell, path, low_layer):
    """live[l] for each layer, and whether the stem's two outputs are read."""
    layers = len(path)
    live = [False] * layers
    for layer in range(layers - 1, -1, -1):
        live[layer] = (layer == layers - 1 or layer == low_layer
                       or (layer + 1 < layers and live[layer + 1] and _reads(cell, 1))
                       or (layer + 2 < layers and live[layer + 2] and _reads(cell, 0)))
    stem1 = (low_layer == -1 or (live[0] and _reads(cell, 1)) or (layers > 1 and live[1] and _reads(cell, 0)))
    stem0 = stem1 or (live[0] and _reads(cell, 0))
    return live, stem0, stem1


def _op(t, op, c, hw_out, stride, live):
    kind, _, rest = op.partition("_")
    if kind == "separable":  # separable_kxk_2: two (depthwise kxk, pointwise, BN); the first strides
        k = int(rest[0])
        for _ in range(2):
            t.conv(c, c, k, hw_out, groups=c, live=live)
            t.conv(c, c, 1, hw_out, live=live)
            t.bn(c, hw_out, live=live)
    elif kind == "atrous":  # full kxk conv + BN; stride 2 halves the map bilinearly first
        k = int(rest[0])
        if stride == 2:
            t.resize(c, hw_out, live=live)
        t.conv(c, c, k, hw_out, live=live)
        t.bn(c, hw_out, live=live)
    elif op == "identity" and stride == 2:  # 1x1 conv / 2 + BN
        t.conv(c, c, 1, hw_out, live=live)
        t.bn(c, hw_out, live=live)
    elif op not in ("identity", "none", "max_pool_3x3", "avg_pool_3x3"):
        raise KeyError(op)


def count(genotype: dict, tf_sizes: bool = False) -> tuple[int, int]:
    """(params, fvcore MultiAdds at batch 1) of a canonical hierarchical genotype dict."""
    net, cell, path = genotype["network"], genotype["cell"], genotype["path"]
    f, classes = net["filter_multiplier"], net["num_classes"]
    h, w = net["input_size"]
    extra = 1 if tf_sizes else 0

    def hw(rate):
        return (h // rate + extra) * (w // rate + extra)

    blocks = len(cell) // 2
    low_layer = -1
    while low_layer + 1 < len(path) and path[low_layer + 1] == RATE_STEM:
        low_layer += 1
    live, stem0_live, stem1_live = _liveness(cell, path, low_layer)
    t = _Tally()
    c0, c1, c2 = net["stem_channels"]
    t.conv(3, c0, 3, hw(RATE_STEM0), live=stem0_live)
    t.bn(c0, hw(RATE_STEM0), live=stem0_live)
    t.conv(c0, c1, 3, hw(RATE_STEM0), live=stem0_live)
    t.bn(c1, hw(RATE_STEM0), live=stem0_live)
    t.conv(c1, c2, 3, hw(RATE_STEM), live=stem1_live)
    t.bn(c2, hw(RATE_STEM), live=stem1_live)
    prev_prev, prev = (c1, RATE_STEM0), (c2, RATE_STEM)
    for layer, rate in enumerate(path):
        c = f * rate // 4
        rate_in = min(prev[1], rate)
        for (c_x, rate_x), index in ((prev_prev, 0), (prev, 1)):
            used = live[layer] and _reads(cell, index)
            if rate_x != rate_in:
                t.resize(c_x, hw(rate_in), live=used)
            if index == 1 or c_x != c:  # H^{l-1} always gets a 1x1; H^{l-2} only to change its filter count
                t.conv(c_x, c, 1, hw(rate_in), live=used)
                t.bn(c, hw(rate_in), live=used)
        for op, index in cell:
            stride = 2 if rate > prev[1] and index < 2 else 1
            _op(t, op, c, hw(rate), stride, live[layer])
        prev_prev, prev = prev, (blocks * c, rate)
    # ASPP on the last layer's output
    c_last, rate_last = prev
    depth, rates = net["aspp_channels"], net["aspp_rates"]
    t.multiadds += c_last * hw(rate_last)  # adaptive average pool
    t.conv(c_last, depth, 1, 1)  # image pooling 1x1 on the pooled 1x1 map (+ BN)
    t.bn(depth, 1)
    t.conv(c_last, depth, 1, hw(rate_last))
    t.bn(depth, hw(rate_last))
    for _ in rates:
        t.conv(c_last, depth, 3, hw(rate_last))
        t.bn(depth, hw(rate_last))
    t.conv(depth * (len(rates) + 2), depth, 1, hw(rate_last))
    t.bn(depth, hw(rate_last))
    # decoder at rate 4, logits, upsampling to the input
    c_low = c2 if low_layer < 0 else blocks * f
    low, dec = net["low_level_channels"], net["decoder_channels"]
    t.conv(c_low, low, 1, hw(RATE_STEM))
    t.bn(low, hw(RATE_STEM))
    if rate_last != RATE_STEM:
        t.resize(depth, hw(RATE_STEM))
    t.conv(depth + low, dec, 3, hw(RATE_STEM))
    t.bn(dec, hw(RATE_STEM))
    t.conv(dec, dec, 3, hw(RATE_STEM))
    t.bn(dec, hw(RATE_STEM))
    t.conv(dec, classes, 1, hw(RATE_STEM), bias=True)
    t.resize(classes, (h + extra) * (w + extra))
    return t.params, t.multiadds
