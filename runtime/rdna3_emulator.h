// A functional emulator of RDNA3 (gfx1100) wave32 kernels, the semantic gate for generated GPU code on machines
// without an AMD GPU. It runs a CodeObject's workgroups one after another and a workgroup's waves in turn up to each
// s_barrier; global memory is host memory, so a kernel argument that points at a buffer is the buffer's host address.
// It checks what hardware does not: memory outside the registered buffers, reading a register whose load was not
// waited for (s_waitcnt), and the VALU-reads-transcendental-result hazard; each is an error naming the instruction.
// Instructions are decoded by LLVM's AMDGPU disassembler, once per run; an instruction it does not model is an error.
#pragma once
#include "runtime/rdna3_code_object.h"
#include <cstring>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Support/MathExtras.h>
#include <type_traits>

namespace patgrad::runtime::rdna3 {

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
};

// Kernel arguments in the kernarg segment's layout: each value at the next multiple of its size (pointers at 8).
class Kernargs {
public:
  template <class T>
  Kernargs& add(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes.resize(llvm::alignTo(bytes.size(), alignof(T)));
    size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &value, sizeof(T));
    return *this;
  }
  llvm::ArrayRef<char> data() const { return bytes; }

private:
  llvm::SmallVector<char, 64> bytes;
};

// Host memory the kernel may read and write; any other address is an error.
struct Buffer {
  const void* data;
  size_t bytes;
};

struct Launch {
  Dim3 grid;                               // workgroups in x, y, z
  Dim3 block;                              // workitems per workgroup in x, y, z
  llvm::ArrayRef<char> kernargs;           // copied; the kernel reads them through s[0:1]
  llvm::ArrayRef<Buffer> buffers;          // what the pointers in kernargs may reach
  uint64_t instruction_limit = 50'000'000; // wave-instructions in all, so a runaway loop ends in an error
};

// Wave-instructions executed, by the unit that executes them: the input of a later cost model.
struct Counters {
  uint64_t valu = 0;    // vector ALU, dual-issue (VOPD) counted once
  uint64_t salu = 0;    // scalar ALU
  uint64_t smem = 0;    // scalar loads
  uint64_t vmem = 0;    // global loads and stores
  uint64_t lds = 0;     // LDS loads and stores
  uint64_t control = 0; // branches, waits, barriers, nops and hints
  uint64_t total() const { return valu + salu + smem + vmem + lds + control; }
};

llvm::Expected<Counters> run(const CodeObject& kernel, const Launch& launch);

} // namespace patgrad::runtime::rdna3
