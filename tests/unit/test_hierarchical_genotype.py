"""The `hierarchical` family: the published Auto-DeepLab entry, JSON and hash, and every validation rule."""
import copy
import json
import random

import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import HierarchicalGenotype, genotype_from_dict, genotype_hash, load_genotype, to_json
from genocompile.genotype.hierarchical import TF_AUTODEEPLAB, from_tf
from genotype_factory import random_hierarchical
from refusal import refused

# Golden: changes only if the canonical form or the skeleton defaults change (that orphans journals and bundles).
AUTODEEPLAB_HASH = "6d90cccd5529d9c5b4e365c61eb62cdefc4c546a93e59090547b88f1bfc748da"


@pytest.fixture
def good() -> dict:
    return load_genotype("zoo:autodeeplab").to_dict()


def test_zoo_entry_is_the_published_network():
    g = load_genotype("zoo:autodeeplab")
    assert g.family == "hierarchical" and g.network.skeleton == "autodeeplab"
    assert list(g.path) == [4, 4, 4, 8, 16, 8, 16, 16, 32, 32, 16, 8]  # paper Fig. 3; TF backbone levels 0..3
    # The paper's cell (Fig. 3), written block by block in our convention (0 = H^{l-2}, 1 = H^{l-1}).
    h_prev_prev, h_prev = 0, 1
    assert [list(e) for e in g.cell] == [
        ["atrous_5x5", h_prev_prev], ["separable_3x3_2", h_prev],  # block 0 (node 2)
        ["separable_3x3_2", h_prev_prev], ["atrous_3x3", h_prev],  # block 1 (node 3)
        ["separable_3x3_2", 3], ["separable_3x3_2", h_prev_prev],  # block 2 reads block 1
        ["separable_5x5_2", 4], ["separable_5x5_2", 2],  # block 3 reads blocks 2 and 0
        ["separable_5x5_2", 3], ["atrous_5x5", 5],  # block 4 reads blocks 1 and 3
    ]
    assert (g.blocks, g.layers) == (5, 12)
    net = g.network
    assert (net.filter_multiplier, net.num_classes, net.input_size) == (20, 19, (1024, 2048))


def test_tf_conversion_swaps_the_two_cell_inputs_back():
    g = load_genotype("zoo:autodeeplab")
    swap = {0: 1, 1: 0}
    assert [swap.get(i, i) for _, i in g.cell] == TF_AUTODEEPLAB["hiddenstate_indices"]
    assert [op for op, _ in g.cell] == TF_AUTODEEPLAB["operations"]
    assert from_tf(["none", "max_pool_3x3"], [0, 1], [1, 2]).cell == (("identity", 1), ("max_pool_3x3", 0))
    with pytest.raises(GenotypeError, match="2 operations but 1 hiddenstate_indices"):
        from_tf(["none", "none"], [0], [0])
    with pytest.raises(GenotypeError, match="levels must be 0..3"):
        from_tf(["none", "none"], [0, 1], [0, 4])


def test_canonical_json_round_trip_and_hash(tmp_path):
    g = load_genotype("zoo:autodeeplab")
    text = to_json(g)
    assert text.startswith('{"genocompile": 1,\n "family": "hierarchical",')
    assert load_genotype(text) == g and to_json(load_genotype(text)) == text
    (tmp_path / "adl.json").write_text(text)
    assert load_genotype(str(tmp_path / "adl.json")) == g
    assert genotype_hash(g) == AUTODEEPLAB_HASH
    assert genotype_hash(g.renamed("mine")) == AUTODEEPLAB_HASH
    assert genotype_hash(g.with_network(filter_multiplier=48)) != AUTODEEPLAB_HASH
    assert genotype_hash(HierarchicalGenotype(cell=g.cell, path=g.path[:-1] + (16,))) != AUTODEEPLAB_HASH


def test_random_genotypes_round_trip():
    rng = random.Random(3)
    for _ in range(100):
        g = random_hierarchical(rng, name="genotype")
        again = load_genotype(json.loads(to_json(g)))
        assert again == g and genotype_hash(again) == genotype_hash(g)


def test_network_defaults_and_overrides(good):
    del good["network"]
    assert load_genotype(good).network.stem_channels == (64, 64, 128)
    good["network"] = {"filter_multiplier": 48, "input_size": [512, 1024]}
    net = load_genotype(good).network
    assert (net.skeleton, net.filter_multiplier, net.input_size, net.aspp_rates) == \
        ("autodeeplab", 48, (512, 1024), (6, 12, 18))
    g = load_genotype("zoo:autodeeplab").with_network(input_size=(256, 512), num_classes=4)
    assert (g.network.input_size, g.network.num_classes, g.network.filter_multiplier) == ((256, 512), 4, 20)


@pytest.mark.parametrize("path,fragment", [
    ([4, 4, 64], "path, layer 2: rate 64 is not a downsample rate; use one of 4, 8, 16, 32"),
    ([2, 4], "path, layer 0: rate 2 is not a downsample rate"),
    ([16, 8], "path, layer 0: rate 16 cannot follow the stem (rate 4); a layer keeps, halves or doubles the rate, "
              "so use 4 or 8 here"),
    ([4, 8, 32], "path, layer 2: rate 32 cannot follow layer 1 (rate 8)"),
    ([4, 8, 32], "use 4, 8 or 16 here"),
    ([8, 16, 32, 4], "path, layer 3: rate 4 cannot follow layer 2 (rate 32)"),
])
def test_impossible_paths_name_the_layer_and_the_fix(good, path, fragment):
    good["path"] = path
    refused(good, fragment)


