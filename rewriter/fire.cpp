// Firing a matched rule: its guard, then its `where` bindings, then its result, built as new nodes.
#include "rewriter/internal.h"

namespace patgrad::rewriter {
namespace {

// Builds a result; `want` is the dtype the context expects, if it knows one.
struct Builder {
  const Rule& rule;
  Bindings& b;
  PassContext& ctx;

  std::optional<DType> static_dtype(const Build& x) {
    switch (x.kind) {
    case Build::CAPTURE: return b.nodes[x.slot]->dtype;
    case Build::CONST: return given(x);
    case Build::NODE: {
      if (auto d = given(x)) return d;
      auto typing = uops::op_info(x.op_of_slot >= 0 ? b.nodes[x.op_of_slot]->op : x.op).typing;
      if (typing == uops::Typing::CMP) return DType::bool_;
      for (size_t i = typing == uops::Typing::SELECT ? 1 : 0; i < x.src.size(); i++)
        if (auto d = static_dtype(x.src[i])) return d;
      return std::nullopt;
    }
    default: return std::nullopt;
    }
  }

  std::optional<DType> given(const Build& x) {
    if (x.dtype) return x.dtype;
    if (x.dtype_of_slot >= 0) return b.nodes[x.dtype_of_slot]->dtype;
    if (x.dtype_var >= 0) return b.dtypes[x.dtype_var];
    return std::nullopt;
  }

  std::optional<UOp> operator()(const Build& x, std::optional<DType> want) {
    switch (x.kind) {
    case Build::CAPTURE: return b.nodes[x.slot];
    case Build::CONST: {
      std::optional<DType> d = given(x) ? given(x) : want;
      auto v = evaluate(*x.value_expr, b, &ctx);
      if (!d || !v || !is_number(*v)) return std::nullopt;
      if (uops::is_float(*d)) return UOp::constant(*d, uops::float_value(*d, uops::is_float(v->dtype) ? v->v.f : double(wide(*v))));
      if (uops::is_float(v->dtype)) return std::nullopt;
      return UOp::constant(*d, wide(*v));
    }
    case Build::CHOOSE: {
      auto g = evaluate(*x.value_expr, b, &ctx);
      if (!g || !is_number(*g)) return std::nullopt;
      return (*this)(x.src[truthy(*g) ? 0 : 1], want);
    }
    case Build::HOOK: {
      llvm::SmallVector<UOp, 4> args;
      for (const Build& s : x.src) {
        auto a = (*this)(s, std::nullopt);
        if (!a) return std::nullopt;
        args.push_back(*a);
      }
      return hooks()[x.hook].fn(args);
    }
    case Build::SPLICE: return std::nullopt; // only inside a node's sources
    case Build::NODE: return node(x, want);
    }
    return std::nullopt;
  }

  std::vector<UOp> list(const Build& s) {
    switch (s.list) {
    case Build::CAPTURED: return b.lists[s.slot];
    case Build::RANGES: return ctx.ranges(b.nodes[s.slot]);
    case Build::WITHOUT: {
      std::vector<UOp> out = list(s.src[0]), minus = list(s.src[1]);
      llvm::erase_if(out, [&](const UOp& u) { return llvm::is_contained(minus, u); });
      return out;
    }
    case Build::NODES: {
      std::vector<UOp> out;
      for (const Build& e : s.src) {
        if (e.kind == Build::SPLICE) llvm::append_range(out, list(e));
        else out.push_back(b.nodes[e.slot]); // a capture: the checker allows nothing else
      }
      return out;
    }
    }
    return {};
  }

  std::optional<UOp> node(const Build& x, std::optional<DType> want) {
    Op op = x.op_of_slot >= 0 ? b.nodes[x.op_of_slot]->op : x.op;
    auto typing = uops::op_info(op).typing;
    std::optional<DType> d = given(x);
    std::optional<DType> operand; // what the sources should be, for constants among them
    switch (typing) {
    case uops::Typing::CMP:
      d = DType::bool_;
      for (const Build& s : x.src)
        if (!operand) operand = static_dtype(s);
      break;
    case uops::Typing::SAME: case uops::Typing::SELECT:
      if (!d) d = want;
      if (!d) d = static_dtype(x);
      operand = d;
      break;
    default: // leaves and FREE ops (TUPLE, NOGRAD): void unless the rule gives a dtype
      if (!d) d = DType::void_;
      break;
    }
    llvm::SmallVector<UOp, 4> src;
    for (size_t i = 0; i < x.src.size(); i++) {
      const Build& s = x.src[i];
      if (s.kind == Build::SPLICE) {
        std::vector<UOp> l = list(s);
        src.append(l.begin(), l.end());
        continue;
      }
      auto w = typing == uops::Typing::SELECT && i == 0 ? std::optional(DType::bool_) : operand;
      auto u = (*this)(s, w);
      if (!u) return std::nullopt;
      src.push_back(*u);
    }
    if (!d) return std::nullopt;
    uops::Arg arg;
    if (x.value_expr) {
      auto v = evaluate(*x.value_expr, b, &ctx);
      if (!v || v->is_dtype) return std::nullopt;
      if (v->list) arg = *v->list;
      else if (v->op) arg = int64_t(*v->op); // REDUCE[ADD]
      else arg = int64_t(wide(*v));
    }
    // a rule whose result would be malformed does not fire (the fuzzer reports rules that never fire)
    if (!uops::invalid_reason(op, *d, src, arg).empty()) return std::nullopt;
    return UOp::make(op, *d, src, std::move(arg));
  }
};

} // namespace

std::optional<UOp> fire(const Rule& rule, Bindings& b, DType root, PassContext& ctx) {
  if (rule.guard) {
    auto g = evaluate(*rule.guard, b, &ctx);
    if (!g || !is_number(*g) || !truthy(*g)) return std::nullopt;
  }
  Builder build{rule, b, ctx};
  for (const Binding& w : rule.bindings) { // each once, before the result that shares it
    auto u = build(w.build, std::nullopt);
    if (!u) return std::nullopt;
    b.nodes[w.slot] = *u;
  }
  return build(rule.result, root);
}

std::optional<UOp> apply_rule(const Rule& rule, const UOp& node) {
  PassContext ctx;
  for (const Pat& p : commuted_variants(rule.pattern)) {
    Bindings b(rule);
    if (!match(p, node, b)) continue;
    if (auto r = fire(rule, b, node->dtype, ctx)) return r;
  }
  return std::nullopt;
}

} // namespace patgrad::rewriter
