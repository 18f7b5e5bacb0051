"""The `densekit` command line (SPEC "Ecosystem"): train, predict, evaluate, info, export, quantize,
demo.

This module builds the argument parser (one sub-command per module of this package) and runs the
chosen command with the one error policy every command shares: a problem with the command line
exits with code 2, a problem with a file or the data with code 1, each as one line on stderr
(`densekit COMMAND: error: ...`) and never a traceback, unless `--debug` asks for it. Commands
raise exceptions; only `main` turns them into exit codes.
"""

import argparse
import sys

from . import demo, describe, export, inference, quantize, train
from .errors import CLIError, one_line

_COMMANDS = (train, inference, describe, export, quantize, demo)

# What library calls raise for bad files, data or arguments: reported as one line, exit code 1.
_EXPECTED = (ValueError, TypeError, OSError, RuntimeError, NotImplementedError, ImportError,
             MemoryError)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(prog="densekit", description="Train, inspect, evaluate and export densekit "
                     "models from the command line.")
    parser.add_argument("--debug", action="store_true",
                        help="on errors, show the full traceback instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)
    for module in _COMMANDS:
        module.add_commands(sub)
    for command in sub.choices.values():  # --debug is also accepted after the command
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    """Runs one command; returns its exit code (0 success, 1 runtime error, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:   # --help (0) or a usage error (2), already printed
        return e.code if isinstance(e.code, int) else 2
    prog = f"densekit {args.command}"
    try:
        return args.func(args) or 0
    except CLIError as e:
        if args.debug:
            raise
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        hint = "" if isinstance(e, _EXPECTED) else " (an unexpected error: run with --debug for the traceback)"
        print(f"{prog}: error: {one_line(e)}{hint}", file=sys.stderr)
        return 1


__all__ = ["main", "build_parser"]
