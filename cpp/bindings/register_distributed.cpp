// The core's Communicator over MPI, for data-parallel training (python/densekit/distributed).
//
// Neither the core nor this module includes mpi.h or links an MPI library: mpi4py loads MPI,
// and Python hands in the addresses of the few MPI functions used here (found with ctypes in
// the library mpi4py loaded) and the handles of the communicator, datatypes and MPI_SUM
// (mpi4py's MPI._handleof). Handles are pointers in Open MPI's ABI and ints in MPICH's, so the
// communicator is a template over the handle type. Calls through these pointers need no GIL.
//
// Two reductions:
// - "mpi": MPI_Allreduce in place — the library's own algorithm, fastest;
// - "ordered": each rank owns a slice of the buffer, receives every rank's copy of it
//   (MPI_Alltoallv), adds them in rank order 0, 1, ..., P−1 and hands the total back to all
//   (MPI_Allgatherv); small buffers (BatchNormalization's sums) are gathered whole instead
//   (MPI_Allgather, one collective) and every rank adds them in rank order. The order of every
//   sum is fixed by construction, whatever algorithm the library picks, so float32 runs repeat
//   bit for bit and every rank holds the same bits.
// Each collective runs under a watchdog: a rank that waits longer than the timeout (another rank
// died, hung or stopped calling) prints why and aborts the whole job (MPI_Abort) rather than
// hang. It must not be used for anything but these sums: the core is the only caller.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bindings.hpp"
#include "densekit/runtime/communicator.hpp"

namespace densekit::bindings {

namespace {

// Aborts the job when a collective has been waiting longer than `timeout` seconds. The watch
// costs two atomic stores per collective; a thread looks at the clock a few times per timeout.
class Watchdog {
 public:
  using Abort = void (*)(void* context, const std::string& message);

  Watchdog(double timeout, std::string who, Abort abort, void* context)
      : timeout_(timeout), who_(std::move(who)), abort_(abort), context_(context) {
    if (timeout_ > 0) thread_ = std::thread([this] { watch(); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // `what` names the wait in the message; it must outlive the wait.
  void arm(const char* what) {
    what_.store(what, std::memory_order_relaxed);
    since_.store(now_ns(), std::memory_order_release);
  }
  void disarm() { since_.store(0, std::memory_order_release); }
  double timeout() const { return timeout_; }

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count() | 1;  // never 0, which means "not waiting"
  }

  void watch() {
    const auto period = std::chrono::duration<double>(std::clamp(timeout_ / 8, 0.01, 1.0));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, period);
      const std::int64_t since = since_.load(std::memory_order_acquire);
      if (stop_ || since == 0) continue;
      const double waited = double(now_ns() - since) * 1e-9;
      if (waited < timeout_) continue;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.0f", waited);
      abort_(context_, "densekit.distributed: " + who_ + " has waited " + seconds + " s in " +
                           what_.load() +
                           ": another rank has died, hung or stopped training early. Aborting "
                           "every rank (MPIStrategy(timeout=" + std::to_string(timeout_) +
                           ") sets this limit).");
      since_.store(0);  // abort_ does not return in practice; never report twice
    }
  }

  const double timeout_;
  const std::string who_;
  const Abort abort_;
  void* const context_;
  std::atomic<std::int64_t> since_{0};
  std::atomic<const char*> what_{""};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// The MPI functions used, as addresses from Python, and the handles they take.
struct MpiFunctions {
  std::uintptr_t allreduce = 0, alltoallv = 0, allgatherv = 0, allgather = 0, abort = 0;
  std::int64_t comm = 0, float32 = 0, float64 = 0, sum = 0, in_place = 0;
};

// Largest count one MPI call takes (an int); longer buffers go in pieces.
constexpr Index kMaxCount = Index(1) << 30;
// Up to this many bytes gathered from all ranks, the ordered sum gathers whole buffers.
constexpr std::size_t kGatherBytes = 64 * 1024;

// What Python holds: the core's Communicator, plus the watchdog and the abort, which the Python
// side's own collectives (mpi4py calls: the state broadcast, log reductions) use too.
class JobCommunicator : public Communicator {
 public:
  // Puts the next wait under the watchdog; `what` names it in the timeout message.
  virtual void arm(const std::string& what) = 0;
  virtual void disarm() = 0;
  // Prints `message` and ends every rank of the job.
  virtual void abort_all(const std::string& message, int code) = 0;
};

template <class H>  // the handle type: std::uintptr_t (Open MPI) or int (MPICH)
class MpiCommunicator final : public JobCommunicator {
  using AllreduceFn = int (*)(const void*, void*, int, H, H, H);
  using AlltoallvFn = int (*)(const void*, const int*, const int*, H, void*, const int*,
                              const int*, H, H);
  using AllgathervFn = int (*)(const void*, int, H, void*, const int*, const int*, H, H);
  using AllgatherFn = int (*)(const void*, int, H, void*, int, H, H);
  using AbortFn = int (*)(H, int);

