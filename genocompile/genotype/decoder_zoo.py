"""Published decoder layouts, as `zoo:NAME`.

Source: DrSleep/nas-segm-pytorch `examples/inference/VOC-segm.ipynb` (`models_info`), the three PASCAL VOC
segmenters of Nekrasov et al. (CVPR 2019) with their trained checkpoints `arch{0,1,2}_segm-*.pth`, built
there with AGG_SIZE 64, REPEATS 2 and 21 classes (this skeleton's defaults). Stored in the original's integer
form, so the zoo also exercises `DecoderGenotype.from_nas_segm`.
"""
from __future__ import annotations

from genocompile.genotype.decoder import nas_segm_to_fields
from genocompile.genotype.zoo import register_zoo

NAS_SEGM_VOC = {
    "nekrasov_arch0": [[8, [0, 0, 5, 2], [0, 2, 8, 8], [0, 5, 1, 4]], [[3, 3], [3, 2], [3, 0]]],
    "nekrasov_arch1": [[2, [1, 0, 3, 6], [0, 1, 2, 8], [2, 0, 6, 1]], [[2, 3], [3, 1], [4, 4]]],
    "nekrasov_arch2": [[5, [0, 0, 4, 1], [3, 2, 0, 1], [5, 6, 5, 0]], [[1, 3], [4, 3], [2, 2]]],
}

for _name, _layout in NAS_SEGM_VOC.items():
    register_zoo(_name, {"genocompile": 1, "family": "decoder", "encoder": "mobilenetv2",
                         **nas_segm_to_fields(_layout), "network": {"skeleton": "nas-segm"}})
