// run_isolated (runtime/isolated_run.cpp): a body that crashes or hangs is reported, not fatal; the child's writes stay
// in the child; parallel_for there runs on the one thread a forked child has.
#include "runtime/isolated_run.h"
#include "runtime/thread_pool.h"
#include "tests/shell.h"
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

using namespace patgrad;
using runtime::Isolated;

TEST_CASE("an isolated body's result comes back as passed or failed; its writes stay in the child",
          "[runtime][isolated_run]") {
  int written = 0;
  CHECK(runtime::run_isolated([&] { return ++written == 1; }, 10000).outcome == Isolated::passed);
  CHECK(runtime::run_isolated([&] { return ++written == 2; }, 10000).outcome == Isolated::failed);
  CHECK(written == 0);
}

TEST_CASE("an isolated body that crashes or hangs is reported", "[runtime][isolated_run]") {
  Isolated crash = runtime::run_isolated([] { return std::raise(SIGSEGV) == 0; }, 10000);
  CHECK(crash.outcome == Isolated::crashed);
  CHECK(crash.signal == SIGSEGV);
  CHECK(crash.describe() == "crashed (SIGSEGV)");
  Isolated fpe = runtime::run_isolated([] { return std::raise(SIGFPE) == 0; }, 10000);
  CHECK(fpe.describe() == "crashed (SIGFPE)");
  Isolated hang = runtime::run_isolated(
      [] {
        for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return true;
      },
      100);
  CHECK(hang.outcome == Isolated::timed_out);
}

TEST_CASE("parallel_for in an isolated child runs on its one thread", "[runtime][isolated_run]") {
  // start the pool's threads here first: a fork copies only the calling thread, so the child's pool has none
  std::atomic<int64_t> sum = 0;
  runtime::parallel_for(1000, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  REQUIRE(sum == 1000);
  std::thread::id parent = std::this_thread::get_id();
  Isolated child = runtime::run_isolated(
      [&] {
        bool here = true;
        int64_t n = 0;
        runtime::parallel_for(1000, 1, [&](int64_t b, int64_t e) {
          here &= std::this_thread::get_id() == parent;
          n += e - b;
        });
        return here && n == 1000;
      },
      10000);
  CHECK(child.outcome == Isolated::passed);
}