 public:
  MpiCommunicator(const MpiFunctions& f, int rank, int size, bool ordered, double timeout)
      : rank_(rank),
        size_(size),
        ordered_(ordered),
        allreduce_(reinterpret_cast<AllreduceFn>(f.allreduce)),
        alltoallv_(reinterpret_cast<AlltoallvFn>(f.alltoallv)),
        allgatherv_(reinterpret_cast<AllgathervFn>(f.allgatherv)),
        allgather_(reinterpret_cast<AllgatherFn>(f.allgather)),
        abort_(reinterpret_cast<AbortFn>(f.abort)),
        comm_(H(f.comm)),
        float32_(H(f.float32)),
        float64_(H(f.float64)),
        sum_(H(f.sum)),
        in_place_(reinterpret_cast<void*>(std::intptr_t(f.in_place))),
        counts_(std::size_t(size)),
        displs_(std::size_t(size)),
        recv_counts_(std::size_t(size)),
        recv_displs_(std::size_t(size)),
        watchdog_(timeout, "rank " + std::to_string(rank) + " of " + std::to_string(size),
                  &MpiCommunicator::abort_job, this) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, Index n) override { sum_in_place(data, n, float32_); }
  void allreduce_sum(double* data, Index n) override { sum_in_place(data, n, float64_); }

  void arm(const std::string& what) override {
    watchdog_.disarm();
    python_what_ = what;
    watchdog_.arm(python_what_.c_str());
  }
  void disarm() override { watchdog_.disarm(); }
  void abort_all(const std::string& message, int code) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    // Let the launcher forward what this rank wrote before MPI_Abort tears the job down: MPICH's
    // Hydra can otherwise drop a dying rank's last output, the message that says why.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    abort_(comm_, code);
    std::_Exit(code);  // MPI_Abort returned (it should not): still never hang
  }

 private:
  static void abort_job(void* self, const std::string& message) {
    static_cast<MpiCommunicator*>(self)->abort_all(message, 1);
  }

  template <class T>
  void sum_in_place(T* data, Index n, H type) {
    watchdog_.arm("an all-reduce of a training step");
    for (Index off = 0; off < n; off += kMaxCount) {
      const Index k = std::min(kMaxCount, n - off);
      if (ordered_ && size_ > 1)
        ordered_sum(data + off, k, type);
      else
        check(allreduce_(in_place_, data + off, int(k), type, sum_, comm_), "MPI_Allreduce");
    }
    watchdog_.disarm();
  }

  // Rank r owns elements [lo(r), lo(r+1)) of the buffer: it receives every rank's copy of
  // them, adds them in rank order, and every rank gathers every slice back.
  template <class T>
  void ordered_sum(T* data, Index n, H type) {
    const Index P = size_;
    if (std::size_t(P * n) * sizeof(T) <= kGatherBytes) return gathered_sum(data, n, type);
    for (Index k = 0; k < P; ++k) {
      const Index lo = k * n / P, hi = (k + 1) * n / P;
      counts_[k] = int(hi - lo);
      displs_[k] = int(lo);
    }
    const Index mine = counts_[rank_];
    for (Index k = 0; k < P; ++k) {
      recv_counts_[k] = int(mine);
      recv_displs_[k] = int(k * mine);
    }
    const std::size_t bytes = std::size_t(P * mine) * sizeof(T);
    if (scratch_.size() < bytes) scratch_.resize(bytes);  // grows to the largest buffer, once
    T* parts = reinterpret_cast<T*>(scratch_.data());
    check(alltoallv_(data, counts_.data(), displs_.data(), type, parts, recv_counts_.data(),
                     recv_displs_.data(), type, comm_),
          "MPI_Alltoallv");
    ArrayMap<T> total(data + displs_[rank_], mine);
    total = ConstArrayMap<T>(parts, mine);
    for (Index k = 1; k < P; ++k) total += ConstArrayMap<T>(parts + k * mine, mine);
    check(allgatherv_(in_place_, 0, type, data, counts_.data(), displs_.data(), type, comm_),
          "MPI_Allgatherv");
  }

