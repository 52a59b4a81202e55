// Launching a kernel over a range split across every core. The threads are LLVM's process-wide parallel executor
// (llvm::parallelFor), started on first use; patgrad keeps no pool of its own.
#pragma once
#include <cstdint>
#include <llvm/ADT/STLFunctionalExtras.h>

namespace patgrad::runtime {

// Calls body(begin, end) on disjoint chunks that together cover [0, n) once, on all cores, and returns when every
// call has returned. Every chunk but the last holds at least `grain` items; a range too small to split runs on the
// calling thread. Chunks run in no particular order, so body must not depend on one.
void parallel_for(int64_t n, int64_t grain, llvm::function_ref<void(int64_t begin, int64_t end)> body);

// The number of threads parallel_for spreads work over.
int64_t thread_count();

// From now on parallel_for runs body on the calling thread: for a fork()ed child (run_isolated), which has no other
// thread, so LLVM's executor there would wait forever on workers that do not exist.
void run_serially_in_this_process();

} // namespace patgrad::runtime
