"""Every validation rule refuses with one line that names the place and the fix."""
import copy

import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import genotype_from_dict, zoo_genotype
from refusal import refused


@pytest.fixture
def good() -> dict:
    return zoo_genotype("darts_v2").to_dict()


def test_valid_genotype_passes(good):
    assert genotype_from_dict(good).name == "darts_v2"


def test_unknown_op_lists_the_known_ones(good):
    good["normal"][6][0] = "sep_conv_9x9"
    refused(good, "cell normal, node 5", "unknown op 'sep_conv_9x9'", "known:", "sep_conv_3x3", "dil_conv_5x5")


def test_input_pointing_forward(good):
    good["normal"][2][1] = 3  # node 3 reading node 3
    refused(good, "cell normal, node 3", "input 3 is out of range", "earlier node 2..2")


def test_input_negative(good):
    good["reduce"][0][1] = -1
    refused(good, "cell reduce, node 2", "input -1 is out of range")


def test_concat_naming_a_missing_node(good):
    good["normal_concat"] = [2, 3, 4, 5, 6]
    refused(good, "cell normal_concat", "node 6", "nodes 2..5")


def test_concat_naming_a_cell_input(good):
    good["reduce_concat"] = [1, 2]
    refused(good, "cell reduce_concat", "node 1")


def test_concat_duplicate(good):
    good["normal_concat"] = [2, 2, 3]
    refused(good, "names a node twice")


def test_odd_pair_count(good):
    good["normal"] = good["normal"][:7]
    refused(good, "cell normal", "7 [op, input] pairs is odd")


@pytest.mark.parametrize("pair", [["sep_conv_3x3"], ["sep_conv_3x3", "0"], [3, 0], ["sep_conv_3x3", 1.0],
                                  ["sep_conv_3x3", True], "sep_conv_3x3"])
def test_wrong_pair_types(good, pair):
    good["normal"][0] = pair
    refused(good, "cell normal, pair 0", "must be [op name, input index]")


def test_edges_not_a_list(good):
    good["reduce"] = "max_pool_3x3"
    refused(good, "cell reduce", "non-empty list")


def test_concat_wrong_type(good):
    good["normal_concat"] = "2345"
    refused(good, "cell normal_concat", "list of node indices")


def test_missing_field(good):
    del good["reduce_concat"]
    refused(good, "missing 'reduce_concat'")


def test_unknown_top_level_key(good):
    good["normall"] = []
    refused(good, "unknown key(s) 'normall'")


def test_unknown_skeleton(good):
    good["network"]["skeleton"] = "resnet"
    refused(good, "unknown skeleton 'resnet'", "darts-cifar", "darts-imagenet")


@pytest.mark.parametrize("key,value,fragment", [
    ("init_channels", 0, "init_channels must be a positive integer"),
    ("init_channels", "36", "init_channels must be a positive integer"),
    ("layers", True, "layers must be a positive integer"),
    ("num_classes", -3, "num_classes must be a positive integer"),
    ("input_size", [32], "input_size must be [height, width]"),
    ("input_size", 32, "input_size must be [height, width]"),
    ("input_size", [30, 30], "must be divisible by 4"),
    ("auxiliary", 1, "auxiliary must be true or false"),
    ("dropout", 0.2, "unknown key(s) 'dropout'"),
])
def test_bad_network_values(good, key, value, fragment):
    good["network"][key] = value
    refused(good, "network", fragment)


def test_imagenet_needs_even_channels_and_a_poolable_size(good):
    bad = copy.deepcopy(good)
    bad["network"] = {"skeleton": "darts-imagenet", "init_channels": 47}
    refused(bad, "init_channels must be even")
    bad["network"] = {"skeleton": "darts-imagenet", "input_size": [192, 192]}
    refused(bad, "multiple of 32 between 224 and 416")


@pytest.mark.parametrize("version,fragment", [(2, "unsupported genotype format version 2"),
                                              ("1", "unsupported genotype format version '1'"),
                                              (True, "unsupported genotype format version True")])
def test_unsupported_format_version(good, version, fragment):
    good["genocompile"] = version
    refused(good, fragment)


def test_missing_format_version(good):
    del good["genocompile"]
    refused(good, 'add "genocompile": 1')


def test_unknown_family(good):
    good["family"] = "graph"
    refused(good, "unknown genotype family 'graph'", "cell")


def test_not_an_object():
    refused([1, 2], "must be a JSON object")


def test_direct_construction_validates_too():
    from genocompile.genotype import CellGenotype

    with pytest.raises(GenotypeError, match="unknown op"):
        CellGenotype(normal=[("conv_9x9", 0), ("skip_connect", 1)], normal_concat=[2],
                     reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1)], reduce_concat=[2])


def test_genotype_is_frozen():
    g = zoo_genotype("darts_v2")
    with pytest.raises(AttributeError):
        g.normal = ()  # type: ignore[misc]
    assert isinstance(g.normal, tuple) and isinstance(g.normal[0], tuple)
