"""densekit's thread pool as seen by threadpoolctl, so nested parallelism does not oversubscribe.

What this file is for: a threadpoolctl `LibController` for densekit's C++ core, registered when
this module is imported (`import densekit.sklearn` and the integrations import it). Then
`threadpoolctl.threadpool_info()` lists densekit (user_api "densekit"), and
`threadpool_limits(n)` — which scikit-learn, joblib users and Ray/Dask code use to keep one busy
thread per core — caps `densekit.get_num_threads()` for the duration of the block.

Why a controller of its own: the core runs OpenMP, but it keeps its own thread count (read once
from OMP_NUM_THREADS / omp_get_max_threads(), then set by `densekit.set_num_threads`), so
threadpoolctl's OpenMP controller, which changes libgomp's per-thread setting, does not reach it.

This module must not be imported by `import densekit` itself (threadpoolctl is an optional
dependency, part of the `sklearn` extra), and must not be imported by lower modules.
"""

import os

import threadpoolctl

from . import _native
from ._version import __version__

# Where the loaded core lives (in an editable install, not beside the Python files).
_CORE_PATH = os.path.realpath(_native.core.__file__)


class DensekitController(threadpoolctl.LibController):
    """Reads and sets densekit's thread count (`densekit.get_num_threads/set_num_threads`)."""

    user_api = "densekit"
    internal_api = "densekit"
    # The core is the extension module `_core`; threadpoolctl finds it among the loaded shared
    # libraries.
    filename_prefixes = ("_core",)
    check_symbols = ("PyInit__core",)

    def get_version(self):
        # Called while threadpoolctl builds the controller: another package's `_core*.so` must
        # not pass for densekit's. threadpoolctl skips a library whose controller raises OSError.
        if os.path.realpath(self.filepath) != _CORE_PATH:
            raise OSError(f"{self.filepath} is not densekit's core")
        return __version__

    def set_additional_attributes(self):
        self.isa = _native.ISA

    def get_num_threads(self):
        return _native.get_num_threads()

    def set_num_threads(self, num_threads):
        _native.set_num_threads(max(1, int(num_threads)))


_registered = False


def register():
    """Makes densekit visible to threadpoolctl (idempotent; done on import of this module)."""
    global _registered
    if not _registered:
        threadpoolctl.register(DensekitController)
        _registered = True


register()
