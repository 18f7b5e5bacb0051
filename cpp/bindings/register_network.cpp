// Layers, networks and optimizer state, for float ("32") and double ("64").
//
// Heavy calls (train, predict, evaluate) release the GIL: they touch only C++ state and the
// NumPy buffers passed in, which the calling Python frame keeps alive for the call's duration.
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.hpp"
#include "call_guard.hpp"
#include "densekit/kernels/elementwise.hpp"
#include "densekit/model/network.hpp"

namespace densekit::bindings {

namespace {

// A writable zero-copy view of a layer's tensor: the layer keeps its inference copies aside
// while the view (or any array derived from it) lives, and rebuilds them after (layers.hpp).
template <class T>
py::array_t<T> tracked_view(const std::shared_ptr<Layer<T>>& layer, T* data, py::ssize_t rows,
                            py::ssize_t cols) {
  layer->view_opened();
  auto* keep = new std::shared_ptr<Layer<T>>(layer);
  py::capsule owner(keep, [](void* p) {
    auto* held = static_cast<std::shared_ptr<Layer<T>>*>(p);
    (*held)->view_closed();
    delete held;
  });
  return view<T>(data, rows, cols, owner);
}

template <class T>
Param<T>& param_of(Layer<T>& layer, const std::string& name) {
  Param<T>* p = layer.find_param(name);
  if (!p) p = layer.find_state(name);
  if (!p) throw py::key_error(std::string(layer.kind()) + " layer has no parameter '" + name + "'");
  return *p;
}

py::dict stats_dict(const RunStats& s) {
  py::dict d;
  d["loss_sum"] = s.loss_sum;
  d["weighted_loss"] = s.sums.weighted_loss;
  d["correct"] = s.sums.correct;
  d["sq_error"] = s.sums.sq_error;
  d["abs_error"] = s.sums.abs_error;
  d["samples"] = s.samples;
  d["batches"] = s.batches;
  d["last_loss"] = s.last_loss;
  d["diverged"] = s.diverged;
  d["diverged_batch"] = s.diverged_batch;
  d["nonfinite_gradient"] = s.nonfinite_gradient;
  return d;
}

// Raises ValueError naming the first non-finite element of a (rows, cols) array.
template <class T>
void check_finite(const char* where, const T* data, py::ssize_t rows, py::ssize_t cols) {
  const py::ssize_t i = kernels::elementwise<T>().first_non_finite(data, rows * cols);
  if (i < rows * cols)
    throw py::value_error(std::string(where) + ": x contains NaN or Inf (first at index (" +
                          std::to_string(i / cols) + ", " + std::to_string(i % cols) + "))");
}

// Y must be (N, 1) class ids for sparse cross-entropy, else (N, outputs); sw must be (N,).
template <class T>
void check_targets(const char* where, const Network<T>& n, const CArray<T>& Y,
                   const std::optional<CArray<T>>& sw, py::ssize_t rows) {
  const py::ssize_t want =
      n.loss().kind == LossKind::sparse_categorical_crossentropy ? 1 : n.output_dim();
  if (Y.ndim() != 2 || Y.shape(0) != rows || Y.shape(1) != want)
    throw py::value_error(std::string(where) + ": Y must have shape (" + std::to_string(rows) +
                          ", " + std::to_string(want) + ")");
  if (sw && (sw->ndim() != 1 || sw->shape(0) != rows))
    throw py::value_error(std::string(where) + ": sample_weight must have shape (" +
                          std::to_string(rows) + ",)");
}

template <class T>
void check_rows(const char* what, py::ssize_t got, py::ssize_t want) {
  if (got != want)
    throw py::value_error(std::string(what) + " has " + std::to_string(got) + " rows, expected " +
                          std::to_string(want));
}

// [distributed] A plan (k, 3) of (rows here, rows in the global batch, offset of the first
// here): rows >= 0, offset + rows <= global rows, and the rows add up to count.
ShardPlan check_plan(const py::array_t<std::int64_t, py::array::c_style>& plan, Communicator* comm,
                     py::ssize_t count) {
  if (plan.ndim() != 2 || plan.shape(1) != 3)
    throw py::value_error("train: plan must have shape (batches, 3)");
  const std::int64_t* p = plan.data();
  py::ssize_t total = 0;
  for (py::ssize_t b = 0; b < plan.shape(0); ++b) {
    const std::int64_t rows = p[3 * b], global = p[3 * b + 1], offset = p[3 * b + 2];
    if (rows < 0 || global < 1 || offset < 0 || offset + rows > global)
      throw py::value_error("train: plan row " + std::to_string(b) + " is inconsistent");
    total += rows;
  }
  if (total != count) throw py::value_error("train: the plan's rows do not add up to count");
  return ShardPlan{comm, p, Index(plan.shape(0))};
}

}  // namespace

template <class T>
void register_network(py::module_& m, const std::string& suffix) {
  using L = Layer<T>;
  using Net = Network<T>;

  py::class_<L, std::shared_ptr<L>>(m, ("Layer" + suffix).c_str())
      .def_property_readonly("kind", &L::kind)
      .def_property_readonly("input_dim", &L::input_dim)
      .def_property_readonly("output_dim", &L::output_dim)
      .def_readwrite("trainable", &L::trainable)
      .def_readwrite("seed", &L::seed)
      .def_property_readonly("param_names",
                             [](L& l) {
                               std::vector<std::string> names;
                               for (auto& p : l.params()) names.push_back(p.name);
                               return names;
                             })
      .def_property_readonly("state_names",
                             [](L& l) {
                               std::vector<std::string> names;
                               for (auto& p : l.states()) names.push_back(p.name);
                               return names;
                             })
      // Zero-copy views (parameters and states); the array's base keeps this layer alive.
      // writable=False gives a read-only view, which leaves the inference copies alone.
      .def("value", [](py::object self, const std::string& name, bool writable) {
        Param<T>& p = param_of(self.cast<L&>(), name);
        if (writable) return tracked_view<T>(self.cast<std::shared_ptr<L>>(), p.value, p.rows, p.cols);
        py::array_t<T> v = view<T>(p.value, p.rows, p.cols, self);
        v.attr("setflags")(py::arg("write") = false);
        return v;
      }, py::arg("name"), py::arg("writable") = true)
      // Pruning mask of parameter `name`: a uint8 copy (1 kept, 0 pruned) or None.
      .def("mask", [](L& l, const std::string& name) -> py::object {
        Param<T>& p = param_of(l, name);
        if (p.mask.empty()) return py::none();
        py::array_t<std::uint8_t, py::array::c_style> out({p.rows, p.cols});
        std::copy(p.mask.begin(), p.mask.end(), out.mutable_data());
        return out;
      }, py::arg("name"))
      .def("set_mask", [](L& l, const std::string& name,
                          std::optional<py::array_t<std::uint8_t, py::array::c_style>> mask) {
        Param<T>* p = l.find_param(name);
        if (!p) throw py::key_error(std::string(l.kind()) + " layer has no trainable parameter '" +
                                    name + "'");
        if (!mask) {
          p->mask.clear();
          return;
        }
        if (mask->ndim() != 2 || mask->shape(0) != p->rows || mask->shape(1) != p->cols)
          throw py::value_error("set_mask: the mask must have the parameter's shape (" +
                                std::to_string(p->rows) + ", " + std::to_string(p->cols) + ")");
        p->mask.assign(mask->data(), mask->data() + mask->size());
        for (auto& m : p->mask) m = m ? 1 : 0;
      }, py::arg("name"), py::arg("mask").noconvert())
      .def("grad", [](py::object self, const std::string& name) {
        Param<T>* pp = self.cast<L&>().find_param(name);
        if (!pp) throw py::key_error("no trainable parameter '" + name + "'");
        Param<T>& p = *pp;
        return view<T>(p.grad, p.rows, p.cols, self);
      }, py::arg("name"))
      .def("set_regularizer",
           [](L& l, const std::string& name, double l1, double l2) {
             Param<T>& p = param_of(l, name);
             p.l1 = l1;
             p.l2 = l2;
           }, py::arg("name"), py::arg("l1"), py::arg("l2"))
      .def("set_constraint", [](L& l, const std::string& name, ConstraintKind kind, double value,
                                int axis) {
        Param<T>& p = param_of(l, name);
        p.constraint = kind;
        p.constraint_value = value;
        p.constraint_axis = axis;
      }, py::arg("name"), py::arg("kind"), py::arg("value"), py::arg("axis"));

  py::class_<DenseLayer<T>, L, std::shared_ptr<DenseLayer<T>>>(m, ("DenseLayer" + suffix).c_str())
      .def(py::init([](py::object in, py::object out, bool use_bias, ActivationKind act, double alpha,
                       double lower, double upper) {
             return std::make_shared<DenseLayer<T>>(index_arg(in, "Dense", "input_dim", 1),
                                                    index_arg(out, "Dense", "units", 1), use_bias,
                                                    ActivationSpec{act, alpha, lower, upper});
           }),
           py::arg("input_dim"), py::arg("units"), py::arg("use_bias"), py::arg("activation"),
           py::arg("alpha"), py::arg("lower"), py::arg("upper"))
      // Which product an inference forward of `rows` rows runs: "sparse-grouped",
      // "sparse-batched", "dense-engine" (a sparse layer at a batch size where the engine wins) or
      // "default" (not sparse, or float64). Builds the sparse form if the weights changed.
      .def("inference_path", [](const DenseLayer<T>& l, Index rows) -> std::string {
        if (rows < 1) throw py::value_error("inference_path: rows must be >= 1");
        return l.inference_path(rows);
      }, py::arg("rows"))
      .def_property_readonly("sparse_zero_fraction", &DenseLayer<T>::sparse_zero_fraction);

  py::class_<ActivationLayer<T>, L, std::shared_ptr<ActivationLayer<T>>>(
      m, ("ActivationLayer" + suffix).c_str())
      .def(py::init([](py::object units, ActivationKind act, double alpha, double lower, double upper) {
             return std::make_shared<ActivationLayer<T>>(index_arg(units, "Activation", "units", 1),
                                                         ActivationSpec{act, alpha, lower, upper});
           }),
           py::arg("units"), py::arg("activation"), py::arg("alpha"), py::arg("lower"),
           py::arg("upper"));

  py::class_<BatchNormLayer<T>, L, std::shared_ptr<BatchNormLayer<T>>>(
      m, ("BatchNormLayer" + suffix).c_str())
      .def(py::init([](py::object units, double momentum, double epsilon, bool center, bool scale) {
             return std::make_shared<BatchNormLayer<T>>(index_arg(units, "BatchNormalization", "units", 1),
                                                        momentum, epsilon, center, scale);
           }), py::arg("units"), py::arg("momentum"),
           py::arg("epsilon"), py::arg("center"), py::arg("scale"));
  py::class_<NormalizationLayer<T>, L, std::shared_ptr<NormalizationLayer<T>>>(
      m, ("NormalizationLayer" + suffix).c_str())
      .def(py::init([](py::object units) {
        return std::make_shared<NormalizationLayer<T>>(index_arg(units, "Normalization", "units", 1));
      }), py::arg("units"));
  py::class_<DropoutLayer<T>, L, std::shared_ptr<DropoutLayer<T>>>(m, ("DropoutLayer" + suffix).c_str())
      .def(py::init([](py::object units, double rate) {
        return std::make_shared<DropoutLayer<T>>(index_arg(units, "Dropout", "units", 1), rate);
      }), py::arg("units"), py::arg("rate"));
  py::class_<AlphaDropoutLayer<T>, L, std::shared_ptr<AlphaDropoutLayer<T>>>(
      m, ("AlphaDropoutLayer" + suffix).c_str())
      .def(py::init([](py::object units, double rate) {
        return std::make_shared<AlphaDropoutLayer<T>>(index_arg(units, "AlphaDropout", "units", 1), rate);
      }), py::arg("units"), py::arg("rate"));

  py::class_<Net>(m, ("Network" + suffix).c_str())
      .def(py::init<std::vector<std::shared_ptr<L>>>(), py::arg("layers"))
      .def_property_readonly("input_dim", &Net::input_dim)
      .def_property_readonly("output_dim", &Net::output_dim)
      .def_property("step", &Net::step, &Net::set_step)
      .def_readwrite("auto_threads", &Net::auto_threads)
      .def_property_readonly("preferred_threads", &Net::preferred_threads)
      .def_property_readonly("thread_costs",
                             [](Net& n) {
                               return py::make_tuple(n.thread_tuner().cost(false),
                                                     n.thread_tuner().cost(true));
                             })
      .def(
          "compile",
          [](Net& n, LossKind loss, bool from_logits, double delta, AccuracyKind accuracy,
             const OptimizerConfig& opt) {
            // Without the GIL: compile waits for the network's lock, which a predict holds while
            // it takes the GIL to check for Ctrl-C.
            py::gil_scoped_release release;
            n.compile(LossSpec{loss, from_logits, delta}, accuracy, opt);
          },
          py::arg("loss"), py::arg("from_logits"), py::arg("huber_delta"), py::arg("accuracy"),
          py::arg("optimizer"))
      .def(
          "train",
          [](Net& n, CArray<T> X, CArray<T> Y, std::optional<CArray<T>> sw,
             std::optional<py::array_t<std::int64_t, py::array::c_style>> idx, py::object count_arg,
             py::object batch_size_arg, std::optional<py::array_t<double, py::array::c_style>> lrs,
             std::optional<py::array_t<double, py::array::c_style>> momenta,
             std::optional<py::array_t<double, py::array::c_style>> batch_stats,
             std::shared_ptr<Communicator> communicator,
             std::optional<py::array_t<std::int64_t, py::array::c_style>> plan) {
            const py::ssize_t count = index_arg(count_arg, "train", "count", 0);
            const py::ssize_t batch_size = index_arg(batch_size_arg, "train", "batch_size", 1);
            if (X.ndim() != 2 || X.shape(1) != n.input_dim())
              throw py::value_error("train: X has the wrong shape");
            if (!n.compiled()) throw py::value_error("train: the network is not compiled");
            check_targets<T>("train", n, Y, sw, X.shape(0));
            if (batch_size < 1) throw py::value_error("train: batch_size must be >= 1");
            const std::int64_t* ip = idx ? idx->data() : nullptr;
            if (ip) {
              if (idx->size() < count) throw py::value_error("train: fewer indices than count");
              for (py::ssize_t i = 0; i < count; ++i)
                if (ip[i] < 0 || ip[i] >= X.shape(0)) throw py::index_error("train: index out of range");
            } else if (count > X.shape(0)) {
              throw py::value_error("train: count exceeds the number of rows");
            }
            py::ssize_t nbatches = (count + batch_size - 1) / std::max<py::ssize_t>(1, batch_size);
            ShardPlan shard;
            if (plan || communicator) {  // [distributed] data-parallel: this rank's slices
              if (!plan || !communicator)
                throw py::value_error("train: a plan and a communicator go together");
              shard = check_plan(*plan, communicator.get(), count);
              nbatches = shard.count;
            }
            if (lrs && lrs->size() < nbatches) throw py::value_error("train: too few learning rates");
            if (momenta && momenta->size() < nbatches) throw py::value_error("train: too few momenta");
            if (batch_stats && batch_stats->size() < 5 * nbatches)
              throw py::value_error("train: batch_stats holds too few rows");
            double* bsp = batch_stats ? batch_stats->mutable_data() : nullptr;
            ConstMatrixMap<T> xm(X.data(), X.shape(0), X.shape(1));
            ConstMatrixMap<T> ym(Y.data(), Y.shape(0), Y.shape(1));
            const T* swp = sw ? sw->data() : nullptr;
            const double* lp = lrs ? lrs->data() : nullptr;
            const double* mp = momenta ? momenta->data() : nullptr;
            return stats_dict(interruptible([&] {
              return n.train(xm, ym, swp, ip, count, batch_size, lp, mp, bsp, shard.comm ? &shard : nullptr);
            }));
          },
          py::arg("X").noconvert(), py::arg("Y").noconvert(), py::arg("sample_weight").noconvert(),
          py::arg("indices").noconvert(), py::arg("count"), py::arg("batch_size"),
          py::arg("learning_rates").noconvert() = py::none(),
          py::arg("momenta").noconvert() = py::none(),
          py::arg("batch_stats").noconvert() = py::none(),
          py::arg("communicator") = py::none(), py::arg("plan").noconvert() = py::none())
      .def(
          "predict",
          [](const Net& n, CArray<T> X, CArray<T> out, py::object batch_size_arg) {
            const Index batch_size = index_arg(batch_size_arg, "predict", "batch_size", 1);
            if (X.ndim() != 2 || X.shape(1) != n.input_dim())
              throw py::value_error("predict: X has the wrong shape");
            if (out.ndim() != 2 || out.shape(0) != X.shape(0) || out.shape(1) != n.output_dim())
              throw py::value_error("predict: out has the wrong shape");
            check_finite<T>("predict", X.data(), X.shape(0), X.shape(1));
            ConstMatrixMap<T> xm(X.data(), X.shape(0), X.shape(1));
            MatrixMap<T> om(out.mutable_data(), out.shape(0), out.shape(1));
            interruptible([&] { n.predict(xm, om, batch_size); });
          },
          py::arg("X").noconvert(), py::arg("out").noconvert(), py::arg("batch_size"))
      .def(
          "predict_mc",
          [](const Net& n, CArray<T> X, py::object samples_arg, CArray<T> mean, CArray<T> stddev,
             py::object batch_size_arg, std::uint64_t key) {
            const Index samples = index_arg(samples_arg, "predict_mc", "samples", 1);
            const Index batch_size = index_arg(batch_size_arg, "predict_mc", "batch_size", 1);
            if (X.ndim() != 2 || X.shape(1) != n.input_dim())
              throw py::value_error("predict_mc: X has the wrong shape");
            for (auto* o : {&mean, &stddev})
              if (o->ndim() != 2 || o->shape(0) != X.shape(0) || o->shape(1) != n.output_dim())
                throw py::value_error("predict_mc: output arrays have the wrong shape");
            ConstMatrixMap<T> xm(X.data(), X.shape(0), X.shape(1));
            MatrixMap<T> mm(mean.mutable_data(), mean.shape(0), mean.shape(1));
            MatrixMap<T> sm(stddev.mutable_data(), stddev.shape(0), stddev.shape(1));
            interruptible([&] { n.predict_mc(xm, samples, mm, sm, batch_size, key); });
          },
          py::arg("X").noconvert(), py::arg("samples"), py::arg("mean").noconvert(),
          py::arg("stddev").noconvert(), py::arg("batch_size"), py::arg("key"))
      .def(
          "evaluate",
          [](Net& n, CArray<T> X, CArray<T> Y, std::optional<CArray<T>> sw, py::object batch_size_arg) {
            const Index batch_size = index_arg(batch_size_arg, "evaluate", "batch_size", 1);
            if (X.ndim() != 2 || X.shape(1) != n.input_dim())
              throw py::value_error("evaluate: X has the wrong shape");
            if (!n.compiled()) throw py::value_error("evaluate: the network is not compiled");
            check_targets<T>("evaluate", n, Y, sw, X.shape(0));
            ConstMatrixMap<T> xm(X.data(), X.shape(0), X.shape(1));
            ConstMatrixMap<T> ym(Y.data(), Y.shape(0), Y.shape(1));
            const T* swp = sw ? sw->data() : nullptr;
            return stats_dict(interruptible([&] { return n.evaluate(xm, ym, swp, batch_size); }));
          },
          py::arg("X").noconvert(), py::arg("Y").noconvert(), py::arg("sample_weight").noconvert(),
          py::arg("batch_size"))
      .def(
          "gradients",
          [](Net& n, CArray<T> X, CArray<T> Y, std::optional<CArray<T>> sw) {
            if (X.ndim() != 2 || X.shape(1) != n.input_dim())
              throw py::value_error("gradients: X has the wrong shape");
            if (!n.compiled()) throw py::value_error("gradients: the network is not compiled");
            check_targets<T>("gradients", n, Y, sw, X.shape(0));
            ConstMatrixMap<T> xm(X.data(), X.shape(0), X.shape(1));
            ConstMatrixMap<T> ym(Y.data(), Y.shape(0), Y.shape(1));
            const T* swp = sw ? sw->data() : nullptr;
            return interruptible([&] { return n.gradients(xm, ym, swp); });
          },
          py::arg("X").noconvert(), py::arg("Y").noconvert(),
          py::arg("sample_weight").noconvert() = py::none())
      .def("penalty", &Net::penalty)
      // Optimizer hyperparameters and state (for schedules, saving and resuming).
      .def_property(
          "optimizer_config", [](Net& n) { return n.optimizer().config(); },
          [](Net& n, const OptimizerConfig& c) {
            // Hyperparameters only: the slot layout (slot_names) was fixed at compile.
            const OptimizerConfig& old = n.optimizer().config();
            if (c.kind != old.kind || c.amsgrad != old.amsgrad || c.centered != old.centered)
              throw py::value_error("optimizer_config: the optimizer kind, amsgrad and centered "
                                    "need a recompile");
            n.optimizer().set_config(c);  // checks every value first (ValueError)
          })
      .def("set_learning_rate", [](Net& n, double lr) { n.optimizer().set_learning_rate(lr); })
      .def("set_momentum", [](Net& n, double v) { n.optimizer().set_momentum(v); })
      .def_property(
          "optimizer_iterations", [](Net& n) { return n.optimizer().iterations(); },
          [](Net& n, py::object t) {
            n.optimizer().set_iterations(index_arg(t, "optimizer", "iterations", 0));
          })
      .def_property(
          "optimizer_mu_product", [](Net& n) { return n.optimizer().mu_product(); },
          [](Net& n, double v) { n.optimizer().set_mu_product(v); })
      // The name of each row of optimizer_slots(), e.g. ["m", "v"] (optimizers.hpp, slot_names).
      .def_property_readonly("optimizer_slot_names",
                             [](Net& n) { return n.optimizer().slot_names(); })
      .def_property_readonly("optimizer_offsets",
                             [](Net& n) { return n.optimizer().offsets(); })
      .def("optimizer_slots", [](Net& n) {
        // The view owns a reference to the optimizer itself, so it stays valid after a
        // recompile replaces the network's optimizer.
        auto handle = n.optimizer_handle();
        if (!handle) throw py::value_error("the network is not compiled");
        auto* keep = new std::shared_ptr<Optimizer<T>>(handle);
        py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<Optimizer<T>>*>(p); });
        return view<T>(handle->slots(), handle->nslots(), handle->total_size(), owner);
      });
}

template void register_network<float>(py::module_&, const std::string&);
template void register_network<double>(py::module_&, const std::string&);

}  // namespace densekit::bindings
