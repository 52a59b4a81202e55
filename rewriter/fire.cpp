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
    case Build::CHOOSE: {
      auto d = static_dtype(x.src[0]);
      return d ? d : static_dtype(x.src[1]);
    }
    case Build::FOLD: case Build::FLATTEN: case Build::VAR: return x.dtype; // sum(): known once built
    case Build::SUBST: return static_dtype(x.src[0]);
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
      if (!want) want = static_dtype(x); // choose(c, 0, i): the literal takes i's dtype
      return (*this)(x.src[truthy(*g) ? 0 : 1], want);
    }
    case Build::FOLD: {
      std::vector<UOp> items;
      for (const Build& s : x.src) {
        if (s.kind == Build::SPLICE) {
          auto l = list(s);
          if (!l) return std::nullopt;
          llvm::append_range(items, *l);
        } else if (auto u = (*this)(s, x.dtype)) {
          items.push_back(*u);
        } else {
          return std::nullopt;
        }
      }
      if (items.empty() && x.op == Op::MAX) return std::nullopt; // no identity: the rule does not fire
      if (items.empty()) return UOp::constant(x.dtype.value_or(DType::index), x.op == Op::AND || x.op == Op::MUL ? 1 : 0);
      UOp acc = items[0];
      for (size_t i = 1; i < items.size(); i++) {
        if (items[i]->dtype != acc->dtype) return std::nullopt;
        acc = UOp::alu(x.op, {acc, items[i]});
      }
      return acc;
    }
    case Build::FLATTEN: {
      auto idx = list(x.src[0]);
      auto shape = evaluate(*x.value_expr, b, &ctx);
      if (!idx || !shape || !shape->list || shape->list->size() != idx->size()) return std::nullopt;
      return flatten(*idx, *shape->list);
    }
    case Build::VAR: {
      auto lo = (*this)(x.src[0], DType::index), hi = (*this)(x.src[1], DType::index);
      if (!lo || !hi) return std::nullopt;
      int64_t min = int64_t((*lo)->value().i), max = int64_t((*hi)->value().i);
      if (min > max) return std::nullopt;
      return UOp::var(x.text, min, max);
    }
    case Build::SUBST: {
      auto in = (*this)(x.src[0], want), from = (*this)(x.src[1], std::nullopt), to = (*this)(x.src[2], std::nullopt);
      if (!in || !from || !to || (*from)->dtype != (*to)->dtype) return std::nullopt;
      return uops::substitute(*in, [&](const uops::Node* n) { return n == from->get() ? *to : UOp(); });
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

  // Row-major: the offset of idx in shape (size-1 axes add nothing), and back.
  static UOp flatten(llvm::ArrayRef<UOp> idx, llvm::ArrayRef<int64_t> shape) {
    UOp flat = UOp::constant(DType::index, 0);
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] != 1) flat = UOp::alu(Op::ADD, {flat, UOp::alu(Op::MUL, {idx[i], UOp::constant(DType::index, stride)})});
      stride *= shape[i];
    }
    return flat;
  }
  static std::vector<UOp> unflatten(const UOp& flat, llvm::ArrayRef<int64_t> shape) {
    std::vector<UOp> idx(shape.size());
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      idx[i] = shape[i] == 1 ? UOp::constant(DType::index, 0)
                             : UOp::alu(Op::MOD, {UOp::alu(Op::IDIV, {flat, UOp::constant(DType::index, stride)}),
                                                  UOp::constant(DType::index, shape[i])});
      stride *= shape[i];
    }
    return idx;
  }

  std::optional<uops::Ints> ints(const Build& s) {
    auto v = evaluate(*s.value_expr, b, &ctx);
    if (!v || !v->list) return std::nullopt;
    return *v->list;
  }

  // A list of nodes, or nothing where the rule does not apply (lists of different lengths, a position outside one).
  std::optional<std::vector<UOp>> list(const Build& s) {
    switch (s.list) {
    case Build::CAPTURED: return b.lists[s.slot];
    case Build::RANGES: return ctx.ranges(b.nodes[s.slot]);
    case Build::WITHOUT: {
      auto out = list(s.src[0]), minus = list(s.src[1]);
      if (!out || !minus) return std::nullopt;
      llvm::erase_if(*out, [&](const UOp& u) { return llvm::is_contained(*minus, u); });
      return out;
    }
    case Build::NODES: {
      std::vector<UOp> out;
      for (const Build& e : s.src) {
        if (e.kind != Build::SPLICE) {
          out.push_back(b.nodes[e.slot]); // a capture: the checker allows nothing else
          continue;
        }
        auto l = list(e);
        if (!l) return std::nullopt;
        llvm::append_range(out, *l);
      }
      return out;
    }
    case Build::EACH: {
      std::vector<std::vector<UOp>> lists;
      for (size_t i = 1; i < s.src.size(); i++) {
        auto l = list(s.src[i]);
        if (!l || (!lists.empty() && l->size() != lists[0].size())) return std::nullopt;
        lists.push_back(std::move(*l));
      }
      std::vector<UOp> out;
      for (size_t j = 0; !lists.empty() && j < lists[0].size(); j++) {
        for (size_t k = 0; k < lists.size(); k++) b.nodes[s.vars[k]] = lists[k][j];
        auto u = (*this)(s.src[0], std::nullopt);
        if (!u) return std::nullopt;
        out.push_back(*u);
      }
      return out;
    }
    case Build::INTS: case Build::NEW_RANGES: {
      auto l = ints(s);
      if (!l) return std::nullopt;
      std::vector<UOp> out;
      for (int64_t v : *l) {
        UOp c = UOp::constant(DType::index, v);
        out.push_back(s.list == Build::INTS ? c : UOp::make(Op::RANGE, DType::index, {c}, ctx.fresh(int(s.ival))));
      }
      return out;
    }
    case Build::PICK: case Build::PUT: {
      auto from = list(s.src[0]);
      auto at = ints(s);
      if (!from || !at) return std::nullopt;
      std::optional<std::vector<UOp>> put;
      if (s.list == Build::PUT && (!(put = list(s.src[1])) || put->size() != at->size())) return std::nullopt;
      std::vector<UOp> out = s.list == Build::PUT ? *from : std::vector<UOp>{};
      for (size_t i = 0; i < at->size(); i++) {
        int64_t k = (*at)[i];
        if (k < 0 || size_t(k) >= from->size()) return std::nullopt;
        if (put) out[k] = (*put)[i];
        else out.push_back((*from)[k]);
      }
      return out;
    }
    case Build::UNFLATTEN: {
      auto flat = (*this)(s.src[0], DType::index);
      auto shape = ints(s);
      if (!flat || !shape || (*flat)->dtype != DType::index) return std::nullopt;
      return unflatten(*flat, *shape);
    }
    }
    return std::nullopt;
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
        auto l = list(s);
        if (!l) return std::nullopt;
        src.append(l->begin(), l->end());
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
    if (w.build.kind == Build::SPLICE) {
      auto l = build.list(w.build);
      if (!l) return std::nullopt;
      b.lists[w.slot] = std::move(*l);
      continue;
    }
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
