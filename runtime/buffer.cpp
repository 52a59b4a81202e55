// Buffers, owned by id. The id lives in BUFFER nodes' args; the intern table tells us when the last one dies. Then
// the memory goes to a pool, by byte size, for the next buffer of that size: a big output realized again and again
// (each step of a training loop, each run of a benchmark) then costs neither the first-touch page faults of fresh
// pages nor a memset. Like the intern table, whose reference counts are not atomic, the buffers and the pool belong to
// the one thread that builds and realizes graphs; kernels running on parallel_for's threads only read and write
// memory, so nothing here is locked.
#include "runtime/cpu_internal.h"
#include "runtime/target.h"
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <map>
#include <sys/mman.h>
#include <unistd.h>

namespace patgrad::runtime {
namespace {

// Buffers this large are mapped rather than taken from malloc: the pages come zeroed and are touched only when a
// kernel writes them (no memset of gigabytes first), and a request that cannot be had fails with ENOMEM instead of
// aborting in a sanitizer's allocator. They are mapped in whole huge pages (2 MiB) and the kernel is asked to back
// them so (MADV_HUGEPAGE; transparent huge pages are on "madvise" on Debian): first touching 64 MiB then costs about
// 4 ms instead of 250 (measured here), which is most of a training step's first run. Rounding wastes at most a third.
constexpr size_t map_threshold = size_t(4) << 20;
constexpr size_t huge_page = size_t(2) << 20;

size_t mapped_size(size_t bytes) { return (bytes + huge_page - 1) / huge_page * huge_page; }

// Smaller blocks go back to malloc, whose free lists reuse them without page faults; pooling them would only fill
// the pool with many small blocks.
constexpr size_t pool_min = size_t(1) << 20;

// The bytes behind a buffer: at least one element, rounded up to the 64-byte alignment; empty past size_t.
std::optional<size_t> byte_size(DType dtype, int64_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(size_t(std::max<int64_t>(size, 1)), size_t(std::max(1, uops::bits(dtype) / 8)), &bytes) ||
      bytes > SIZE_MAX - 63)
    return std::nullopt;
  return (bytes + 63) / 64 * 64;
}

// Fresh memory. Mapped pages come zeroed; malloc's are cleared only when asked.
void* allocate(size_t bytes, Fill fill) {
  if (bytes >= map_threshold) { // a mapping of one more huge page, trimmed to start and end on huge pages
    size_t size = mapped_size(bytes);
    void* p = mmap(nullptr, size + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    auto start = reinterpret_cast<uintptr_t>(p), aligned = (start + huge_page - 1) / huge_page * huge_page;
    if (aligned > start) munmap(p, aligned - start);
    if (size_t tail = start + huge_page - aligned) munmap(reinterpret_cast<void*>(aligned + size), tail);
    madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE); // advice: a refusal leaves small pages
    return reinterpret_cast<void*>(aligned);
  }
  void* p = std::aligned_alloc(64, bytes);
  if (p && fill == Fill::zeros) std::memset(p, 0, bytes);
  return p;
}

void deallocate(void* data, size_t bytes) {
  bytes >= map_threshold ? void(munmap(data, mapped_size(bytes))) : std::free(data);
}

// PATGRAD_BUFFER_POOL in MiB (0: no pool), else a sixteenth of the machine's memory and at least 256 MiB: enough for
// the outputs a training step or a benchmark frees and asks for again, little enough that memory held idle stays a
// small share of the machine (an allocation that fails empties the pool and tries again, besides).
size_t pool_cap_from_env() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t ram = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
  return megabytes_from_env("PATGRAD_BUFFER_POOL", std::max(size_t(256) << 20, ram / 16) >> 20);
}

// Freed blocks by byte size, at most `cap` bytes of them; past that, the blocks released longest ago are freed.
class Pool {
public:
  ~Pool() { trim(0); }

