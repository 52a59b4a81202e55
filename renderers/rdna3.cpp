// The RDNA3 frame and names: values are virtual registers (target_rdna3.pat says which class each gets), constants
// literals; the render rdna3 rules give every node's instructions, rdna3_registers.cpp allocates them, and this file
// writes the code object's assembly around them: the kernel symbol, its descriptor (.amdhsa_kernel) and metadata.
#include "renderers/rdna3.h"
#include <bit>
#include <fmt/format.h>
#include <functional>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::renderers::rdna3 {
namespace {

using uops::DType;
using uops::Op;
using uops::UOp;

llvm::Error error(const std::string& message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "RDNA3: " + message);
}

// A constant as an instruction's literal: f32 by its bits, integers (index included) when they fit 32 bits.
llvm::Expected<std::string> literal(const UOp& c) {
  DType d = c->dtype;
  uops::Value v = c->value();
  if (uops::is_bool(d)) return std::string(v.i ? "1" : "0");
  if (d == DType::f32) return fmt::format("0x{:08x}", std::bit_cast<uint32_t>(float(v.f)));
  if (d == DType::f64) return fmt::format("0x{:016x}", std::bit_cast<uint64_t>(v.f)); // as halves: 0x...lo, 0x...hi
  if (uops::is_int(d) && uops::bits(d) == 64 && d != DType::index) // written as halves: 123.lo, 123.hi
    return uops::format_wide(uops::as_wide(d, v));
  if (uops::is_int(d)) {
    __int128 w = uops::as_wide(d, v);
    if (w < INT32_MIN || w > UINT32_MAX)
      return error(fmt::format("the constant {} of {} does not fit 32 bits", uops::format_wide(w), uops::name(d)));
    return uops::format_wide(w);
  }
  return error(fmt::format("no literal for a constant of {}", uops::name(d)));
}

std::string frame(const std::string& name, const Allocated& a, int64_t buffers) {
  std::string body;
  for (const std::string& line : a.lines) body += (llvm::StringRef(line).ends_with(":") ? "" : "  ") + line + "\n";
  std::string args;
  for (int64_t i = 0; i < buffers; i++)
    args +=
        fmt::format("      - {{ .offset: {}, .size: 8, .value_kind: global_buffer, .address_space: global }}\n", 8 * i);
  return fmt::format(R"(.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
.text
.globl {0}
.p2align 8
.type {0},@function
{0}:
{1}  s_endpgm
.L{0}_end:
  .size {0}, .L{0}_end-{0}

.rodata
.p2align 6
.amdhsa_kernel {0}
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_user_sgpr_count 15
  .amdhsa_system_sgpr_workgroup_id_x 1
  .amdhsa_system_vgpr_workitem_id 0
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size {2}
  .amdhsa_next_free_vgpr {3}
  .amdhsa_next_free_sgpr {4}
  .amdhsa_float_denorm_mode_32 3
  .amdhsa_float_denorm_mode_16_64 3
.end_amdhsa_kernel

.amdgpu_metadata
---
amdhsa.version: [ 1, 2 ]
amdhsa.target: amdgcn-amd-amdhsa--gfx1100
amdhsa.kernels:
  - .name: {0}
    .symbol: {0}.kd
    .kernarg_segment_size: {2}
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: {4}
    .vgpr_count: {3}
    .max_flat_workgroup_size: {5}
    .args:
{6}...
.end_amdgpu_metadata
)",
                     name, body, 8 * buffers, a.vgprs, a.sgprs, workgroup_size, args);
}

} // namespace

llvm::Expected<std::string> render(const std::vector<UOp>& program, const std::string& name,
                                   const rewriter::Library& lib, const rewriter::Group& group) {
  llvm::DenseMap<const uops::Node*, std::string> names;
  llvm::Error failed = llvm::Error::success();
  std::function<std::string(const UOp&)> name_of = [&](const UOp& u) -> std::string {
    if (u->op == Op::CONST) {
      auto text = literal(u);
      if (text) return *text;
      failed = llvm::joinErrors(std::move(failed), text.takeError());
      return "0";
    }
    if (u->op == Op::AFTER) return name_of(u->src[0]); // an accumulator's value is its register
    auto it = names.find(u.get());
    if (it != names.end()) return it->second;
    bool wide = u->dtype == DType::i64 || u->dtype == DType::u64 || u->dtype == DType::f64;
    char cls = u->op == Op::DEFINE_GLOBAL ? 'S' : u->op == Op::RANGE || u->op == Op::STORE ? 's' : wide ? 'V' : 'v';
    return names.insert({u.get(), fmt::format("%{}{}", cls, names.size())}).first->second;
  };
  std::vector<std::string> lines;
  int64_t buffers = 0;
  for (const UOp& u : program) {
    if (u->op == Op::CONST) continue;
    if (u->op == Op::DEFINE_GLOBAL) buffers = std::max(buffers, std::get<int64_t>(u->arg) + 1);
    auto text = rewriter::render(lib, group, u, name_of);
    if (!text)
      return error(fmt::format("no instruction for {} of {} ({})", uops::op_info(u->op).name, uops::name(u->dtype),
                               uops::sexpr(u)));
    for (llvm::StringRef rest = *text; !rest.empty();) {
      auto [line, next] = rest.split('\n');
      if (!line.trim().empty()) lines.push_back(line.trim().str());
      rest = next;
    }
  }
  if (failed) return failed;
  auto allocated = allocate(lines);
  if (!allocated) return allocated.takeError();
  return frame(name, *allocated, buffers);
}

} // namespace patgrad::renderers::rdna3
