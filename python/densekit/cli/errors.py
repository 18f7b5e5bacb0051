"""The CLI's exceptions and how an exception becomes one line of text.

`UsageError` (exit code 2) is a command line that cannot work (a bad option value, a column name
that is not in the file, options that contradict each other); `DataError` (exit code 1) is a file
or data that cannot be used. Library exceptions are reported the same way as DataError by
`densekit.cli.main`.
"""

import os


class CLIError(Exception):
    exit_code = 1


class UsageError(CLIError):
    exit_code = 2


class DataError(CLIError):
    exit_code = 1


def one_line(exc):
    """A readable single line for any exception (OSErrors as 'path: reason')."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc)
        if isinstance(exc, KeyError) and exc.args:
            text = str(exc.args[0])
    text = " ".join(text.split())
    return text or type(exc).__name__


def check_writable(path, option):
    """Refuses, before any work is done, an output path that cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    if not os.path.isdir(directory):
        raise UsageError(f"{option} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise DataError(f"{option} {path}: the directory {directory} is not writable")
