// parallel_for over llvm::parallelFor: we choose the chunks, LLVM's executor runs them.
#include "runtime/thread_pool.h"
#include <algorithm>
#include <cassert>
#include <llvm/Support/Parallel.h>

namespace patgrad::runtime {

// A few chunks per thread, so that a thread slowed by the OS or by a costlier chunk does not hold up the rest; more
// would only add scheduling overhead.
constexpr int64_t chunks_per_thread = 4;

// Set only in a child that has a single thread (run_serially_in_this_process): the process's one flag.
namespace {
bool serial = false;
} // namespace

int64_t thread_count() { return llvm::parallel::strategy.compute_thread_count(); }

void run_serially_in_this_process() { serial = true; }

void parallel_for(int64_t n, int64_t grain, llvm::function_ref<void(int64_t begin, int64_t end)> body) {
  assert(grain > 0 && "parallel_for needs a positive grain");
  if (n <= 0) return;
  if (serial) return body(0, n);
  // n / grain chunks at most, so that each holds at least grain items.
  int64_t chunks = std::clamp<int64_t>(n / grain, 1, thread_count() * chunks_per_thread);
  int64_t size = (n + chunks - 1) / chunks;
  chunks = (n + size - 1) / size; // rounding size up may leave the last chunks empty
  if (chunks == 1) return body(0, n);
  llvm::parallelFor(0, chunks, [&](size_t chunk) {
    int64_t begin = static_cast<int64_t>(chunk) * size;
    body(begin, std::min(begin + size, n));
  });
}

} // namespace patgrad::runtime
