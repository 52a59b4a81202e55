// The RDNA3 renderer's parts (rdna3.cpp frames the kernel; rdna3_registers.cpp allocates its registers).
#pragma once
#include "renderers/renderers.h"

namespace patgrad::renderers::rdna3 {

// Lines of assembly over virtual registers to the same over physical ones, with s_waitcnt vmcnt(0) before the first
// line that touches a register a global load writes, and before every label and branch. Errors: more registers than
// the hardware has.
struct Allocated {
  std::vector<std::string> lines;
  int vgprs = 1, sgprs = 16; // the next free of each: what the kernel descriptor declares
};
llvm::Expected<Allocated> allocate(const std::vector<std::string>& lines);

// The kernel as gfx1100 assembly for runtime/rdna3_code_object.h's assembler (the renderer of the group "rdna3").
llvm::Expected<std::string> render(const std::vector<uops::UOp>& program, const std::string& name,
                                   const rewriter::Library& lib, const rewriter::Group& group);

// The workgroup size: one wave. The SPECIAL of gpu_dims (target_rdna3.pat) computes workgroup id * 32 + lane id.
inline constexpr int64_t workgroup_size = 32;

} // namespace patgrad::renderers::rdna3
