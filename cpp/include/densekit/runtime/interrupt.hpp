// Stopping a long call early when its caller asks (Ctrl-C in Python).
//
// The core never sees Python: a caller installs a poll function on its thread for the span of a
// call (InterruptScope), and long loops call check_interrupt() between chunks of work — between
// batches, between layers, never inside a kernel or between an update's first and last write —
// so a call that stops leaves the model as after its last whole step. The poll decides how often
// it really looks (the Python bindings take the GIL and check for signals every ~50 ms).
#pragma once

#include <exception>

namespace densekit {

// Returns true when the current call should stop. Called from the thread that installed it.
using InterruptPoll = bool (*)(void* context);

// Thrown by check_interrupt(); the caller that installed the poll turns it into its own error.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "densekit: the call was interrupted"; }
};

// Installs `poll` for the calling thread while alive (scopes nest; the innermost one polls).
class InterruptScope {
 public:
  InterruptScope(InterruptPoll poll, void* context);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  InterruptPoll previous_poll_;
  void* previous_context_;
};

// Throws Interrupted if this thread's poll asks to stop; one thread-local read when none is set.
void check_interrupt();

}  // namespace densekit
