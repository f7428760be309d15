"""Emitters: leaves that turn an optimized graph into an artifact. Each backend is imported lazily
inside its module's functions, so `import genocompile` never loads onnx, onnxruntime or tensorrt.

- `genocompile.emit.torch`: `to_module` (an fx GraphModule generated from the graph), `export_program`
  / `save_program` (torch.export `.pt2`);
- `genocompile.emit.aoti`: AOTInductor package (`.pt2` compiled for cpu or cuda);
- `genocompile.emit.onnx`: the graph written directly as ONNX (`onnx_rule` registry per IR op kind);
- `genocompile.emit.trt`: a TensorRT engine built from that ONNX.
"""
