"""Skeleton lowering of the auxiliary-cell segmenter (`nas-segm`), mirroring `genocompile.models.decoder` and
`genocompile.models.mobilenetv2` module by module, with the same state_dict keys.

Inference only: the auxiliary heads (`decoder.aux_clfs.*`, the model's `auxiliary_prefixes`) are
training-time supervision that `Segmenter.forward` never runs, so no node is lowered from them and no
weight of theirs is attached: every artifact built from this graph is free of them.
"""
from __future__ import annotations

from genocompile.errors import GenotypeError
from genocompile.ir.graph import GraphBuilder
from genocompile.ir.lower import lower_op, register_skeleton_lowering
from genocompile.models.mobilenetv2 import INVERTED_RESIDUAL_SETTING, OUTPUT_LAYERS
from genocompile.ops.decoder_lowering import conv_bn_relu


def _conv_bn(b: GraphBuilder, x: str, c_out: int, kernel: int, stride: int, prefix: str, i: int,
             groups: int = 1) -> str:
    h = b.conv(x, c_out, kernel, stride, kernel // 2, groups=groups, weight=f"{prefix}.{i}.weight")
    return b.batchnorm(h, f"{prefix}.{i + 1}")


def _inverted_residual(b: GraphBuilder, x: str, c_out: int, stride: int, expand: int, prefix: str) -> str:
    """MobileNetV2 block `conv.{0..7}`: 1x1 expand, BN, ReLU6, depthwise 3x3, BN, ReLU6, 1x1, BN (+ x)."""
    c_in = b.shape(x)[0]
    mid = c_in * expand
    key = f"{prefix}.conv"
    h = b.add("relu6", [_conv_bn(b, x, mid, 1, 1, key, 0)], name=f"{key}.2")
    h = b.add("relu6", [_conv_bn(b, h, mid, 3, stride, key, 3, groups=mid)], name=f"{key}.5")
    h = _conv_bn(b, h, c_out, 1, 1, key, 6)
    if stride == 1 and c_in == c_out:
        return b.add("add", [x, h], name=f"{prefix}.residual")
    return h


def _encoder(b: GraphBuilder, x: str) -> list[str]:
    """MobileNetV2Encoder: layer1 (3x3/2, BN, ReLU6), layers 2..8; the outputs of layers 3, 4, 6 and 8."""
    x = b.add("relu6", [_conv_bn(b, x, 32, 3, 2, "encoder.layer1", 0)], name="encoder.layer1.2")
    outputs = []
    for index, (t, c_out, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=2):
        for i in range(n):
            x = _inverted_residual(b, x, c_out, s if i == 0 else 1, t, f"encoder.layer{index}.{i}")
        if index in OUTPUT_LAYERS:
            outputs.append(x)
    return outputs


def _contextual_cell(b: GraphBuilder, genotype, x: str, prefix: str) -> str:
    """ContextualCell: the same `_ops` indexing (a node's sum takes an index of its own, no parameters) and the
    same loose-end bookkeeping; its output is the sum of every feature no node reads, in the reference's order."""
    c, repeats = b.shape(x)[0], genotype.network.repeats
    feats, collect = [x], [0]
    k = 0  # index into the reference's `_ops` (op modules and Sum modules alike)
    for i, (op, index) in enumerate(genotype.cell):
        feats.append(lower_op(b, op, feats[index], c, repeats, f"{prefix}._ops.{k}"))
        k += 1
        if index in collect:
            collect.remove(index)
        if i == 0:
            collect.append(1)
        elif i % 2 == 0:
            feats.append(b.add("add", [feats[-2], feats[-1]], name=f"{prefix}._ops.{k}"))
            k += 1
            collect.append(len(feats) - 1)
    if len(collect) == 1:
        return feats[collect[0]]
    return b.add("add", [feats[i] for i in collect], name=f"{prefix}.out")


def _resize_to(b: GraphBuilder, x: str, like: str, name: str) -> str:
    return b.add("resize", [x], {"size": b.shape(like)[1:]}, name=name)


def _aggregate(b: GraphBuilder, x1: str, x2: str, s1: int, s2: int, prefix: str) -> str:
    """AggregateCell: conv-BN-ReLU on each input, the lower-resolution one upsampled to the other, added."""
    c = b.shape(x1)[0]
    x1, x2 = conv_bn_relu(b, x1, c, 1, f"{prefix}.branch_1"), conv_bn_relu(b, x2, c, 1, f"{prefix}.branch_2")
    if s2 > s1:
        x2 = _resize_to(b, x2, x1, f"{prefix}.resize")
    elif s1 > s2:
        x1 = _resize_to(b, x1, x2, f"{prefix}.resize")
    return b.add("add", [x1, x2], name=f"{prefix}.sum")


@register_skeleton_lowering("nas-segm")
def lower_nas_segm(genotype, b: GraphBuilder) -> str:
    """Segmenter: encoder, MicroDecoder (adapt, cells, pre_clf, conv_clf), resize to the input size."""
    net, enc = genotype.network, genotype.encoder_spec
    if genotype.encoder != "mobilenetv2":
        raise GenotypeError(f"decoder: no IR lowering for encoder {genotype.encoder!r}; lower it here beside "
                            f"mobilenetv2")
    image = b.add("input", [], {"shape": (3, *net.input_size)}, name="input")
    encoded = _encoder(b, image)
    c, n_enc = net.agg_size, len(enc.out_channels)
    used = sorted({k for pair in genotype.connections for k in pair if k < n_enc})
    pool: list = [None] * n_enc
    for k in used:
        pool[k] = conv_bn_relu(b, encoded[k], c, 1, f"decoder.adapt{k + 1}")
    strides, collect = list(enc.out_strides), []
    for blk, (i, j) in enumerate(genotype.connections):
        collect = [k for k in collect if k not in (i, j)]
        prefix = f"decoder.cells.{blk}"
        x1 = _contextual_cell(b, genotype, pool[i], f"{prefix}.op_1")
        x2 = _contextual_cell(b, genotype, pool[j], f"{prefix}.op_2")
        pool.append(_aggregate(b, x1, x2, strides[i], strides[j], f"{prefix}.agg"))
        strides.append(min(strides[i], strides[j]))
        collect.append(n_enc + blk)
    # MicroDecoder.classify: concatenate the loose block outputs at the finest resolution among them.
    out, stride = pool[collect[0]], strides[collect[0]]
    for k in collect[1:]:
        feature = pool[k]
        if stride > strides[k]:
            out, stride = _resize_to(b, out, feature, f"decoder.resize.{k}"), strides[k]
        elif strides[k] > stride:
            feature = _resize_to(b, feature, out, f"decoder.resize.{k}")
        out = b.add("concat", [out, feature], name=f"decoder.cat.{k}")
    h = conv_bn_relu(b, b.add("relu", [out], name="decoder.relu"), c, 1, "decoder.pre_clf")
    logits = b.conv(h, net.num_classes, 3, 1, 1, weight="decoder.conv_clf.weight", bias="decoder.conv_clf.bias")
    return _resize_to(b, logits, image, "resize")
