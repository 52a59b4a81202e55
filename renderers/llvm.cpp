// The LLVM IR renderer. Structure is written here: buffer pointers come from %bufs, loops and accumulators live in
// allocas (mem2reg at O2 turns them into SSA), loads and stores address elements with getelementptr. Every other
// node is one `render llvm` rule of patterns/render_llvm.pat. bool is i1 in registers and one byte in memory.
#include "lowering/lowering.h"
#include "renderers/renderers.h"
#include <bit>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::renderers {
namespace {

using uops::DType;
using uops::Node;
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

struct Renderer {
  Renderer(const rewriter::Library& lib, const rewriter::Group& rules) : lib(lib), rules(rules) {}
  const rewriter::Library& lib;
  const rewriter::Group& rules;
  std::string entry, body;
  llvm::DenseMap<const Node*, std::string> names;
  int next = 0;
  llvm::DenseMap<const Node*, const Node*> acc_of; // REDUCE -> its accumulator
  const Node* outer = nullptr;                     // the outermost output loop: it runs over [start, end)

  std::string ty(DType d) {
    const auto& m = lib.typemaps.at("llvm");
    return m.at(d);
  }
  std::string mem_ty(DType d) { return uops::is_bool(d) ? "i8" : ty(d); }

  // The name of a source at this point: constants inline, accumulators read now.
  std::string use(const UOp& u) {
    if (u->op == Op::CONST) return literal(u);
    if (u->op == Op::DEFINE_ACC) {
      std::string t = fmt::format("%t{}", next++);
      body += fmt::format("  {} = load {}, ptr {}\n", t, ty(u->dtype), names[u.get()]);
      return t;
    }
    return names.at(u.get());
  }

  llvm::Error node(const UOp& u) {
    std::string self = fmt::format("%v{}", next++);
    names[u.get()] = self;
    switch (u->op) {
    case Op::CONST: names[u.get()] = literal(u); return llvm::Error::success();
    case Op::DEFINE_GLOBAL: {
      int64_t k = std::get<int64_t>(u->arg);
      entry += fmt::format("  {0}.p = getelementptr ptr, ptr %bufs, i64 {1}\n  {0} = load ptr, ptr {0}.p\n", self, k);
      return llvm::Error::success();
    }
    case Op::RANGE: {
      bool outer = u.get() == this->outer;
      entry += fmt::format("  {}.a = alloca i64\n", self);
      body += fmt::format("  store i64 {}, ptr {}.a\n  br label %{}.cond\n{}.cond:\n", outer ? "%start" : "0", self,
                          self.substr(1), self.substr(1));
      body += fmt::format("  {0} = load i64, ptr {0}.a\n  {0}.c = icmp slt i64 {0}, {1}\n"
                          "  br i1 {0}.c, label %{2}.body, label %{2}.exit\n{2}.body:\n",
                          self, outer ? "%end" : use(u->src[0]), self.substr(1));
      return llvm::Error::success();
    }
    case Op::ENDRANGE: {
      std::string r = names.at(u->src[0].get());
      body += fmt::format("  {0}.n = add i64 {0}, 1\n  store i64 {0}.n, ptr {0}.a\n  br label %{1}.cond\n{1}.exit:\n",
                          r, r.substr(1));
      return llvm::Error::success();
    }
    case Op::DEFINE_ACC:
      entry += fmt::format("  {} = alloca {}\n", self, ty(u->dtype));
      body += fmt::format("  store {} {}, ptr {}\n", ty(u->dtype), use(u->src[0]), self);
      return llvm::Error::success();
    case Op::ASSIGN:
      body += fmt::format("  store {} {}, ptr {}\n", ty(u->src[1]->dtype), use(u->src[1]), names.at(u->src[0].get()));
      return llvm::Error::success();
    case Op::REDUCE: {
      auto acc = acc_of.find(u.get());
      if (acc == acc_of.end())
        return llvm::createStringError(llvm::inconvertibleErrorCode(), "a REDUCE without its accumulator's loop");
      body += fmt::format("  {} = load {}, ptr {}\n", self, ty(u->dtype), names.at(acc->second));
      return llvm::Error::success();
    }
    case Op::LOAD: return load(u, self);
    case Op::STORE: {
      DType d = u->src[2]->dtype;
      std::string v = use(u->src[2]);
      body +=
          fmt::format("  {}.p = getelementptr {}, ptr {}, i64 {}\n", self, mem_ty(d), use(u->src[0]), use(u->src[1]));
      if (uops::is_bool(d)) {
        body += fmt::format("  {0}.b = zext i1 {1} to i8\n", self, v);
        v = self + ".b";
      }
      body += fmt::format("  store {} {}, ptr {}.p\n", mem_ty(d), v, self);
      return llvm::Error::success();
    }
    default: break;
    }
    std::string pre;
    auto text = rewriter::render(lib, rules, u, [&](const UOp& s) { return s.get() == u.get() ? self : use(s); });
    if (!text)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "no render llvm rule for %s of %s (%s)",
                                     std::string(uops::op_info(u->op).name).c_str(),
                                     std::string(uops::name(u->dtype)).c_str(), uops::sexpr(u).c_str());
    body += "  " + *text + "\n";
    return llvm::Error::success();
  }

  // A gated load reads element 0 where the gate is false (buffers hold at least one element) and yields 0 there.
  llvm::Error load(const UOp& u, const std::string& self) {
    DType d = u->dtype;
    std::string idx = use(u->src[1]);
    bool gated = u->src.size() == 3;
    if (gated) {
      body += fmt::format("  {}.i = select i1 {}, i64 {}, i64 0\n", self, use(u->src[2]), idx);
      idx = self + ".i";
    }
    body += fmt::format("  {0}.p = getelementptr {1}, ptr {2}, i64 {3}\n  {0}.m = load {1}, ptr {0}.p\n", self,
                        mem_ty(d), use(u->src[0]), idx);
    std::string v = self + ".m";
    if (uops::is_bool(d)) {
      body += fmt::format("  {0}.t = icmp ne i8 {1}, 0\n", self, v);
      v = self + ".t";
    }
    std::string zero = uops::is_bool(d)    ? "false"
                       : uops::is_float(d) ? literal(UOp::constant(d, uops::float_value(d, 0)))
                                           : "0";
    if (gated)
      body += fmt::format("  {} = select i1 {}, {} {}, {} {}\n", self, use(u->src[2]), ty(d), v, ty(d), zero);
    else
      names[u.get()] = v;
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<std::string> render_llvm(const std::vector<UOp>& program, const std::string& name,
                                        const rewriter::Library& lib) {
  const rewriter::Group* rules = lib.group("llvm");
  if (!rules || !lib.typemaps.count("llvm"))
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the pattern library has no `render llvm` group");
  Renderer r(lib, *rules);
  if (!program.empty() && program[0]->op == Op::RANGE) r.outer = program[0].get(); // linearize opens it first
  r.acc_of = lowering::accumulators(program);
  for (const UOp& u : program)
    if (auto e = r.node(u)) return e;
  return fmt::format("define void @{}(ptr noalias %bufs, i64 %start, i64 %end) {{\nentry:\n{}  br label "
                     "%body\nbody:\n{}  ret void\n}}\n",
                     name, r.entry, r.body);
}

} // namespace patgrad::renderers
