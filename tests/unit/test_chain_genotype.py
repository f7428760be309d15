"""The chain family: every validation rule, JSON round trips, hash stability, the zoo entries."""
import copy
import json
import random

import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import ChainGenotype, genotype_hash, load_genotype, to_json, zoo_genotype
from genocompile.genotype.chain_spaces import CHAIN_SPACES
from genocompile.ops import OPS
from chain_factory import random_chain
from refusal import refused

SPOS = [2, 1, 0, 1, 2, 0, 2, 0, 2, 0, 2, 3, 0, 0, 0, 0, 3, 2, 3, 3]
DETNAS_LARGE = [0, 0, 3, 1, 2, 1, 0, 2, 0, 3, 1, 2, 3, 3, 2, 0, 2, 1, 1, 3,
                2, 0, 2, 2, 2, 1, 3, 1, 0, 3, 3, 3, 1, 3, 3, 3, 3, 3, 3, 3]
# Golden: changes only if the canonical form changes, which would orphan every journal and bundle.
SPOS_HASH = "bc0d4acc261f6fb856cfb7ed08965870aa3c3fb804fc51cb07ad1b4244bdb7e9"


@pytest.fixture
def good() -> dict:
    return zoo_genotype("spos").to_dict()



# --- zoo ---------------------------------------------------------------------------------------------

def test_published_choices_and_networks():
    spos, large, huge = zoo_genotype("spos"), zoo_genotype("detnas_1.3g"), zoo_genotype("detnas_3.8g")
    assert list(spos.choices) == SPOS and spos.network.skeleton == "spos-imagenet"
    assert spos.network.stage_repeats == (4, 4, 8, 4)
    assert spos.network.stage_out_channels == (16, 64, 160, 320, 640, 1024)
    assert list(large.choices) == list(huge.choices) == DETNAS_LARGE
    assert large.network.stage_repeats == (8, 8, 16, 8)
    assert large.network.stage_out_channels == (48, 96, 240, 480, 960, 1024)
    assert huge.network.stage_out_channels == (72, 172, 432, 864, 1728, 1728)
    assert spos.blocks()[:3] == ("shufflenet_7x7", "shufflenet_5x5", "shufflenet_3x3")
    mobile = zoo_genotype("proxylessnas_mobile")
    assert mobile.blocks()[2:4] == ("mbconv_skip", "mbconv_skip") and len(mobile.choices) == 21


def test_spaces_name_registered_chain_ops():
    for space in CHAIN_SPACES.values():
        assert all(OPS[op].signature == "chain" for op in space.blocks)
    assert CHAIN_SPACES["shufflenetv2-oneshot"].blocks == ("shufflenet_3x3", "shufflenet_5x5", "shufflenet_7x7",
                                                            "xception_3x3")


@pytest.mark.parametrize("name", ["spos", "detnas_300m", "detnas_1.3g", "detnas_3.8g", "proxylessnas_mobile"])
def test_zoo_json_round_trip(name):
    g = zoo_genotype(name)
    text = to_json(g)
    assert text.startswith('{"genocompile": 1,\n "family": "chain",')
    again = load_genotype(text)
    assert again == g and to_json(again) == text and genotype_hash(again) == genotype_hash(g)


def test_hash_is_stable_and_ignores_the_name():
    g = zoo_genotype("spos")
    assert genotype_hash(g) == SPOS_HASH
    assert genotype_hash(g.renamed("other")) == genotype_hash(g)
    assert genotype_hash(g.with_network("detnas-imagenet", **{"stage_repeats": [4, 4, 8, 4],
                                                               "stage_out_channels": [16, 64, 160, 320, 640, 1024]})) \
        != genotype_hash(g)


def test_defaults_fill_the_network_and_file_loading(tmp_path):
    g = ChainGenotype(space="shufflenetv2-oneshot", choices=SPOS)
    assert g.network == zoo_genotype("spos").network
    detnas = ChainGenotype(space="shufflenetv2-oneshot", choices=DETNAS_LARGE, network={"skeleton": "detnas-imagenet"})
    assert detnas.network == zoo_genotype("detnas_1.3g").network
    path = tmp_path / "mine.json"
    path.write_text(to_json(g))
    assert load_genotype(str(path)).name == "genotype" and load_genotype(path).choices == g.choices


def test_channel_scales_are_canonical():
    scales = [0.6000000000001] + [1.0] * 19
    g = ChainGenotype(space="shufflenetv2-oneshot", choices=SPOS, channel_scales=scales)
    assert g.channel_scales[0] == 0.6 and '"channel_scales": [0.6, 1.0' in to_json(g)
    assert load_genotype(to_json(g)) == g
    plain = ChainGenotype(space="shufflenetv2-oneshot", choices=SPOS, channel_scales=[1.0] * 20)
    assert plain.channel_scales is None and genotype_hash(plain) == genotype_hash(zoo_genotype("spos").renamed("x"))
    assert "channel_scales" not in plain.to_dict()


def test_random_chains_round_trip():
    rng = random.Random(3)
    for i in range(10):
        space = ("shufflenetv2-oneshot", "mbconv")[i % 2]
        g = random_chain(rng, space, scales=space == "shufflenetv2-oneshot" and i % 4 == 0)
        assert load_genotype(json.loads(json.dumps(g.to_dict()))) == g


# --- validation -------------------------------------------------------------------------------------

