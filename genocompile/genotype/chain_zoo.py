"""Published chain architectures, as `zoo:NAME`. Sources (choices copied as data, indices as in the originals):

- spos: megvii-model/SinglePathOneShot README (architecture (2, 1, 0, 1, 2, 0, 2, 0, 2, 0, 2, 3, 0, 0, 0, 0,
  3, 2, 3, 3): 323M FLOPs, 3.5M params), built in the ShuffleNet-Series OneShot network.
- detnas_300m, detnas_1.3g, detnas_3.8g: megvii-model/ShuffleNet-Series `DetNAS/network.py` (`COCO_FPN_300M`,
  `COCO_FPN_1.3G`, `COCO_FPN_3.8G`: architecture, stage_repeats, stage_out_channels), the ImageNet
  classifier form of the DetNAS backbones (README: 300M / 3.7M, 1.3G / 10.4M, 3.8G / 29.5M). The 1.3G and
  3.8G models share one architecture and differ in widths only.
- proxylessnas_mobile: the ProxylessNAS (mobile) network of mit-han-lab/proxylessnas (`proxyless_mobile`
  config), as transcribed per block (kernel, expansion, skipped) by osmr/imgclsmob `proxylessnas.py`, whose
  test pins its parameter count at 4,080,512. Stage widths 32, 40, 80, 96, 192, 320 (not the search
  default 24, ...); choices index (3x3 e3, 3x3 e6, 5x5 e3, 5x5 e6, 7x7 e3, 7x7 e6, skip).
"""
from __future__ import annotations

from genocompile.genotype.zoo import register_zoo

_DETNAS_LARGE_ARCH = [0, 0, 3, 1, 2, 1, 0, 2, 0, 3, 1, 2, 3, 3, 2, 0, 2, 1, 1, 3,
                      2, 0, 2, 2, 2, 1, 3, 1, 0, 3, 3, 3, 1, 3, 3, 3, 3, 3, 3, 3]
_SPOS_WIDTHS = {"stage_repeats": [4, 4, 8, 4], "stage_out_channels": [16, 64, 160, 320, 640, 1024]}


def _chain(space: str, choices: list[int], network: dict) -> dict:
    return {"genocompile": 1, "family": "chain", "space": space, "choices": choices, "network": network}


register_zoo("spos", _chain("shufflenetv2-oneshot", [2, 1, 0, 1, 2, 0, 2, 0, 2, 0, 2, 3, 0, 0, 0, 0, 3, 2, 3, 3],
                            {"skeleton": "spos-imagenet"}))
register_zoo("detnas_300m", _chain("shufflenetv2-oneshot", [2, 1, 2, 0, 2, 1, 1, 2, 3, 3, 1, 3, 0, 0, 3, 1, 3, 1, 3, 2],
                                   {"skeleton": "detnas-imagenet", **_SPOS_WIDTHS}))
register_zoo("detnas_1.3g", _chain("shufflenetv2-oneshot", _DETNAS_LARGE_ARCH,
                                   {"skeleton": "detnas-imagenet", "stage_repeats": [8, 8, 16, 8],
                                    "stage_out_channels": [48, 96, 240, 480, 960, 1024]}))
register_zoo("detnas_3.8g", _chain("shufflenetv2-oneshot", _DETNAS_LARGE_ARCH,
                                   {"skeleton": "detnas-imagenet", "stage_repeats": [8, 8, 16, 8],
                                    "stage_out_channels": [72, 172, 432, 864, 1728, 1728]}))
register_zoo("proxylessnas_mobile", _chain(
    "mbconv",
    [2, 0, 6, 6,  # 32 wide: 5x5 e3, 3x3 e3, skip, skip
     4, 0, 2, 2,  # 40: 7x7 e3, 3x3 e3, 5x5 e3, 5x5 e3
     5, 2, 2, 2,  # 80: 7x7 e6, then 5x5 e3 x3
     3, 2, 2, 2,  # 96: 5x5 e6, then 5x5 e3 x3
     5, 5, 4, 4,  # 192: 7x7 e6, 7x7 e6, 7x7 e3, 7x7 e3
     5],          # 320: 7x7 e6
    {"skeleton": "proxylessnas-imagenet", "stage_widths": [32, 40, 80, 96, 192, 320]}))
