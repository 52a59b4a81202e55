// RDNA3 (gfx1100, wave32) code objects, in-process through LLVM 19's AMDGPU target: assembly text to a relocatable
// ELF object (the MC assembler, as llvm-mc does), LLVM IR to an object (LLVM's own codegen, the trusted code the
// emulator is checked against), and an object to the one kernel the emulator runs: its code and the fields of its
// 64-byte kernel descriptor. No subprocess, no linker: the descriptor's one relocation is applied here.
#pragma once
#include <cstdint>
#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/Error.h>
#include <string>
#include <vector>

namespace llvm {
class Target;
}

namespace patgrad::runtime::rdna3 {

inline constexpr const char* triple = "amdgcn-amd-amdhsa";
inline constexpr const char* cpu = "gfx1100";

// The AMDGPU target, its MC layer, assembler, disassembler and codegen initialized once per process.
const llvm::Target& amdgpu_target();

// gfx1100 assembly (with `.amdhsa_kernel` and `.amdgpu_metadata`) to a relocatable ELF object. An assembly error
// comes back as `kernel.s:LINE:COL: error: ...` with the source line and a caret.
llvm::Expected<std::vector<char>> assemble(llvm::StringRef asm_text);

// LLVM IR text (an `amdgpu_kernel`) to a relocatable gfx1100 ELF object, codegen at O2 as llc -O2 does.
llvm::Expected<std::vector<char>> compile_ir(llvm::StringRef ir_text);

// One kernel of an object: its machine code and what its descriptor says about launching it.
struct CodeObject {
  std::string name;
  std::vector<uint8_t> code;     // from the kernel's entry to the end of its section; decoded as it runs
  uint32_t kernarg_size = 0;     // bytes of kernel arguments
  uint32_t lds_size = 0;         // group_segment_fixed_size: LDS bytes per workgroup
  uint32_t private_size = 0;     // private_segment_fixed_size: scratch bytes per lane (the emulator has none)
  uint32_t rsrc1 = 0, rsrc2 = 0; // COMPUTE_PGM_RSRC1/2
  uint16_t properties = 0;       // kernel_code_properties: which user SGPRs, wave32
  uint32_t vgpr_count = 0;       // VGPRs allocated per lane (rsrc1's granule, 8 in wave32)
  uint32_t user_sgpr_count = 0;  // rsrc2 USER_SGPR_COUNT: the workgroup ids follow these
};

// The kernel `name` of an ELF object, relocatable (its R_AMDGPU_REL64 entry offset applied) or linked. A truncated
// or foreign file, a missing kernel or a bad descriptor is an error naming what is wrong.
llvm::Expected<CodeObject> load(llvm::ArrayRef<char> object, llvm::StringRef name);

} // namespace patgrad::runtime::rdna3