@pytest.mark.parametrize("path", [[], "4,4,8", [4, 8.0], [4, True], None])
def test_path_must_be_a_list_of_integers(good, path):
    good["path"] = path
    refused(good, "path: must be a non-empty list of downsample rates (4, 8, 16, 32)")


def test_valid_paths_pass(good):
    for path in ([4], [8], [8, 4, 4], [4, 8, 16, 32, 32, 16, 8, 4], [8, 16, 32, 16, 32, 16, 8, 16]):
        good["path"] = path
        assert list(genotype_from_dict(good).path) == path


def test_unknown_op_lists_the_auto_deeplab_ops(good):
    good["cell"][3][0] = "sep_conv_3x3"  # a DARTS name: not in Auto-DeepLab's op set
    refused(good, "cell, node 3: unknown op 'sep_conv_3x3'; known: atrous_3x3, atrous_5x5, avg_pool_3x3, identity, "
                  "max_pool_3x3, none, separable_3x3_2, separable_5x5_2")


@pytest.mark.parametrize("index,value,fragment", [
    (4, 4, "cell, node 4: input 4 is out of range"),
    (0, 2, "cell, node 2: input 2 is out of range; node 2 can read 0 (cell k-2) or 1 (cell k-1)"),
    (9, -1, "cell, node 6: input -1 is out of range"),
])
def test_bad_input_indices(good, index, value, fragment):
    good["cell"][index][1] = value
    refused(good, fragment)


@pytest.mark.parametrize("cell,fragment", [
    ([["atrous_3x3", 0]], "cell: 1 [op, input] pairs is odd"),
    ([], "cell: must be a non-empty list of [op, input] pairs"),
    ([["atrous_3x3", "0"], ["none", 1]], "cell, pair 0: must be [op name, input index]"),
    ([["atrous_3x3", 0], ["none", True]], "cell, pair 1: must be [op name, input index]"),
])
def test_bad_cells(good, cell, fragment):
    good["cell"] = cell
    refused(good, fragment)


def test_missing_and_unknown_keys(good):
    refused({k: v for k, v in good.items() if k != "path"}, "missing 'path'")
    refused({k: v for k, v in good.items() if k != "cell"}, "missing 'cell'")
    refused({**good, "normal": []}, "unknown key(s) 'normal'")


@pytest.mark.parametrize("key,value,fragment", [
    ("input_size", [1000, 2048], "input_size [1000, 2048] must be divisible by 32, the path's deepest rate"),
    ("input_size", [1000, 2048], "e.g. [1024, 2048]"),
    ("input_size", [1024], "input_size must be [height, width]"),
    ("filter_multiplier", 0, "filter_multiplier must be a positive integer"),
    ("num_classes", "19", "num_classes must be a positive integer"),
    ("stem_channels", [64, 128], "stem_channels must be three positive integers"),
    ("stem_channels", [64, 0, 128], "stem_channels must be three positive integers"),
    ("aspp_rates", [], "aspp_rates must be one or more positive integers"),
    ("aspp_rates", [6, -12], "aspp_rates must be one or more positive integers"),
    ("output_stride", 8, "unknown key(s) 'output_stride' for skeleton 'autodeeplab'"),
    ("skeleton", "darts-cifar", "unknown skeleton 'darts-cifar'; known for this family: autodeeplab"),
])
def test_bad_network_values(good, key, value, fragment):
    good["network"][key] = value
    refused(good, "network", fragment)


def test_input_size_divisibility_follows_the_path(good):
    good["path"] = [4, 8, 8]
    good["network"]["input_size"] = [72, 136]  # divisible by 8, the deepest rate of this path
    assert genotype_from_dict(good).network.input_size == (72, 136)
    good["path"] = [4, 8, 16]
    refused(good, "must be divisible by 16", "e.g. [80, 144]")


def test_aspp_rates_must_scale_to_integers_at_rate_32(good):
    bad = copy.deepcopy(good)
    bad["path"] = [8, 16, 32]
    bad["network"]["aspp_rates"] = [6, 13, 18]
    refused(bad, "aspp_rates [6, 13, 18] are given at output stride 16 and scale by 16/32", "multiple of 2")


def test_direct_construction_validates_and_is_frozen():
    with pytest.raises(GenotypeError, match="unknown op 'conv_9x9'"):
        HierarchicalGenotype(cell=[("conv_9x9", 0), ("identity", 1)], path=[4])
    g = HierarchicalGenotype(cell=[["atrous_3x3", 0], ["identity", 1]], path=[4, 8])
    assert isinstance(g.cell, tuple) and isinstance(g.cell[0], tuple)
    with pytest.raises(AttributeError):
        g.path = (4,)  # type: ignore[misc]
    with pytest.raises(GenotypeError, match="must be divisible by 8"):
        g.with_network(input_size=(60, 64))
