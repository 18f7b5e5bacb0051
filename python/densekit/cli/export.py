"""`densekit export MODEL --onnx OUT [--opset N] [--no-fold-batchnorm]`: a saved model as an
ONNX file (through `densekit.export.export_onnx`, which needs the optional `onnx` package)."""

import os

import numpy as np

from ..export import SUPPORTED_OPSETS, export_onnx
from ..saving import load_model
from .errors import DataError, check_writable


def add_commands(sub):
    p = sub.add_parser("export", help="export a model file to ONNX",
                       description="Write MODEL as an ONNX model (needs: pip install "
                       "'densekit[onnx]').")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", metavar="OUT", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, choices=SUPPORTED_OPSETS, metavar="N",
                   help=f"ONNX operator set, {SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1} "
                        "(default: %(default)s)")
    p.add_argument("--no-fold-batchnorm", dest="fold_batchnorm", action="store_false",
                   help="keep BatchNormalization layers as BatchNormalization nodes instead of "
                        "folding them into the Dense before them")
    p.set_defaults(func=run)


def run(args):
    if not os.path.exists(args.model):
        raise DataError(f"{args.model}: no such model file")
    check_writable(args.onnx, "--onnx")
    model = load_model(args.model, compile=False)
    proto = export_onnx(model, args.onnx, opset=args.opset, fold_batchnorm=args.fold_batchnorm)
    print(f"wrote {args.onnx}: ONNX opset {args.opset}, {len(proto.graph.node)} nodes, input "
          f"'input' (batch, {model.input_dim}), output 'output' (batch, {model.output_dim}), "
          f"{np.dtype(model.dtype).name}")
    return 0
