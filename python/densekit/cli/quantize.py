"""`densekit quantize MODEL --int8|--float16 OUT [--calibration DATA] [--no-speed-check]`: a saved
model as an
inference-only int8 or float16 model file (through Sequential.quantize), with the per-layer
report printed. The column record of a model trained on a CSV (columns.py) is carried over, so
`predict` matches CSV columns by name for the quantized model too."""

import os

from ..saving import load_model
from . import columns
from .data import read_model_inputs
from .errors import DataError, UsageError, check_writable


def add_commands(sub):
    p = sub.add_parser("quantize", help="write an int8 or float16 copy of a model",
                       description="Quantize MODEL for fast inference and write it to OUT: int8 "
                       "weights (dynamic activation scales, or static ones from --calibration "
                       "DATA) or float16 weights. The result predicts, evaluates and exports, but "
                       "does not train.")
    p.add_argument("model", metavar="MODEL")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--int8", dest="mode", action="store_const", const="int8",
                      help="int8 weights per output channel, int8 activations")
    kind.add_argument("--float16", dest="mode", action="store_const", const="float16",
                      help="float16 weights (half the file), computed in float32")
    p.add_argument("out", metavar="OUT", help="the model file to write")
    p.add_argument("--calibration", metavar="DATA",
                   help="features (CSV, NPZ, NPY or IDX) whose ranges fix the int8 activation "
                        "scales (static quantization; default: per row at run time)")
    p.add_argument("--target", metavar="COL", help="CSV column of --calibration to leave out")
    p.add_argument("--no-speed-check", dest="speed_check", action="store_false",
                   help="quantize every layer int8 can serve exactly, without timing int8 against "
                        "float32 on this CPU (by default a layer where int8 is slower stays "
                        "float32)")
    p.set_defaults(func=run)


def run(args):
    if not os.path.exists(args.model):
        raise DataError(f"{args.model}: no such model file")
    if args.calibration is not None and args.mode != "int8":
        raise UsageError("--calibration is for --int8 (float16 weights need no calibration)")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        raise UsageError(f"OUT {args.out}: would overwrite the model being quantized")
    check_writable(args.out, "OUT")
    model = load_model(args.model)
    record = columns.read(args.model, model.input_dim)
    calibration = None
    if args.calibration is not None:
        calibration = read_model_inputs(args.calibration, model.input_dim, record,
                                        target=args.target).X
    options = {"speed_check": args.speed_check} if args.mode == "int8" else {}
    quantized = model.quantize(args.mode, calibration=calibration, **options)
    quantized.save(args.out)
    if record is not None:
        columns.write(args.out, record["features"], record["target"])
    else:
        columns.remove(args.out)
    print(f"wrote {args.out}: {args.mode}, {os.path.getsize(args.out):,} bytes "
          f"({os.path.getsize(args.out) / os.path.getsize(args.model):.2f}× {args.model})")
    for entry in quantized.quantization_report:
        print(f"  {entry['layer']}: {entry['precision']}, output error "
              f"{entry['output_error']:.3%} — {entry['reason']}")
    return 0
