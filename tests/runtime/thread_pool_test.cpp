// parallel_for: every index exactly once, in chunks no smaller than the grain.
#include "runtime/thread_pool.h"
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

using namespace patgrad::runtime;

TEST_CASE("parallel_for covers every index exactly once", "[runtime][thread_pool]") {
  struct Case {
    int64_t n, grain;
  };
  const Case cases[] = {{0, 1}, {1, 1}, {7, 100}, {9, 4}, {1000, 1}, {100003, 64}, {1 << 20, 4096}};
  for (Case c : cases) {
    CAPTURE(c.n, c.grain);
    std::vector<std::atomic<int>> visits(c.n);
    std::mutex mutex;
    std::vector<std::pair<int64_t, int64_t>> chunks;
    parallel_for(c.n, c.grain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) visits[i]++;
      std::lock_guard lock(mutex);
      chunks.emplace_back(begin, end);
    });
    for (int64_t i = 0; i < c.n; i++) REQUIRE(visits[i] == 1);
    for (auto [begin, end] : chunks) {
      REQUIRE(begin < end);
      if (end != c.n) REQUIRE(end - begin >= c.grain); // only the last chunk may be short
    }
  }
}

TEST_CASE("parallel_for runs a range too small to split on the calling thread", "[runtime][thread_pool]") {
  std::thread::id caller = std::this_thread::get_id(), ran_on;
  parallel_for(100, 1000, [&](int64_t begin, int64_t end) { ran_on = std::this_thread::get_id(); });
  CHECK(ran_on == caller);
}

TEST_CASE("parallel_for runs chunks on several threads at once", "[runtime][thread_pool]") {
  if (thread_count() < 2) return;
  // Each chunk waits until two chunks are running at the same time; the deadline only keeps a broken pool from
  // hanging the test.
  std::atomic<int> running = 0, most_at_once = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  parallel_for(thread_count() * 4, 1, [&](int64_t begin, int64_t end) {
    int now = ++running;
    int seen = most_at_once;
    while (now > seen && !most_at_once.compare_exchange_weak(seen, now)) continue;
    while (most_at_once < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    --running;
  });
  CHECK(most_at_once >= 2);
}
