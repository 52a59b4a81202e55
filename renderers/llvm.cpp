// The LLVM IR frame and names: values are %v0, %v1, ... (a template derives its helper names and block labels from
// them with a suffix), constants are written inline as literals, the thread loop's bounds are the parameters %start
// and %end. Everything else, loops and memory included, is a `render llvm` rule of patterns/target_cpu.pat.
#include "renderers/rdna3.h"
#include "renderers/renderers.h"
#include <bit>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::renderers {
namespace {

using uops::DType;
using uops::Op;
using uops::UOp;

std::string literal(const UOp& c) {
  DType d = c->dtype;
  uops::Value v = c->value();
  if (uops::is_bool(d)) return v.i ? "true" : "false";
  if (!uops::is_float(d)) return uops::format_wide(uops::as_wide(d, v));
  if (d == DType::f16) return fmt::format("0xH{:04X}", uops::float_bits(d, v.f));
  if (d == DType::bf16) return fmt::format("0xR{:04X}", uops::float_bits(d, v.f));
  return fmt::format("0x{:016X}", std::bit_cast<uint64_t>(v.f)); // f32 and f64 constants are written as doubles
}

} // namespace

llvm::Expected<std::string> render_llvm(const std::vector<UOp>& program, const std::string& name,
                                        const rewriter::Library& lib, const rewriter::Group& group) {
  llvm::DenseMap<const uops::Node*, std::string> names;
  auto name_of = [&](const UOp& u) {
    if (u->op == Op::CONST) return literal(u);
    if (u->op == Op::DEFINE_VAR) return "%" + std::get<uops::Var>(u->arg).name;
    auto it = names.find(u.get());
    if (it == names.end()) it = names.insert({u.get(), fmt::format("%v{}", names.size())}).first;
    return it->second;
  };
  std::string body;
  for (const UOp& u : program) {
    if (u->op == Op::CONST || u->op == Op::DEFINE_VAR) continue;
    auto text = rewriter::render(lib, group, u, name_of);
    if (!text)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "no render %s rule for %s of %s (%s)",
                                     group.name.c_str(), std::string(uops::op_info(u->op).name).c_str(),
                                     std::string(uops::name(u->dtype)).c_str(), uops::sexpr(u).c_str());
    if (!text->empty()) body += "  " + *text + "\n";
  }
  return fmt::format("define void @{}(ptr noalias %bufs, i64 %start, i64 %end) {{\nentry:\n{}  ret void\n}}\n", name,
                     body);
}

llvm::Expected<std::string> render(const std::vector<UOp>& program, const std::string& name,
                                   const rewriter::Library& lib, const rewriter::Group& group) {
  if (group.name == "llvm") return render_llvm(program, name, lib, group);
  if (group.name == "rdna3") return rdna3::render(program, name, lib, group);
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "no renderer frames the render group '%s'",
                                 group.name.c_str());
}

} // namespace patgrad::renderers
