"""MPI as densekit reaches it at run time: mpi4py, the library it loaded, the core's communicator.

The C++ core sums gradients through an abstract Communicator and the extension module neither
includes mpi.h nor links an MPI library, so the same wheel runs with Open MPI, MPICH or no MPI at
all. This module connects the two at run time: it imports mpi4py (an optional dependency, the
`mpi` extra), finds the addresses of the few MPI functions the core calls in the library mpi4py
loaded (ctypes), takes the handles of the communicator, datatypes and MPI_SUM from mpi4py, and
builds the core's MPICommunicator from them. It also works out each rank's share of the cores.

Nothing here runs at `import densekit`: mpi4py is imported on first use only.
"""

import ctypes
import os
import re

from .. import _native

__all__ = ["mpi4py_MPI", "native_communicator", "cores_per_rank"]

_FUNCTIONS = ("MPI_Allreduce", "MPI_Alltoallv", "MPI_Allgatherv", "MPI_Allgather", "MPI_Abort")


def mpi4py_MPI():
    """mpi4py.MPI (initializing MPI), or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            "densekit.distributed needs mpi4py and an MPI library: pip install 'densekit[mpi]' "
            "(mpi4py with the Open MPI wheel), or mpi4py next to your cluster's MPI") from exc
    return MPI


def _loaded_library_paths():
    """Paths of the MPI libraries mapped into this process (Linux), most likely first."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and re.match(r"lib(mpi|mpich|mpi_abi)\b[^/]*\.so",
                                                 os.path.basename(fields[5])):
                    if fields[5] not in paths:
                        paths.append(fields[5])
    except OSError:
        pass
    return paths


def _mpi_library():
    """A ctypes handle on the MPI library mpi4py loaded.

    mpi4py opens it with RTLD_LOCAL on Linux, so its symbols are not in the global namespace:
    the library is found among this process's mappings and opened again by path with
    RTLD_NOLOAD (the loader hands back the copy already there). Where mpi4py loaded it globally
    (macOS), the global namespace has the symbols."""
    try:
        lib = ctypes.CDLL(None)
        lib.MPI_Allreduce  # noqa: B018 (lookup only)
        return lib
    except (OSError, AttributeError):
        pass
    for path in _loaded_library_paths():
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            lib.MPI_Allreduce  # noqa: B018
            return lib
        except (OSError, AttributeError):
            continue
    raise RuntimeError("densekit.distributed: could not find the MPI library mpi4py loaded "
                       "(no MPI_Allreduce among this process's shared libraries)")


def native_communicator(MPI, comm, ordered, timeout):
    """The core's MPICommunicator on the mpi4py communicator `comm`."""
    lib = _mpi_library()
    functions = {name: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
                 for name in _FUNCTIONS}
    functions.update(comm=MPI._handleof(comm), float32=MPI._handleof(MPI.FLOAT),
                     float64=MPI._handleof(MPI.DOUBLE), sum=MPI._handleof(MPI.SUM),
                     in_place=int(MPI.IN_PLACE))
    return _native.core.MPICommunicator(functions, MPI._sizeof(MPI.Comm), comm.Get_rank(),
                                        comm.Get_size(), ordered, float(timeout))


def cores_per_rank(MPI, comm):
    """This rank's share of the cores it may run on: the CPUs in its affinity mask divided by the
    ranks on the same node whose masks overlap it (an MPI shared-memory split finds them), so
    unbound ranks split the node and ranks the launcher bound to their own cores keep them."""
    try:
        mine = frozenset(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        mine = frozenset(range(os.cpu_count() or 1))
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        masks = node.allgather(mine)
    finally:
        node.Free()
    sharing = sum(1 for m in masks if m & mine)
    return max(1, len(mine) // max(1, sharing))
