"""Type stubs for densekit._core_avx512: the same module as densekit._core, built for another
instruction-set level (see densekit/_native.py); the API is documented in _core.pyi."""
from ._core import *
from ._core import __all__ as __all__
