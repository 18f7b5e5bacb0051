"""Exporters from densekit models to other formats (today: ONNX, `export_onnx`).

This package sits in the top tier: it reads models through their public API only (layers,
`get_config()`, `get_weights()`, `fold_batchnorm()`) and nothing else in densekit imports it
(`dk.export_onnx` resolves here on first use). Its dependency `onnx` is optional: only the modules
that build ONNX graphs import it, and `export_onnx` imports those on call, after checking that
`onnx` is installed, so `import densekit.export` works without it.
"""

from .onnx_model import SUPPORTED_OPSETS, export_onnx

__all__ = ["export_onnx", "SUPPORTED_OPSETS"]
