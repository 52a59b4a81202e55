// Devices: buffers in memory and kernels that run on them. CPU compiles kernels to machine code with LLVM; INTERP runs
// the same linear programs with the op table's reference semantics: slow, simple, the oracle. Both keep buffers in
// host memory, so a tensor moves between them without a copy.
#pragma once
#include "lowering/lowering.h"

namespace patgrad::runtime {

using uops::DType;
using uops::UOp;

enum class Device { CPU, INTERP };
// DEV=CPU or DEV=INTERP (default CPU); an unknown name is an error.
llvm::Expected<Device> default_device();
llvm::Expected<Device> parse_device(std::string_view name);
const char* device_name(Device d);

// buffer.cpp: memory behind BUFFER nodes. A buffer is freed when the last BUFFER node naming it is.
struct Buffer {
  DType dtype;
  int64_t size; // elements
  void* data;   // at least one element, 64-byte aligned, zeroed
};
// A BUFFER node of a fresh buffer, or an error naming the size when the memory cannot be had.
llvm::Expected<UOp> allocate_buffer(DType dtype, int64_t size);
UOp new_buffer(DType dtype, int64_t size); // the same, for tests and tools: running out of memory is fatal
Buffer& buffer(const UOp& buffer_node);
size_t live_buffers();

// run.cpp: runs a schedule's kernels in order on a device.
struct RunStats {
  double schedule_ms = 0, compile_ms = 0, run_ms = 0;
  int64_t kernels = 0;
};
llvm::Error run(const lowering::Schedule& s, Device dev, RunStats* stats = nullptr);

// interp.cpp: one kernel's linear program over its buffers, with uops::eval.
llvm::Error interpret(const std::vector<UOp>& program, llvm::ArrayRef<Buffer*> buffers);

} // namespace patgrad::runtime
