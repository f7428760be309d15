"""Classification data: digits split deterministically, CIFAR-10 read from the standard python batches."""
import pickle

import numpy as np
import pytest
import torch

from genocompile.data.classification import load_cifar10, load_classification, load_digits
from genocompile.errors import DataError


def test_digits_split_is_deterministic_disjoint_and_normalised():
    a, b = load_digits(seed=3), load_digits(seed=3)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.valid_y, b.valid_y)
    assert a.train_x.shape[1:] == (3, 8, 8) and len(a.train_x) + len(a.valid_x) == 1797
    assert len(a.valid_x) == round(1797 * 0.25) and a.num_classes == 10
    assert set(a.train_y.tolist()) == set(range(10))
    everything = torch.cat([a.train_x, a.valid_x])
    assert abs(float(everything.mean())) < 1e-3 and abs(float(everything.std()) - 1) < 1e-2
    other = load_digits(seed=4)
    assert not torch.equal(a.valid_y, other.valid_y)


def test_resized_changes_only_the_spatial_size():
    d = load_digits().subset(train=16, valid=8)
    r = d.resized((32, 32))
    assert r.train_x.shape == (16, 3, 32, 32) and r.valid_x.shape == (8, 3, 32, 32)
    assert torch.equal(r.train_y, d.train_y) and d.resized((8, 8)) is d


def _write_cifar(root, n=20, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "labels": rng.integers(0, 10, n).tolist()}, f)
    return folder


def test_cifar10_reads_the_python_batches(tmp_path):
    folder = _write_cifar(tmp_path)
    d = load_cifar10(tmp_path)
    assert d.train_x.shape == (50, 3, 32, 32) and d.valid_x.shape == (50, 3, 32, 32)
    with open(folder / "data_batch_1", "rb") as f:
        first = pickle.load(f)
    # Undoing the normalisation gives back the files' 8-bit pixels, and every training label is from the files.
    red = (torch.cat([d.train_x, d.valid_x])[:, 0] * 0.2470 + 0.4914) * 255
    assert float((red - red.round()).abs().max()) < 1e-3 and 0 <= float(red.min()) and float(red.max()) <= 255
    assert set(first["labels"]) <= set(torch.cat([d.train_y, d.valid_y]).tolist())
    test = load_cifar10(folder, use_test_batch=True)
    assert test.train_x.shape == (100, 3, 32, 32) and test.valid_x.shape == (20, 3, 32, 32)
    assert load_classification(str(tmp_path)).name == "cifar10" and load_classification(None).name == "digits"


@pytest.mark.parametrize("break_it,message", [
    (lambda folder: (folder / "data_batch_3").unlink(), "data_batch_3 is missing"),
    (lambda folder: (folder / "data_batch_2").write_bytes(b"not a pickle"), "is not a CIFAR-10 python batch"),
])
def test_cifar10_problems_are_named(tmp_path, break_it, message):
    break_it(_write_cifar(tmp_path))
    with pytest.raises(DataError, match=message):
        load_cifar10(tmp_path)


def test_cifar10_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no folder"):
        load_cifar10(tmp_path / "nowhere")
