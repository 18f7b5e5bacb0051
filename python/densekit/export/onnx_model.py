"""`export_onnx`: a densekit Sequential as an ONNX model file (SPEC §3, "Persistence and
deployment").

What it does: checks that every layer has a converter (onnx_layers.py), optionally folds
BatchNormalization into the Dense before it (`model.fold_batchnorm()`), converts the layers in
order into one graph with a symbolic batch dimension, validates it with
`onnx.checker.check_model(full_check=True)` and writes it atomically. What it must not do: change
the model it is given, write a file that the checker rejects, or export a layer it does not know
how to compute (a custom subclass of a densekit layer is refused by name).
"""

import numbers

import numpy as np

from .. import _files
from .._version import __version__
from .. import layers as L
from ..models import Sequential

SUPPORTED_OPSETS = range(13, 22)   # 13..21: Softmax's per-axis semantics start at 13
INPUT_NAME, OUTPUT_NAME, BATCH_DIM = "input", "output", "batch"
_PROTOBUF_LIMIT = 2 ** 31          # one serialized ModelProto cannot exceed 2 GiB


def _require_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("export_onnx needs the 'onnx' package: pip install 'densekit[onnx]' "
                          f"(importing it failed: {e})") from e
    return onnx


def _check_opset(opset):
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral):
        raise TypeError(f"export_onnx: opset must be an int, got {type(opset).__name__}")
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"export_onnx: opset {opset} is not supported; choose one of "
                         f"{SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1}")
    return int(opset)


def _check_model(model):
    from . import onnx_quantized  # noqa: F401  (registers QuantizedDense's converter)
    from .onnx_layers import converter_for   # imports onnx: only after _require_onnx()
    if not isinstance(model, Sequential):
        raise TypeError(f"export_onnx: expected a dk.Sequential, got {type(model).__name__}")
    if not model.layers:
        raise ValueError("export_onnx: the model has no layers")
    if not model.built:
        if model.input_dim is None:
            raise ValueError("export_onnx: the model is not built (its input width is unknown); "
                             "start it with dk.layers.Input(n_features) or call model.build(n)")
        model.build()
    for i, layer in enumerate(model.layers):
        if converter_for(layer) is None:
            base = next((c.__name__ for c in type(layer).__mro__[1:]
                         if c.__module__.startswith("densekit.") and c is not L.Layer), None)
            what = (f"a subclass of densekit's {base}, whose computation export cannot know"
                    if base else "not a densekit layer")
            raise NotImplementedError(f"export_onnx: layer {i} ({layer.name!r}) of class "
                                      f"{type(layer).__name__} is unsupported ({what}); "
                                      "register a converter with "
                                      "densekit.export.onnx_layers.register")


def _describe(model):
    kinds = ", ".join(type(layer).__name__ for layer in model.layers)
    return (f"densekit Sequential {model.name!r}: {model.input_dim} inputs -> {model.output_dim} "
            f"outputs, {np.dtype(model.dtype).name}; "
            f"layers: {kinds}")


def build_onnx_model(model, opset=17, fold_batchnorm=True):
    """The onnx.ModelProto for `model` (see export_onnx), checked, not written anywhere."""
    onnx = _require_onnx()
    from onnx import helper

    from .onnx_graph import GraphBuilder
    from .onnx_layers import converter_for

    opset = _check_opset(opset)
    _check_model(model)
    source = model
    if fold_batchnorm:
        model = model.fold_batchnorm()   # a new inference model; dropout is gone too

    g = GraphBuilder(np.dtype(model.dtype), opset)
    value = g.reserve(INPUT_NAME)
    g.reserve(OUTPUT_NAME)
    for layer in model.layers:
        g.scope = layer.name
        value = converter_for(layer)(g, layer, value)
    g.scope = ""
    if value == INPUT_NAME:   # only identity layers: the output must still be its own value
        value = g.op("Identity", [value])
    g.rename_value(value, OUTPUT_NAME)

    # Samples of several dimensions (Input(shape=(28, 28)) + Flatten) keep their shape: the
    # graph's Flatten node flattens them, as the model does.
    sample = list(model.input_shape) if model.input_shape is not None else [model.input_dim]
    x = helper.make_tensor_value_info(INPUT_NAME, g.elem_type, [BATCH_DIM] + sample,
                                      doc_string="features, one row per sample")
    y = helper.make_tensor_value_info(OUTPUT_NAME, g.elem_type, [BATCH_DIM, model.output_dim],
                                      doc_string="the model's outputs, as Sequential.predict")
    graph = helper.make_graph(g.nodes, source.name, [x], [y], initializer=g.initializers,
                              doc_string=_describe(source))
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="densekit",
                              producer_version=__version__, doc_string=_describe(source))
    # The oldest IR version that carries this opset, so older runtimes can load the file.
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    if proto.ByteSize() >= _PROTOBUF_LIMIT:
        raise ValueError(f"export_onnx: the model's parameters take {proto.ByteSize():,} bytes, "
                         "more than one ONNX file can hold (2 GiB)")
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, opset=17, fold_batchnorm=True):
    """Writes `model` (a built dk.Sequential) to `path` as an ONNX model; returns the
    onnx.ModelProto.

    The graph takes one input "input" of shape (batch, features) and gives one output "output" of
    shape (batch, outputs), both in the model's dtype (float32 or float64), with a symbolic batch
    dimension. Every densekit layer is exported in its inference form: Dense as Gemm plus its
    activation, the activations as single ONNX operators or small subgraphs (RReLU with its mean
    slope, GELU in the exact erf form: the Gelu operator from opset 20), Normalization as Sub/Div,
    Dropout and AlphaDropout left out. With `fold_batchnorm=True` (default) each
    BatchNormalization that directly follows a linear Dense is folded into that Dense
    (`model.fold_batchnorm()`); the others, and all of them with `fold_batchnorm=False`, become
    BatchNormalization nodes on the moving statistics.

    `opset`: the ONNX operator set, 13 to 21. The file is written atomically (a failure leaves
    any previous file intact) and always passes `onnx.checker.check_model(full_check=True)`.
    Needs the `onnx` package (pip install 'densekit[onnx]').
    """
    proto = build_onnx_model(model, opset, fold_batchnorm)
    _files.atomic_write(path, proto.SerializeToString(), "export_onnx")
    return proto