  // A block of exactly `bytes`, the most recently released (its pages likeliest in cache), or null.
  void* take(size_t bytes) {
    auto [first, last] = blocks.equal_range(bytes); // equal keys keep their insertion order
    if (first == last) return nullptr;
    auto it = std::prev(last);
    void* data = it->second.data;
    blocks.erase(it);
    held -= bytes;
    return data;
  }

  // Keeps the block, or frees it when it is too small to pool or larger than the cap.
  void put(void* data, size_t bytes) {
    if (bytes < pool_min || bytes > cap) return deallocate(data, bytes);
    trim(cap - bytes);
    blocks.emplace(bytes, Block{data, releases++});
    held += bytes;
  }

  // Frees the oldest blocks until at most `to` bytes are held.
  void trim(size_t to) {
    while (held > to) {
      auto oldest = std::min_element(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
        return a.second.released < b.second.released;
      });
      deallocate(oldest->second.data, oldest->first);
      held -= oldest->first;
      blocks.erase(oldest);
    }
  }

  size_t held = 0;
  size_t cap = pool_cap_from_env();

private:
  struct Block {
    void* data;
    uint64_t released; // order of release: the smallest is the oldest
  };
  std::multimap<size_t, Block> blocks;
  uint64_t releases = 0;
};

struct Table {
  llvm::DenseMap<int64_t, Buffer> buffers;
  int64_t next_id = 1;
  Pool pool;
  Table() { uops::set_buffer_release_hook(release); }
  static void release(int64_t id);
};

Table& table() {
  static Table t;
  return t;
}

void Table::release(int64_t id) {
  auto it = table().buffers.find(id);
  if (it == table().buffers.end()) return;
  const Buffer& b = it->second;
  table().pool.put(b.data, *byte_size(b.dtype, b.size)); // it was allocated
  table().buffers.erase(it);
}

// A pooled block of the size, cleared if asked, else fresh memory; when that cannot be had, the pool's memory may be
// what is missing, so it is freed and the allocation tried once more.
void* pooled_or_fresh(size_t bytes, Fill fill) {
  Pool& pool = table().pool;
  if (void* data = pool.take(bytes)) return fill == Fill::zeros ? std::memset(data, 0, bytes) : data;
  if (void* data = allocate(bytes, fill)) return data;
  if (pool.held == 0) return nullptr;
  pool.trim(0);
  return allocate(bytes, fill);
}

} // namespace

llvm::Expected<UOp> allocate_buffer(DType dtype, int64_t size, Fill fill) {
  std::optional<size_t> bytes = byte_size(dtype, size);
  void* data = bytes ? pooled_or_fresh(*bytes, fill) : nullptr;
  if (!data) {
    __int128 wanted = __int128(size) * std::max(1, uops::bits(dtype) / 8);
    return llvm::createStringError(fmt::format("cannot allocate {} bytes ({:.1f} GiB) for {} elements of {}",
                                               uops::format_wide(wanted), double(wanted) / double(1 << 30), size,
                                               uops::name(dtype)));
  }
  Table& t = table();
  int64_t id = t.next_id++;
  t.buffers[id] = Buffer{dtype, size, data};
  return UOp::make(uops::Op::BUFFER, dtype, {}, uops::Ints{id, size});
}

UOp new_buffer(DType dtype, int64_t size) {
  llvm::Expected<UOp> b = allocate_buffer(dtype, size, Fill::any);
  if (!b) llvm::report_fatal_error(b.takeError());
  return std::move(*b);
}

Buffer& buffer(const UOp& node) { return table().buffers.find(std::get<uops::Ints>(node->arg)[0])->second; }

int64_t next_buffer_id() { return table().next_id; }

size_t live_buffers() { return table().buffers.size(); }

size_t pooled_bytes() { return table().pool.held; }

size_t buffer_pool_cap() { return table().pool.cap; }

void set_buffer_pool_cap(size_t bytes) {
  Pool& pool = table().pool;
  pool.cap = bytes;
  pool.trim(bytes);
}

} // namespace patgrad::runtime
