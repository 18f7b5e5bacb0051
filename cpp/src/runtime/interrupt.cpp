// The calling thread's interrupt poll (runtime/interrupt.hpp).
#include "densekit/runtime/interrupt.hpp"

namespace densekit {

namespace {
thread_local InterruptPoll t_poll = nullptr;
thread_local void* t_context = nullptr;
}  // namespace

InterruptScope::InterruptScope(InterruptPoll poll, void* context)
    : previous_poll_(t_poll), previous_context_(t_context) {
  t_poll = poll;
  t_context = context;
}

InterruptScope::~InterruptScope() {
  t_poll = previous_poll_;
  t_context = previous_context_;
}

void check_interrupt() {
  if (t_poll != nullptr && t_poll(t_context)) throw Interrupted();
}

}  // namespace densekit
