"""Checks densekit's float16 conversions against NumPy's on the cases `test_f16 --dump` writes.

Usage: python check_f16_against_numpy.py TEST_F16_EXECUTABLE. Every f32 -> f16 case and every
half's f16 -> f32 must give NumPy's bits; NaNs only need to stay NaNs of the same sign (F16C,
which densekit matches, sets the quiet bit; NumPy keeps a signalling NaN's bits). Prints the
closing "N passed, N failed" line CTest's log shows.
"""
import subprocess
import sys
import tempfile

import numpy as np


def main() -> int:
    with tempfile.NamedTemporaryFile(suffix=".txt") as dump:
        subprocess.run([sys.argv[1], "--dump", dump.name], check=True)
        f32_in, f16_out, h_in, h_out = [], [], [], []
        with open(dump.name) as lines:
            for line in lines:
                kind, a, b = line.split()
                if kind == "f":
                    f32_in.append(int(a, 16))
                    f16_out.append(int(b, 16))
                else:
                    h_in.append(int(a, 16))
                    h_out.append(int(b, 16))
    x = np.array(f32_in, dtype=np.uint32).view(np.float32)
    ours = np.array(f16_out, dtype=np.uint16)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    same_nan = np.isnan(ours.view(np.float16)) & ((ours >> 15) == (theirs >> 15))
    bad_down = int(np.count_nonzero(np.where(nan, ~same_nan, ours != theirs)))

    halves = np.array(h_in, dtype=np.uint16)
    ours_up = np.array(h_out, dtype=np.uint32)
    theirs_up = halves.view(np.float16).astype(np.float32).view(np.uint32)
    hnan = np.isnan(halves.view(np.float16))
    bad_up = int(np.count_nonzero(np.where(hnan, ~np.isnan(ours_up.view(np.float32)), ours_up != theirs_up)))

    checks = len(x) + len(halves)
    failed = bad_down + bad_up
    print(f"f32->f16: {len(x)} cases, {bad_down} differ from NumPy; f16->f32: {len(halves)} halves, {bad_up} differ")
    print(f"{checks - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
