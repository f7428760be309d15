"""An independent count of the chain networks (ShuffleNetV2 one-shot: SPOS / DetNAS; ProxylessNAS): closed-form
parameter and MultiAdds formulas per layer, walked over a canonical genotype dict with explicit spatial sizes.
It shares no code with genocompile's builders (block structures written out here from the megvii and
ProxylessNAS sources), so agreement is evidence, not tautology.

Conventions: conv = out_numel * (C_in / groups) * kh * kw (bias not counted, as fvcore and the papers);
linear = in * out; fvcore adds BatchNorm in eval at 2 x numel and adaptive average pooling at its input numel.
"""
from __future__ import annotations

SHUFFLE_BLOCKS = ("shufflenet_3x3", "shufflenet_5x5", "shufflenet_7x7", "xception_3x3")
MBCONV_BLOCKS = ((3, 3), (3, 6), (5, 3), (5, 6), (7, 3), (7, 6), None)  # (kernel, expansion); None = skip


def _out(size: int, k: int, s: int) -> int:
    return (size + 2 * (k // 2) - k) // s + 1


class _Tally:
    def __init__(self):
        self.params = self.conv_linear = self.bn = self.pool = 0

    def conv(self, c_in, c_out, k, h, w, groups=1, bias=False):
        self.params += c_out * (c_in // groups) * k * k + (c_out if bias else 0)
        self.conv_linear += h * w * c_out * (c_in // groups) * k * k

    def batch_norm(self, c, h, w):
        self.params += 2 * c
        self.bn += 2 * c * h * w

    def linear(self, c_in, c_out, bias):
        self.params += c_in * c_out + (c_out if bias else 0)
        self.conv_linear += c_in * c_out

    def result(self) -> tuple[int, int, int]:
        return self.params, self.conv_linear, self.conv_linear + self.bn + self.pool


def _slots(widths_in: int, stage_widths, repeats, strides):
    c_in = widths_in
    for width, n, stride in zip(stage_widths, repeats, strides):
        for i in range(n):
            yield c_in, width, stride if i == 0 else 1
            c_in = width


def _shufflenet(g: dict) -> tuple[int, int, int]:
    net, t = g["network"], _Tally()
    biased = net["skeleton"] == "detnas-imagenet"  # DetNAS' first / last conv and classifier carry a bias
    widths, repeats = net["stage_out_channels"], net["stage_repeats"]
    h, w = (_out(s, 3, 2) for s in net["input_size"])
    t.conv(3, widths[0], 3, h, w, bias=biased)
    t.batch_norm(widths[0], h, w)
    scales = g.get("channel_scales") or [1.0] * len(g["choices"])
    slots = _slots(widths[0], widths[1:-1], repeats, [2] * len(repeats))
    for (c_in, c_out, stride), choice, scale in zip(slots, g["choices"], scales):
        block = SHUFFLE_BLOCKS[choice]
        k = int(block[-1])
        mid = int(c_out // 2 * scale)
        b_in = c_in if stride == 2 else c_in // 2
        b_out = c_out - b_in
        oh, ow = _out(h, k, stride), _out(w, k, stride)
        if block.startswith("shufflenet"):
            t.conv(b_in, mid, 1, h, w), t.batch_norm(mid, h, w)
            t.conv(mid, mid, k, oh, ow, groups=mid), t.batch_norm(mid, oh, ow)
            t.conv(mid, b_out, 1, oh, ow), t.batch_norm(b_out, oh, ow)
        else:  # xception: (dw 3x3 -> BN -> 1x1 -> BN -> ReLU) x 3, only the first dw strides
            for c_a, c_b in ((b_in, mid), (mid, mid), (mid, b_out)):
                t.conv(c_a, c_a, 3, oh, ow, groups=c_a), t.batch_norm(c_a, oh, ow)
                t.conv(c_a, c_b, 1, oh, ow), t.batch_norm(c_b, oh, ow)
        if stride == 2:  # projection branch: dw kxk / 2 -> BN -> 1x1 -> BN
            t.conv(c_in, c_in, k, oh, ow, groups=c_in), t.batch_norm(c_in, oh, ow)
            t.conv(c_in, c_in, 1, oh, ow), t.batch_norm(c_in, oh, ow)
        h, w = oh, ow
    t.conv(widths[-2], widths[-1], 1, h, w, bias=biased)
    t.batch_norm(widths[-1], h, w)
    t.pool += widths[-1] * h * w
    t.linear(widths[-1], net["num_classes"], bias=biased)
    return t.result()


def _mbconv(t: _Tally, c_in, c_out, k, e, stride, h, w):
    mid = c_in if e == 1 else round(c_in * e)
    if e != 1:
        t.conv(c_in, mid, 1, h, w), t.batch_norm(mid, h, w)
    oh, ow = _out(h, k, stride), _out(w, k, stride)
    t.conv(mid, mid, k, oh, ow, groups=mid), t.batch_norm(mid, oh, ow)
    t.conv(mid, c_out, 1, oh, ow), t.batch_norm(c_out, oh, ow)
    return oh, ow


def _proxyless(g: dict) -> tuple[int, int, int]:
    net, t = g["network"], _Tally()
    c0, c1, last = net["first_channels"], net["first_block_channels"], net["last_channels"]
    h, w = (_out(s, 3, 2) for s in net["input_size"])
    t.conv(3, c0, 3, h, w), t.batch_norm(c0, h, w)
    h, w = _mbconv(t, c0, c1, 3, 1, 1, h, w)
    slots = _slots(c1, net["stage_widths"], net["stage_repeats"], net["stage_strides"])
    for (c_in, c_out, stride), choice in zip(slots, g["choices"]):
        if MBCONV_BLOCKS[choice] is not None:
            h, w = _mbconv(t, c_in, c_out, *MBCONV_BLOCKS[choice], stride, h, w)
    t.conv(net["stage_widths"][-1], last, 1, h, w), t.batch_norm(last, h, w)
    t.pool += last * h * w
    t.linear(last, net["num_classes"], bias=True)
    return t.result()


def count(genotype: dict) -> tuple[int, int, int]:
    """(params, conv+linear MultiAdds, fvcore MultiAdds) at batch 1 of a canonical chain genotype dict."""
    if genotype["network"]["skeleton"] == "proxylessnas-imagenet":
        return _proxyless(genotype)
    return _shufflenet(genotype)
