// The buffer pool: a freed buffer's memory goes to the next buffer of its byte size, a zeroed buffer reads as zeros
// even when its memory is reused, and the pool never holds more than its cap (0: no pool).
#include "runtime/target.h"
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

using namespace patgrad::runtime;

namespace {

constexpr size_t mib = size_t(1) << 20;

// Sets the cap, empty pool first, for one test, and puts the process's cap back after it.
struct PoolCap {
  size_t saved = buffer_pool_cap();
  explicit PoolCap(size_t bytes) {
    set_buffer_pool_cap(0);
    set_buffer_pool_cap(bytes);
  }
  ~PoolCap() { set_buffer_pool_cap(saved); }
};

// f32 buffers of a whole number of MiB
UOp buffer_of(size_t bytes, Fill fill = Fill::any) {
  return llvm::cantFail(allocate_buffer(DType::f32, int64_t(bytes / 4), fill));
}

void* data(const UOp& b) { return buffer(b).data; }

} // namespace

TEST_CASE("a freed buffer's memory goes to the next buffer of the same byte size", "[runtime][buffer]") {
  PoolCap cap(64 * mib);
  UOp a = buffer_of(4 * mib);
  void* memory = data(a);
  a = UOp();
  CHECK(pooled_bytes() == 4 * mib);
  UOp other_size = buffer_of(2 * mib);
  CHECK(pooled_bytes() == 4 * mib);
  UOp b = llvm::cantFail(allocate_buffer(DType::i32, int64_t(mib), Fill::any)); // another dtype, the same bytes
  CHECK(data(b) == memory);
  CHECK(pooled_bytes() == 0);
  // mapped buffers (64 MiB and more) too
  UOp big = buffer_of(64 * mib);
  void* big_memory = data(big);
  big = UOp();
  CHECK(pooled_bytes() == 64 * mib);
  CHECK(data(buffer_of(64 * mib)) == big_memory);
}

TEST_CASE("a zeroed buffer reads as zeros when its memory is reused", "[runtime][buffer]") {
  PoolCap cap(128 * mib);
  for (size_t bytes : {2 * mib, 64 * mib}) {
    CAPTURE(bytes);
    UOp a = buffer_of(bytes);
    void* memory = data(a);
    std::memset(memory, 0xff, bytes);
    a = UOp();
    UOp b = buffer_of(bytes, Fill::zeros);
    REQUIRE(data(b) == memory);
    const auto* p = static_cast<const unsigned char*>(data(b));
    CHECK(std::all_of(p, p + bytes, [](unsigned char c) { return c == 0; }));
  }
}

TEST_CASE("the pool holds at most its cap, freeing the blocks released longest ago", "[runtime][buffer]") {
  PoolCap cap(10 * mib);
  UOp a = buffer_of(3 * mib), b = buffer_of(4 * mib), c = buffer_of(5 * mib), too_big = buffer_of(11 * mib);
  a = UOp();
  b = UOp();
  CHECK(pooled_bytes() == 7 * mib);
  c = UOp(); // 12 MiB would be over the cap: a, released first, goes
  CHECK(pooled_bytes() == 9 * mib);
  too_big = UOp(); // larger than the cap: freed at once
  CHECK(pooled_bytes() == 9 * mib);
  UOp fresh = buffer_of(3 * mib); // a's size: no longer pooled
  CHECK(pooled_bytes() == 9 * mib);
  UOp reused = buffer_of(4 * mib); // b's
  CHECK(pooled_bytes() == 5 * mib);
  set_buffer_pool_cap(4 * mib); // lowering the cap frees what is over it
  CHECK(pooled_bytes() == 0);
}

TEST_CASE("a cap of 0 turns the pool off, and blocks under 1 MiB are never pooled", "[runtime][buffer]") {
  {
    PoolCap cap(0);
    UOp a = buffer_of(4 * mib);
    a = UOp();
    CHECK(pooled_bytes() == 0);
  }
  PoolCap cap(64 * mib);
  UOp small = buffer_of(mib / 2);
  small = UOp();
  CHECK(pooled_bytes() == 0);
}
