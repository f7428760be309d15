"""The decoder family: every validation rule, the nas-segm integer form, JSON round trips, hashes, the zoo."""
import copy

import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import DecoderGenotype, genotype_hash, load_genotype, to_json, zoo_genotype
from genocompile.ops import OPS
from genocompile.ops.decoder_ops import DECODER_OPS
from refusal import refused

# DrSleep/nas-segm-pytorch examples/inference/VOC-segm.ipynb
ARCH0 = [[8, [0, 0, 5, 2], [0, 2, 8, 8], [0, 5, 1, 4]], [[3, 3], [3, 2], [3, 0]]]
# Golden: changes only if the canonical form changes.
ARCH0_HASH = "dcb705e52e0c5e9269aaae46f65355ed1c39cbc5f66d0200d90e49775eb73ae4"


@pytest.fixture
def good() -> dict:
    return zoo_genotype("nekrasov_arch0").to_dict()



def test_op_names_follow_the_original_order():
    # nas-segm-pytorch rl/genotypes.py OP_NAMES (CVPR 2019), with the seg_ prefix
    assert [op[len("seg_"):] for op in DECODER_OPS] == [
        "conv1x1", "conv3x3", "sep_conv_3x3", "sep_conv_5x5", "global_average_pool", "conv3x3_dil3",
        "conv3x3_dil12", "sep_conv_3x3_dil3", "sep_conv_5x5_dil6", "skip_connect", "none"]
    assert all(OPS[op].signature == "decoder" for op in DECODER_OPS)


def test_published_layout_converts_both_ways():
    g = zoo_genotype("nekrasov_arch0")
    assert g.to_nas_segm() == ARCH0
    assert g.cell[0] == ("seg_sep_conv_5x5_dil6", 0)
    assert g.cell[1:3] == (("seg_conv3x3_dil3", 0), ("seg_sep_conv_3x3", 0))
    assert g.connections == ((3, 3), (3, 2), (3, 0)) and g.encoder == "mobilenetv2" and g.nodes == 3
    assert DecoderGenotype.from_nas_segm(ARCH0, name="nekrasov_arch0") == g
    assert (g.network.num_classes, g.network.agg_size, g.network.repeats) == (21, 64, 2)


@pytest.mark.parametrize("name", ["nekrasov_arch0", "nekrasov_arch1", "nekrasov_arch2"])
def test_zoo_json_round_trip(name):
    g = zoo_genotype(name)
    text = to_json(g)
    assert text.startswith('{"genocompile": 1,\n "family": "decoder",')
    again = load_genotype(text)
    assert again == g and to_json(again) == text and genotype_hash(again) == genotype_hash(g)
    assert DecoderGenotype.from_nas_segm(g.to_nas_segm(), name=name) == g


def test_hash_is_stable_and_ignores_the_name():
    g = zoo_genotype("nekrasov_arch0")
    assert genotype_hash(g) == ARCH0_HASH
    assert genotype_hash(g.renamed("x")) == genotype_hash(g)
    assert genotype_hash(g.with_network(auxiliary=True)) != genotype_hash(g)


def test_defaults_and_a_cell_without_nodes():
    g = DecoderGenotype(cell=[["seg_conv3x3", 0]], connections=[[0, 1]])
    assert g.nodes == 0 and g.network.skeleton == "nas-segm" and g.network.input_size == (512, 512)


@pytest.mark.parametrize("encoder", ["resnet50", None, 3])
def test_unknown_encoder(good, encoder):
    good["encoder"] = encoder
    refused(good, f"decoder: unknown encoder {encoder!r}; known: mobilenetv2")


def test_cell_pair_count(good):
    good["cell"] = good["cell"][:6]
    refused(good, "decoder cell: 6 [op, input] pairs", "1 + 2 x nodes")


def test_first_op_reads_the_cell_input(good):
    good["cell"][0][1] = 1
    refused(good, "decoder cell, first op: input must be 0")


def test_unknown_op_lists_the_known_ones(good):
    good["cell"][3][0] = "sep_conv_5x5_dil6"  # the original's name without the prefix
    refused(good, "decoder cell, node 2: unknown op 'sep_conv_5x5_dil6'", "known: seg_conv1x1")


@pytest.mark.parametrize("pair,node,limit", [(1, 1, 1), (3, 2, 4), (5, 3, 7)])
def test_node_input_out_of_range(good, pair, node, limit):
    good["cell"][pair][1] = limit + 1
    refused(good, f"decoder cell, node {node}: input {limit + 1} is out of range; node {node} can read 0..{limit}")


@pytest.mark.parametrize("pair", [["seg_conv1x1"], ["seg_conv1x1", "0"], [1, 0], ["seg_conv1x1", True], "seg_conv1x1"])
def test_cell_pair_types(good, pair):
    good["cell"][2] = pair
    refused(good, "decoder cell, pair 2: must be [op name, input index]")


def test_connections_out_of_range(good):
    good["connections"][0] = [4, 0]
    refused(good, "decoder connections, block 0: input 4 is out of range; block 0 can read 0..3",
            "mobilenetv2 outputs at strides 4, 8, 16, 32")
    good["connections"][0] = [3, 3]
    good["connections"][2] = [6, 0]
    refused(good, "block 2: input 6 is out of range; block 2 can read 0..5", "4..5 = blocks 0..1")
    good["connections"][2] = [-1, 0]
    refused(good, "input -1 is out of range")


@pytest.mark.parametrize("connections,fragment", [
    ([], "non-empty list of [input, input] pairs"),
    ([[3]], "block 0: must be [input, input]"),
    ([[3, 3.0]], "block 0: must be [input, input]"),
    ("33", "non-empty list"),
])
def test_connection_types(good, connections, fragment):
    good["connections"] = connections
    refused(good, "decoder connections", fragment)


@pytest.mark.parametrize("key,value,fragment", [
    ("input_size", [16, 512], "at least 32"),
    ("agg_size", 0, "agg_size must be a positive integer"),
    ("repeats", "2", "repeats must be a positive integer"),
    ("auxiliary", 1, "auxiliary must be true or false"),
    ("crop", 321, "unknown key(s) 'crop'"),
])
def test_bad_network(good, key, value, fragment):
    good["network"][key] = value
    refused(good, "network", fragment)


def test_missing_and_unknown_keys(good):
    bad = copy.deepcopy(good)
    del bad["connections"]
    refused(bad, "missing 'connections'")
    good["decoder"] = []
    refused(good, "unknown key(s) 'decoder'")


@pytest.mark.parametrize("layout,fragment", [
    ([[11, [0, 0, 5, 2]], [[3, 3]]], "op index 11 is out of range"),
    ([[8, [0, 0, 5]], [[3, 3]]], "node 1: must be [pos1, pos2, op1, op2]"),
    ([[8]], "must be [[op0, [pos1, pos2, op1, op2], ...], [[i, j], ...]]"),
])
def test_bad_nas_segm_layout(layout, fragment):
    with pytest.raises(GenotypeError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        DecoderGenotype.from_nas_segm(layout)


def test_frozen():
    g = zoo_genotype("nekrasov_arch1")
    with pytest.raises(AttributeError):
        g.cell = ()  # type: ignore[misc]
    assert isinstance(g.cell[0], tuple) and isinstance(g.connections[0], tuple)
