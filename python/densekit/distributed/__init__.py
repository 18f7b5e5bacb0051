"""dk.distributed: data-parallel synchronous training over MPI.

`model.fit(x, y, batch_size=B, strategy=dk.distributed.MPIStrategy())`, launched as
`mpiexec -n P python script.py` (README: "Training on several processes"). Importing this package
does not import mpi4py: constructing an MPIStrategy does (the optional `mpi` extra).

- strategy.py: MPIStrategy (what the training loop consults) and DistributedError;
- sharded_network.py: one rank's view of the network (its share of each global batch);
- sharding.py: the arithmetic of shares and plans (pure NumPy);
- mpi_runtime.py: mpi4py, the MPI library it loaded, the core's communicator, thread shares.
"""

from .strategy import DistributedError, MPIStrategy

__all__ = ["MPIStrategy", "DistributedError"]
