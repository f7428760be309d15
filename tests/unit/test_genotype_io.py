"""Loading from every source, canonical JSON / DARTS text round trips, hash stability, no eval."""
import json
import random

import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import genotype_hash, load_genotype, to_json, zoo_genotype, zoo_names
from genotype_factory import random_cell

DARTS_V2_TEXT = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                 "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                 "('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
                 "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                 "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))")

# Golden: changes only if the canonical form changes, which would orphan every journal and bundle.
DARTS_V2_CIFAR_HASH = "d4742bb396f234c1bdc2b73d556fb3f259147735e59f348295bda4bf1936559b"


def darts_text(g) -> str:
    """What DARTS code prints for a genotype (tuples, range for consecutive concats)."""
    def concat(c):
        return f"range({c[0]}, {c[-1] + 1})" if list(c) == list(range(c[0], c[-1] + 1)) else repr(list(c))
    return (f"Genotype(normal={[tuple(e) for e in g.normal]!r}, normal_concat={concat(g.normal_concat)}, "
            f"reduce={[tuple(e) for e in g.reduce]!r}, reduce_concat={concat(g.reduce_concat)})")


def test_darts_log_line_parses_to_the_zoo_entry():
    line = f"2018-07-01 12:00:00 genotype = {DARTS_V2_TEXT}"
    assert load_genotype(line).to_dict() == {**zoo_genotype("darts_v2").to_dict(), "name": "genotype"}


def test_hash_is_stable_and_ignores_the_name():
    g = zoo_genotype("darts_v2")
    assert genotype_hash(g) == DARTS_V2_CIFAR_HASH
    assert genotype_hash(g.renamed("other")) == DARTS_V2_CIFAR_HASH
    assert genotype_hash(g.with_network("darts-imagenet")) != DARTS_V2_CIFAR_HASH
    assert genotype_hash(g.with_network(init_channels=16)) != DARTS_V2_CIFAR_HASH


@pytest.mark.parametrize("name", zoo_names())
def test_zoo_json_round_trip(name):
    g = zoo_genotype(name)
    text = to_json(g)
    assert text.startswith('{"genocompile": 1,')
    again = load_genotype(text)
    assert again == g and to_json(again) == text and genotype_hash(again) == genotype_hash(g)


def test_random_genotypes_round_trip_through_json_and_darts_text():
    rng = random.Random(0)
    for i in range(200):
        g = random_cell(rng, name="genotype")
        assert load_genotype(to_json(g)) == g
        assert load_genotype(darts_text(g)) == g


def test_json_omitting_the_network_takes_the_skeleton_defaults():
    data = zoo_genotype("darts_v2").to_dict()
    del data["network"]
    assert load_genotype(data).network.init_channels == 36
    data["network"] = {"skeleton": "darts-imagenet", "layers": 12}
    net = load_genotype(data).network
    assert (net.init_channels, net.layers, net.num_classes, net.input_size) == (48, 12, 1000, (224, 224))


def test_loading_from_file_directory_and_zoo(tmp_path):
    g = zoo_genotype("nasnet")
    (tmp_path / "g.json").write_text(to_json(g))
    assert load_genotype(str(tmp_path / "g.json")) == g
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "genotype.json").write_text(to_json(g))
    assert load_genotype(bundle) == g
    (tmp_path / "log.txt").write_text("epoch 49\nNASNet = " + darts_text(g) + "\n")
    assert load_genotype(str(tmp_path / "log.txt")) == g
    assert load_genotype("zoo:NASNet") == g


@pytest.mark.parametrize("source,fragment", [
    ("/no/such/file.json", "no genotype at '/no/such/file.json'"),
    ("zoo:resnet50", "no zoo genotype 'resnet50'"),
    ('{"genocompile": 1, "family": "cell",', "invalid genotype JSON at line 1"),
    ("Genotype(normal=[('sep_conv_3x3', 0)", "unbalanced parentheses"),
    ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2], reduce=[])",
     "missing field 'reduce_concat'"),
    ("Genotype([('sep_conv_3x3', 0)])", "give the fields by name"),
])
def test_bad_sources_are_refused_with_one_line(source, fragment):
    with pytest.raises(GenotypeError) as info:
        load_genotype(source)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("payload", [
    "__import__('pathlib').Path('{marker}').touch()",
    "[__import__('pathlib').Path('{marker}').touch()]",
    "(lambda: __import__('pathlib').Path('{marker}').touch())()",
    "range(__import__('pathlib').Path('{marker}').touch())",
])
def test_nothing_in_the_text_is_executed(tmp_path, payload):
    marker = tmp_path / "pwned"
    code = payload.format(marker=marker)
    text = DARTS_V2_TEXT.replace("range(2, 6))", f"{code})")
    with pytest.raises(GenotypeError, match="only lists, tuples, strings, integers"):
        load_genotype(text)
    assert not marker.exists()


def test_directory_without_genotype(tmp_path):
    with pytest.raises(GenotypeError, match="without genotype.json"):
        load_genotype(str(tmp_path))


def test_error_from_a_file_names_the_file(tmp_path):
    data = zoo_genotype("darts_v2").to_dict()
    data["normal"][0][0] = "bogus"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GenotypeError, match=r"mine\.json: cell normal, node 2: unknown op 'bogus'"):
        load_genotype(str(path))