def test_wrong_number_of_choices_says_how_many(good):
    good["choices"] = good["choices"][:19]
    refused(good, "space 'shufflenetv2-oneshot'", "stage_repeats [4, 4, 8, 4]", "takes 20 choices", "got 19")
    large = zoo_genotype("detnas_1.3g").to_dict()
    large["choices"] = SPOS
    refused(large, "takes 40 choices", "got 20")


def test_choice_out_of_range_lists_the_blocks(good):
    good["choices"][5] = 4
    refused(good, "chain choices, block 5: choice 4 is out of range",
            "0 shufflenet_3x3, 1 shufflenet_5x5, 2 shufflenet_7x7, 3 xception_3x3")
    good["choices"][5] = -1
    refused(good, "choice -1 is out of range")


def test_skip_only_where_the_original_allows_it():
    data = zoo_genotype("proxylessnas_mobile").to_dict()
    data["choices"][0] = 6  # the first block of a stage strides and widens: no skip there
    refused(data, "block 0 (stage 1 block 1: 16->32 channels, stride 2)", "mbconv_skip (6) is not allowed",
            "stride is 1", "pick one of 0 mbconv_3x3_e3")
    data["choices"][0], data["choices"][16] = 2, 6
    refused(data, "block 16 (stage 5 block 1: 96->192 channels, stride 2)", "is not allowed")
    data["choices"][16], data["choices"][20] = 5, 6  # stage 6 (192 -> 320, stride 1): channels change
    refused(data, "block 20 (stage 6 block 1: 192->320 channels, stride 1)", "is not allowed")


@pytest.mark.parametrize("value,fragment", [
    ([0.5] * 20, "0.5 is not a channel scale of space 'shufflenetv2-oneshot'; choose from 0.2, 0.4"),
    ([1.0] * 19, "19 scales for 20 blocks"),
    ("1.0", "must be a list of numbers"),
    ([True] * 20, "must be a list of numbers"),
])
def test_bad_channel_scales(good, value, fragment):
    good["channel_scales"] = value
    refused(good, "chain channel_scales", fragment)


def test_channel_scales_refused_where_the_space_has_none():
    data = zoo_genotype("proxylessnas_mobile").to_dict()
    data["channel_scales"] = [1.0] * 21
    refused(data, "space 'mbconv' has no channel scales")


def test_scale_that_leaves_no_hidden_channels():
    g = dict(zoo_genotype("spos").to_dict(), channel_scales=[0.2] * 20,
             network={"skeleton": "spos-imagenet", "stage_out_channels": [4, 8, 16, 32, 64, 128]})
    refused(g, "block 0: scale 0.2 leaves no hidden channels at width 8")


def test_unknown_space(good):
    good["space"] = "mnasnet"
    refused(good, "chain: unknown space 'mnasnet'; known: mbconv, shufflenetv2-oneshot")


def test_space_and_skeleton_must_fit(good):
    good["network"] = {"skeleton": "proxylessnas-imagenet"}
    refused(good, "chain space 'shufflenetv2-oneshot' builds into spos-imagenet, detnas-imagenet")
    good["network"] = {"skeleton": "darts-cifar"}
    refused(good, "unknown skeleton 'darts-cifar'", "spos-imagenet")


@pytest.mark.parametrize("choices", ["2,1,0", [], [1.0] * 20, [True] * 20, None])
def test_choices_wrong_type(good, choices):
    good["choices"] = choices
    refused(good, "chain choices must be a non-empty list of block indices")


@pytest.mark.parametrize("change,fragment", [
    ({"stage_out_channels": [-1, 16, 64, 160, 320, 640, 1024]}, "drop the leading -1"),
    ({"stage_out_channels": [16, 64, 160, 320, 640]}, "needs 6 values for 4 stages"),
    ({"stage_out_channels": [16, 16, 160, 320, 640, 1024]}, "stage 1 width 16 must exceed its input width 16"),
    ({"stage_out_channels": [16, 63, 160, 320, 640, 1024]}, "stage 1 width 63 must be even"),
    ({"input_size": [200, 200]}, "multiple of 32"),
    ({"stage_repeats": [4, 0, 8, 4]}, "stage_repeats must be a non-empty list of positive integers"),
    ({"num_classes": 0}, "num_classes must be a positive integer"),
    ({"width": 2}, "unknown key(s) 'width'"),
])
def test_bad_shufflenet_network(good, change, fragment):
    good["network"].update(change)
    refused(good, "network", fragment)


@pytest.mark.parametrize("change,fragment", [
    ({"stage_strides": [2, 2, 2, 1, 3, 1]}, "each stride must be 1 or 2"),
    ({"stage_widths": [24, 40, 80, 96, 192]}, "one entry per stage"),
    ({"input_size": [100, 100]}, "multiple of 32"),
])
def test_bad_proxyless_network(change, fragment):
    data = zoo_genotype("proxylessnas_mobile").to_dict()
    data["network"].update(change)
    refused(data, "network", fragment)


def test_missing_and_unknown_keys(good):
    bad = copy.deepcopy(good)
    del bad["choices"]
    refused(bad, "missing 'choices'")
    good["arch"] = []
    refused(good, "unknown key(s) 'arch'")


def test_frozen_and_direct_construction_validates():
    g = zoo_genotype("spos")
    with pytest.raises(AttributeError):
        g.choices = ()  # type: ignore[misc]
    with pytest.raises(GenotypeError, match="out of range"):
        ChainGenotype(space="shufflenetv2-oneshot", choices=[9] * 20)