  // Small buffers: every rank gathers every rank's whole buffer and adds them in rank order.
  template <class T>
  void gathered_sum(T* data, Index n, H type) {
    const std::size_t bytes = std::size_t(size_ * n) * sizeof(T);
    if (scratch_.size() < bytes) scratch_.resize(bytes);
    T* all = reinterpret_cast<T*>(scratch_.data());
    check(allgather_(data, int(n), type, all, int(n), type, comm_), "MPI_Allgather");
    ArrayMap<T> total(data, n);
    total = ConstArrayMap<T>(all, n);
    for (Index k = 1; k < size_; ++k) total += ConstArrayMap<T>(all + k * n, n);
  }

  void check(int code, const char* what) {
    if (code == 0) return;
    watchdog_.disarm();
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(rank_) +
                             " (MPI error code " + std::to_string(code) + ")");
  }

  const int rank_, size_;
  const bool ordered_;
  const AllreduceFn allreduce_;
  const AlltoallvFn alltoallv_;
  const AllgathervFn allgatherv_;
  const AllgatherFn allgather_;
  const AbortFn abort_;
  const H comm_, float32_, float64_, sum_;
  void* const in_place_;
  std::vector<int> counts_, displs_, recv_counts_, recv_displs_;
  std::vector<unsigned char> scratch_;
  std::string python_what_;
  Watchdog watchdog_;
};

template <class T>
void allreduce_array(Communicator& c, py::array_t<T, py::array::c_style> a) {
  T* data = a.mutable_data();
  const Index n = a.size();
  py::gil_scoped_release release;
  c.allreduce_sum(data, n);
}

}  // namespace

void register_distributed(py::module_& m) {
  py::class_<Communicator, std::shared_ptr<Communicator>>(
      m, "Communicator", "Sums across the ranks of a data-parallel job (runtime/communicator.hpp)")
      .def_property_readonly("rank", &Communicator::rank)
      .def_property_readonly("size", &Communicator::size)
      // Sums a C-contiguous float32/float64 array over the ranks in place (GIL released).
      .def("allreduce", &allreduce_array<float>, py::arg("array").noconvert())
      .def("allreduce", &allreduce_array<double>, py::arg("array").noconvert());

  py::class_<JobCommunicator, Communicator, std::shared_ptr<JobCommunicator>>(
      m, "MPICommunicator",
      "The core's Communicator over the MPI library mpi4py loaded (densekit.distributed builds it)")
      .def(py::init([](const py::dict& f, int handle_bytes, int rank, int size, bool ordered,
                       double timeout) -> std::shared_ptr<JobCommunicator> {
             MpiFunctions fn;
             fn.allreduce = f["MPI_Allreduce"].cast<std::uintptr_t>();
             fn.alltoallv = f["MPI_Alltoallv"].cast<std::uintptr_t>();
             fn.allgatherv = f["MPI_Allgatherv"].cast<std::uintptr_t>();
             fn.allgather = f["MPI_Allgather"].cast<std::uintptr_t>();
             fn.abort = f["MPI_Abort"].cast<std::uintptr_t>();
             fn.comm = f["comm"].cast<std::int64_t>();
             fn.float32 = f["float32"].cast<std::int64_t>();
             fn.float64 = f["float64"].cast<std::int64_t>();
             fn.sum = f["sum"].cast<std::int64_t>();
             fn.in_place = f["in_place"].cast<std::int64_t>();
             if (!fn.allreduce || !fn.alltoallv || !fn.allgatherv || !fn.allgather || !fn.abort)
               throw py::value_error("MPICommunicator: a function address is null");
             if (size < 1 || rank < 0 || rank >= size)
               throw py::value_error("MPICommunicator: rank must be in [0, size)");
             if (!(timeout >= 0))
               throw py::value_error("MPICommunicator: timeout must be >= 0 (0: no watchdog)");
             if (handle_bytes == int(sizeof(void*)))
               return std::make_shared<MpiCommunicator<std::uintptr_t>>(fn, rank, size, ordered,
                                                                        timeout);
             if (handle_bytes == int(sizeof(int)))
               return std::make_shared<MpiCommunicator<int>>(fn, rank, size, ordered, timeout);
             throw py::value_error("MPICommunicator: MPI handles of " +
                                   std::to_string(handle_bytes) + " bytes are not supported");
           }),
           py::arg("functions"), py::arg("handle_bytes"), py::arg("rank"), py::arg("size"),
           py::arg("ordered"), py::arg("timeout"))
      .def("arm", &JobCommunicator::arm, py::arg("what"))
      .def("disarm", &JobCommunicator::disarm)
      .def("abort", [](JobCommunicator& c, const std::string& message, int code) {
        py::gil_scoped_release release;
        c.abort_all(message, code);
      }, py::arg("message"), py::arg("code") = 1);
}

}  // namespace densekit::bindings
