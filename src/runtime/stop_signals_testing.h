#pragma once
// Test seam of stop_signals.h, for tests only: production code never includes it.

namespace distgru::runtime::testing {

// Records `signal` as if it had arrived (0 clears the record).
void raise_stop_signal(int signal);

}  // namespace distgru::runtime::testing
