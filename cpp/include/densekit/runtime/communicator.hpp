// Communicator: how a data-parallel training step sums across processes, without the core
// knowing which library moves the bytes.
//
// A network with a communicator (Network::set_communicator) is one rank of a group that trains
// one model: each rank runs forward and backward on its slice of every global batch, and the
// core calls allreduce_sum once per step on its flat buffer of gradients (plus the batch's loss
// and metric sums), and in each BatchNormalization layer for the global batch statistics. An
// implementation must return the same sums on every rank and must not return before every rank
// has contributed; it reports failure by throwing.
//
// Nothing in the core includes an MPI header or links an MPI library: the Python bindings
// implement this interface by calling the MPI library that mpi4py loaded, through function
// pointers found at run time (cpp/bindings/register_distributed.cpp). Without a communicator a
// network is a single process and none of this code runs.
#pragma once

#include "densekit/runtime/types.hpp"

namespace densekit {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // data (n) <- Σ over ranks of data (n), in place; every rank receives the same values.
  virtual void allreduce_sum(float* data, Index n) = 0;
  virtual void allreduce_sum(double* data, Index n) = 0;
};

}  // namespace densekit
