"""Data sets and metrics. Segmentation: `genocompile.data.segmentation` (generated shapes, Cityscapes from a
local path) and `genocompile.data.metrics` (confusion-matrix mIoU)."""
