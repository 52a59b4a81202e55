// Buffers, owned by id. The id lives in BUFFER nodes' args; the intern table tells us when the last one dies.
#include "runtime/target.h"
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <sys/mman.h>

namespace patgrad::runtime {
namespace {

// Buffers this large are mapped rather than taken from malloc: the pages come zeroed and are touched only when a
// kernel writes them (no memset of gigabytes first), and a request that cannot be had fails with ENOMEM instead of
// aborting in a sanitizer's allocator. glibc maps chunks past 32 MiB itself, so small buffers keep its reuse.
constexpr size_t map_threshold = size_t(64) << 20;

// The bytes behind a buffer: at least one element, rounded up to the 64-byte alignment; empty past size_t.
std::optional<size_t> byte_size(DType dtype, int64_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(size_t(std::max<int64_t>(size, 1)), size_t(std::max(1, uops::bits(dtype) / 8)), &bytes) ||
      bytes > SIZE_MAX - 63)
    return std::nullopt;
  return (bytes + 63) / 64 * 64;
}

void* allocate(size_t bytes) {
  if (bytes >= map_threshold) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void* p = std::aligned_alloc(64, bytes);
  if (p) std::memset(p, 0, bytes);
  return p;
}

struct Table {
  llvm::DenseMap<int64_t, Buffer> buffers;
  int64_t next_id = 1;
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
  size_t bytes = *byte_size(b.dtype, b.size); // it was allocated
  bytes >= map_threshold ? void(munmap(b.data, bytes)) : std::free(b.data);
  table().buffers.erase(it);
}

} // namespace

llvm::Expected<UOp> allocate_buffer(DType dtype, int64_t size) {
  std::optional<size_t> bytes = byte_size(dtype, size);
  void* data = bytes ? allocate(*bytes) : nullptr;
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
  llvm::Expected<UOp> b = allocate_buffer(dtype, size);
  if (!b) llvm::report_fatal_error(b.takeError());
  return std::move(*b);
}

Buffer& buffer(const UOp& node) { return table().buffers.find(std::get<uops::Ints>(node->arg)[0])->second; }

size_t live_buffers() { return table().buffers.size(); }

} // namespace patgrad::runtime
