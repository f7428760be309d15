"""The generated shapes set (deterministic, well-formed) and the Cityscapes loader on a tiny fake tree."""
import numpy as np
import pytest
import torch

from genocompile.data.segmentation import IGNORE_INDEX, LABEL_TO_TRAIN_ID, Cityscapes, SyntheticShapes
from genocompile.errors import DataError

Image = pytest.importorskip("PIL.Image", reason="Pillow (genocompile[search]) writes the fake Cityscapes PNGs")


# --- generated shapes ------------------------------------------------------------------------------
def test_items_depend_only_on_seed_and_index():
    a = SyntheticShapes(count=12, size=(32, 48), seed=5)
    x, y = a.tensors()
    assert x.shape == (12, 3, 32, 48) and x.dtype == torch.float32
    assert y.shape == (12, 32, 48) and y.dtype == torch.int64
    again = SyntheticShapes(count=40, size=(32, 48), seed=5)
    for i in (11, 3, 0):  # another count, another order
        assert torch.equal(again[i][0], x[i]) and torch.equal(again[i][1], y[i])
    other_x, other_y = SyntheticShapes(count=12, size=(32, 48), seed=6).tensors()
    assert not torch.equal(other_x, x) and not torch.equal(other_y, y)


def test_images_and_labels_are_well_formed():
    x, y = SyntheticShapes(count=32, size=(40, 40), seed=0).tensors()
    assert x.min() >= -1 and x.max() <= 1
    assert set(y.unique().tolist()) == {0, 1, 2, 3}  # every shape kind occurs in 32 images
    foreground = (y > 0).float().mean().item()
    assert 0.05 < foreground < 0.6
    assert ((y > 0).flatten(1).any(1)).all()  # every image holds at least one shape
    # the background texture varies: not a flat colour a model could threshold
    assert (x[:, :, y[0] == 0].std() > 0.05).all()


def test_fewer_classes_use_fewer_shape_kinds():
    _, y = SyntheticShapes(count=16, size=(24, 24), num_classes=2, seed=1).tensors()
    assert set(y.unique().tolist()) == {0, 1}


@pytest.mark.parametrize("kwargs,fragment", [({"num_classes": 5}, "num_classes must be 2..4"),
                                             ({"num_classes": 1}, "num_classes must be 2..4"),
                                             ({"size": (4, 64)}, "both sides of size >= 8"),
                                             ({"count": 0}, "need count >= 1")])
def test_bad_settings(kwargs, fragment):
    with pytest.raises(DataError, match=fragment):
        SyntheticShapes(**kwargs)


# --- Cityscapes ----------------------------------------------------------------------------------
LABEL_IDS = np.array([[7, 8, 26, 0], [33, 34, 255, 24]], dtype=np.uint8)
TRAIN_IDS = [[0, 1, 13, 255], [18, 255, 255, 11]]  # road, sidewalk, car, unlabeled; bicycle, -, -, person


def write_tree(root, split="val", cities=("frankfurt", "lindau"), label=True):
    for n, city in enumerate(cities):
        for frame in (19, 7):
            stem = f"{city}_000000_{frame:06d}"
            image_dir, label_dir = root / "leftImg8bit" / split / city, root / "gtFine" / split / city
            image_dir.mkdir(parents=True, exist_ok=True)
            label_dir.mkdir(parents=True, exist_ok=True)
            rgb = np.full((2, 4, 3), 10 * n + frame, dtype=np.uint8)
            rgb[0, 0] = [0, 255, 128]
            Image.fromarray(rgb).save(image_dir / f"{stem}_leftImg8bit.png")
            if label:
                Image.fromarray(LABEL_IDS).save(label_dir / f"{stem}_gtFine_labelIds.png")
            Image.fromarray(rgb).save(label_dir / f"{stem}_gtFine_color.png")  # present in the real set; not read


def test_reads_the_standard_layout_and_maps_train_ids(tmp_path):
    write_tree(tmp_path)
    data = Cityscapes(tmp_path, split="val")
    assert len(data) == 4 and data.num_classes == 19
    assert [p.name for p, _ in data.samples][:2] == ["frankfurt_000000_000007_leftImg8bit.png",
                                                     "frankfurt_000000_000019_leftImg8bit.png"]
    image, label = data[0]
    assert image.shape == (3, 2, 4) and image.dtype == torch.float32
    assert image[:, 0, 0].tolist() == [-1.0, 1.0, pytest.approx(128 * 2 / 255 - 1, abs=1e-6)]
    assert label.dtype == torch.int64 and label.tolist() == TRAIN_IDS
    assert int(LABEL_TO_TRAIN_ID[255]) == IGNORE_INDEX


def test_transform_is_applied(tmp_path):
    write_tree(tmp_path, split="train")
    data = Cityscapes(tmp_path, split="train", transform=lambda x, y: (x[:, :1], y[:1]))
    image, label = data[3]
    assert image.shape == (3, 1, 4) and label.tolist() == TRAIN_IDS[:1]


def test_wrong_layouts_say_what_is_expected(tmp_path):
    with pytest.raises(DataError, match=r"no folder .*leftImg8bit/train; expected the layout ROOT/leftImg8bit"):
        Cityscapes(tmp_path / "nowhere")
    (tmp_path / "leftImg8bit" / "train").mkdir(parents=True)
    (tmp_path / "gtFine" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no \*_leftImg8bit.png files in the city folders"):
        Cityscapes(tmp_path)
    write_tree(tmp_path, split="val", label=False)
    with pytest.raises(DataError, match=r"frankfurt_000000_000007_leftImg8bit.png has no label .*"
                                        r"frankfurt_000000_000007_gtFine_labelIds.png"):
        Cityscapes(tmp_path, split="val")
    with pytest.raises(DataError, match="unknown split 'training'; use one of train, val, test"):
        Cityscapes(tmp_path, split="training")


def test_a_colour_label_image_is_refused(tmp_path):
    write_tree(tmp_path, cities=("ulm",))
    label = tmp_path / "gtFine" / "val" / "ulm" / "ulm_000000_000007_gtFine_labelIds.png"
    Image.fromarray(np.zeros((2, 4, 3), dtype=np.uint8)).save(label)
    with pytest.raises(DataError, match="is not a single-channel 8-bit labelIds image"):
        Cityscapes(tmp_path, split="val")[0]
    Image.fromarray(np.zeros((3, 4), dtype=np.uint8)).save(label)
    with pytest.raises(DataError, match=r"is \[3, 4\] but its image is \[2, 4\]"):
        Cityscapes(tmp_path, split="val")[0]
