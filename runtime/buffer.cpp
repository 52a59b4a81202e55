// Buffers, owned by id. The id lives in BUFFER nodes' args; the intern table tells us when the last one dies.
#include "runtime/device.h"
#include <cstdlib>
#include <cstring>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::runtime {
namespace {

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
  std::free(it->second.data);
  table().buffers.erase(it);
}

} // namespace

UOp new_buffer(DType dtype, int64_t size) {
  Table& t = table();
  int64_t id = t.next_id++;
  size_t bytes = std::max<size_t>(1, size_t(std::max<int64_t>(size, 1)) * std::max(1, uops::bits(dtype) / 8));
  bytes = (bytes + 63) / 64 * 64;
  void* data = std::aligned_alloc(64, bytes);
  if (!data) llvm::report_fatal_error("patgrad: out of memory allocating a buffer");
  std::memset(data, 0, bytes);
  t.buffers[id] = Buffer{dtype, size, data};
  return UOp::make(uops::Op::BUFFER, dtype, {}, uops::Ints{id, size});
}

Buffer& buffer(const UOp& node) { return table().buffers.find(std::get<uops::Ints>(node->arg)[0])->second; }

size_t live_buffers() { return table().buffers.size(); }

} // namespace patgrad::runtime
