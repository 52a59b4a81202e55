// The checker's results: what a rule builds (nodes, constants, choose(), hooks, spliced lists of nodes), its `where`
// bindings and the dtypes they can have; for render rules, the text template's placeholders.
#include "rewriter/internal.h"
#include <fmt/format.h>
#include <map>

namespace patgrad::rewriter {
namespace {

using uops::op_info;

} // namespace

Build RuleChecker::result(const AstExpr* e) {
  Build b;
  b.loc = e->loc;
  if (auto lit = literal(e)) {
    b.kind = Build::CONST;
    if (e->kind == AstExpr::TRUE_ || e->kind == AstExpr::FALSE_) b.dtype = DType::bool_;
    b.value_expr = value(e);
    return b;
  }
  switch (e->kind) {
  case AstExpr::NAME:
    b.kind = Build::CAPTURE;
    if ((b.slot = slot_of(e->text, Slot::NODE)) >= 0) uses[b.slot]++;
    else unbound(e->loc, e->text, fmt::format("capture '{}' is not bound by the pattern", e->text));
    return b;
  case AstExpr::TYPED: error(e->loc, "a dtype constraint belongs in the pattern; write CAST<dtype>(x) to convert"); return b;
  case AstExpr::NODE: return node_result(e);
  case AstExpr::BINARY: {
    auto op = infix_op(e->text);
    if (!op) {
      error(e->loc, fmt::format("'{}' is a guard operator; it cannot build a node", e->text));
      return b;
    }
    b.kind = Build::NODE;
    b.op = *op;
    b.src.push_back(result(e->kids[0]));
    b.src.push_back(result(e->kids[1]));
    if (e->text == ">" || e->text == ">=") std::swap(b.src[0], b.src[1]);
    return b;
  }
  case AstExpr::UNARY:
    if (e->text == "!") {
      error(e->loc, "'!' is a guard operator; write x ^ true to negate a bool node");
      return b;
    }
    b.kind = Build::NODE;
    b.op = Op::NEG;
    b.src.push_back(result(e->kids[0]));
    return b;
  case AstExpr::CALL:
    if (int slot = slot_of(e->text, Slot::NODE); slot >= 0) {
      b.kind = Build::NODE;
      b.op_of_slot = b.dtype_of_slot = slot;
      uses[slot]++;
      if (e->ty) result_dtype(*e->ty, b); // op<f32>(x): the captured node's op, another dtype
      for (const AstExpr* k : e->kids) b.src.push_back(source(k));
      return b;
    }
    if (is_node_list_builtin(e->text)) {
      error(e->loc, fmt::format("{}() is a list of nodes: splice it into a node's sources with ...{}(...)", e->text, e->text));
      return b;
    }
    if (e->text == "all" || e->text == "sum" || e->text == "product" || e->text == "maximum" || e->text == "flatten" ||
        e->text == "subst" ||
        e->text == "var")
      return builtin_result(e);
    if (e->text != "choose") {
      error(e->loc, fmt::format("unknown result function '{}': expected choose, all, sum, product, maximum, flatten, subst, var, an op "
                                "or cpp::hook", e->text));
      return b;
    }
    if (e->kids.size() != 3) {
      error(e->loc, fmt::format("choose takes 3 arguments, not {}", e->kids.size()));
      return b;
    }
    b.kind = Build::CHOOSE;
    b.value_expr = value(e->kids[0]);
    b.src.push_back(result(e->kids[1]));
    b.src.push_back(result(e->kids[2]));
    return b;
  case AstExpr::CPP: return hook_result(e);
  case AstExpr::STRING: error(e->loc, "a string result belongs in a render group"); return b;
  case AstExpr::BIND: error(e->loc, "a result cannot name a node; names are bound in the pattern"); return b;
  case AstExpr::FIELD: error(e->loc, "a field is a guard value; write CONST[x.vmin] to build a constant"); return b;
  case AstExpr::TUPLE: error(e->loc, "a tuple is an arg: write it inside a node's [...]"); return b;
  default: error(e->loc, "unexpected expression in a result"); return b;
  }
}

void RuleChecker::result_dtype(const TySpec& ty, Build& b) {
  b.dtype_of_slot = -1;
  auto d = uops::parse_dtype(ty.cls);
  if (d && ty.var.empty()) b.dtype = *d;
  else if (auto it = dtype_vars.find(ty.var.empty() ? ty.cls : ty.var); it != dtype_vars.end()) b.dtype_var = it->second;
  else if (int slot = ty.var.empty() ? slot_of(ty.cls, Slot::NODE) : -1; slot >= 0) b.dtype_of_slot = slot, uses[slot]++;
  else error(ty.loc, fmt::format("a result needs one dtype, a dtype variable of the pattern or a capture (whose "
                                 "dtype it takes), not '{}'", ty.cls));
}

Build RuleChecker::node_result(const AstExpr* e) {
  Build b;
  b.loc = e->loc;
  b.kind = Build::NODE;
  auto ops = resolve_ops(e->opnames);
  if (ops && ops->count() != 1) error(e->loc, "a result builds one op, not a set of ops");
  if (ops && ops->count() == 1)
    for (int i = 0; i < uops::num_ops; i++)
      if (ops->test(i)) b.op = Op(i);
  if (e->ty) result_dtype(*e->ty, b);
  if (b.op == Op::CONST) {
    b.kind = Build::CONST;
    if (!e->argb) error(e->loc, "CONST in a result needs its value: CONST[expr]");
    else b.value_expr = value(e->argb);
    return b;
  }
  bool splices = false;
  for (const AstExpr* k : e->kids) {
    splices |= k->kind == AstExpr::ELLIPSIS;
    b.src.push_back(source(k));
  }
  if (ops && ops->count() == 1 && !splices) check_arity(*ops, b.src.size(), false, e->loc);
  if (e->argb) b.value_expr = value(e->argb);
  if (op_info(b.op).typing == uops::Typing::CONVERT && !b.dtype && b.dtype_var < 0)
    error(e->loc, fmt::format("{} needs its dtype: {}<f32>(x)", op_info(b.op).name, op_info(b.op).name));
  return b;
}

// One source of a node being built: a node, or a list spliced in with `...`.
Build RuleChecker::source(const AstExpr* k) {
  if (k->kind != AstExpr::ELLIPSIS) return result(k);
  return k->kids.empty() ? captured_list(k->text, k->loc) : node_list(k->kids[0]);
}

// ...rest in a result: the sources the pattern captured
Build RuleChecker::captured_list(const std::string& name, const Loc& loc) {
  Build s;
  s.kind = Build::SPLICE;
  s.loc = loc;
  if ((s.slot = slot_of(name, Slot::LIST)) >= 0) uses[s.slot]++;
  else unbound(loc, name, fmt::format("'...{}' is not a source list bound by the pattern", name));
  return s;
}

// A list of nodes: a captured list's name, a capture (a list of one), (r, ...rs), ranges(x) or without(a, b).
Build RuleChecker::node_list(const AstExpr* e) {
  Build s;
  s.kind = Build::SPLICE;
  s.loc = e->loc;
  if (e->kind == AstExpr::NAME && slot_of(e->text, Slot::NODE) >= 0) {
    s.list = Build::NODES;
    s.src.push_back(result(e));
    return s;
  }
  if (e->kind == AstExpr::NAME) return captured_list(e->text, e->loc);
  if (e->kind == AstExpr::ELLIPSIS) {
    error(e->loc, "a list argument is written without '...': without(rs, ranges(x))");
    return s;
  }
  if (e->kind == AstExpr::TUPLE) {
    s.list = Build::NODES;
    for (const AstExpr* k : e->kids) {
      if (k->kind == AstExpr::ELLIPSIS) s.src.push_back(k->kids.empty() ? captured_list(k->text, k->loc) : node_list(k->kids[0]));
      else if (k->kind == AstExpr::NAME && slot_of(k->text, Slot::NODE) >= 0) s.src.push_back(result(k));
      else error(k->loc, "a list of nodes holds captures and ...lists: (r, ...rs)");
    }
    return s;
  }
  if (e->kind == AstExpr::EACH) return each(e);
  static const std::map<std::string, size_t> arities = {{"ranges", 1}, {"without", 2},  {"fresh_ranges", 1},
                                                        {"pick", 2},   {"put", 3},      {"unflatten", 2}};
  auto arity_of = e->kind == AstExpr::CALL ? arities.find(e->text) : arities.end();
  if (arity_of == arities.end()) {
    error(e->loc, "expected a list of nodes: a source list's name, (r, ...rs), [x for x in l], ranges(x), "
                  "without(a, b), fresh_ranges(sizes), pick(l, at), put(l, at, m) or unflatten(i, shape)");
    return s;
  }
  size_t arity = arity_of->second;
  if (e->kids.size() != arity) {
    error(e->loc, fmt::format("{} takes {} argument{}, not {}", e->text, arity, arity == 1 ? "" : "s", e->kids.size()));
    return s;
  }
  if (e->text == "without") {
    s.list = Build::WITHOUT;
    s.src.push_back(node_list(e->kids[0]));
    s.src.push_back(node_list(e->kids[1]));
    return s;
  }
  auto ints = [&](const AstExpr* k) {
    auto v = value(k);
    if (v->kind == Expr::BINARY && uops::op_info(v->op).typing == uops::Typing::CMP)
      error(k->loc, fmt::format("{} takes an integer list here, not a comparison", e->text));
    return v;
  };
  if (e->text == "fresh_ranges") {
    s.list = Build::NEW_RANGES;
    s.value_expr = ints(e->kids[0]);
    s.ival = scope.counters.try_emplace("range", int(scope.counters.size())).first->second;
    return s;
  }
  if (e->text == "pick" || e->text == "put") {
    s.list = e->text == "pick" ? Build::PICK : Build::PUT;
    s.src.push_back(node_list(e->kids[0]));
    s.value_expr = ints(e->kids[1]);
    if (e->text == "put") s.src.push_back(node_list(e->kids[2]));
    return s;
  }
  if (e->text == "unflatten") {
    s.list = Build::UNFLATTEN;
    s.src.push_back(result(e->kids[0]));
    s.value_expr = ints(e->kids[1]);
    return s;
  }
  s.list = Build::RANGES;
  const AstExpr* x = e->kids[0];
  if (x->kind == AstExpr::NAME && (s.slot = slot_of(x->text, Slot::NODE)) >= 0) uses[s.slot]++;
  else if (x->kind == AstExpr::NAME) unbound(x->loc, x->text, fmt::format("capture '{}' is not bound by the pattern", x->text));
  else error(x->loc, "ranges takes a capture or a binding: ranges(x)");
  return s;
}

// [body for a, b in la, lb]: the names are bound, one element of each list at a time, while the body is checked;
// they are not visible after it. An integer list's elements are index CONSTs.
Build RuleChecker::each(const AstExpr* e) {
  Build s;
  s.kind = Build::SPLICE;
  s.list = Build::EACH;
  s.loc = e->loc;
  s.src.emplace_back(); // the body, checked once the names are bound
  for (size_t i = 1; i < e->kids.size(); i++) s.src.push_back(list_operand(e->kids[i]));
  if (e->opnames.size() != e->kids.size() - 1) {
    error(e->loc, fmt::format("{} names for {} lists: write one name per list", e->opnames.size(), e->kids.size() - 1));
    return s;
  }
  for (size_t i = 0; i < e->opnames.size(); i++) {
    const auto& [name, loc] = e->opnames[i];
    if (slots.count(name)) {
      error(loc, fmt::format("'{}' is already a name of this rule", name));
      return s;
    }
    int slot = new_slot(name, loc);
    slot_is_binding[slot] = true;
    uses[slot]++;
    if (s.src[i + 1].list == Build::INTS) slot_dtypes[slot] = uops::bit(DType::index);
    s.vars.push_back(slot);
  }
  s.src[0] = result(e->kids[0]);
  for (const auto& [name, loc] : e->opnames) slots.erase(name); // the slots stay: only the names go out of scope
  return s;
}

// A list that [... for ... in l] walks: a list of nodes, or an integer list (x.shape, evens(n.arg)), whose elements
// are index CONSTs.
Build RuleChecker::list_operand(const AstExpr* e) {
  bool nodes = e->kind == AstExpr::TUPLE || e->kind == AstExpr::EACH ||
               (e->kind == AstExpr::NAME && (slot_of(e->text, Slot::LIST) >= 0 || pending.count(e->text))) ||
               (e->kind == AstExpr::CALL && is_node_list_builtin(e->text) && e->text != "pick");
  // pick() gives nodes from a list of nodes, integers from an integer list
  if (e->kind == AstExpr::CALL && e->text == "pick" && !e->kids.empty())
    nodes = e->kids[0]->kind == AstExpr::NAME && slot_of(e->kids[0]->text, Slot::LIST) >= 0;
  if (nodes) return node_list(e);
  Build s;
  s.kind = Build::SPLICE;
  s.list = Build::INTS;
  s.loc = e->loc;
  s.value_expr = value(e);
  return s;
}

// all(...), sum(...), product(...), maximum(...), flatten(idx, shape), subst(x, a, b)
Build RuleChecker::builtin_result(const AstExpr* e) {
  Build b;
  b.loc = e->loc;
  if (e->text == "all" || e->text == "sum" || e->text == "product" || e->text == "maximum") {
    b.kind = Build::FOLD;
    b.op = e->text == "all" ? Op::AND : e->text == "sum" ? Op::ADD : e->text == "product" ? Op::MUL : Op::MAX;
    if (e->text == "all") b.dtype = DType::bool_; // sum() has its elements' dtype
    for (const AstExpr* k : e->kids) b.src.push_back(source(k));
    return b;
  }
  size_t arity = e->text == "flatten" ? 2 : 3;
  if (e->kids.size() != arity) {
    error(e->loc, fmt::format("{} takes {} arguments, not {}", e->text, arity, e->kids.size()));
    return b;
  }
  if (e->text == "var") {
    b.kind = Build::VAR;
    b.dtype = DType::index;
    if (e->kids[0]->kind != AstExpr::STRING) error(e->kids[0]->loc, "var takes a name first: var(\"start\", 0, n)");
    b.text = e->kids[0]->text;
    for (int i = 1; i < 3; i++) {
      Build bound;
      bound.kind = Build::CONST;
      bound.loc = e->kids[i]->loc;
      bound.dtype = DType::index;
      bound.value_expr = value(e->kids[i]);
      b.src.push_back(std::move(bound));
    }
    return b;
  }
  if (e->text == "flatten") {
    b.kind = Build::FLATTEN;
    b.dtype = DType::index;
    b.src.push_back(node_list(e->kids[0]));
    b.value_expr = value(e->kids[1]);
    return b;
  }
  b.kind = Build::SUBST;
  for (const AstExpr* k : e->kids) b.src.push_back(result(k));
  return b;
}

// where name = build
void RuleChecker::binding(const AstBinding& w) {
  if (w.value->kind == AstExpr::EACH || (w.value->kind == AstExpr::CALL && is_node_list_builtin(w.value->text))) {
    Build b = node_list(w.value);
    pending.erase(w.name);
    if (slots.count(w.name)) {
      error(w.loc, fmt::format("'{}' is already a name of this rule", w.name));
      return;
    }
    int s = new_slot(w.name, w.loc, Slot::LIST);
    slot_is_binding[s] = true;
    uses[s]++;
    rule.bindings.push_back({s, std::move(b)});
    return;
  }
  Build b = result(w.value);
  pending.erase(w.name);
  if (auto it = slots.find(w.name); it != slots.end()) {
    error(w.loc, slot_is_binding[it->second] ? fmt::format("binding '{}' is defined twice", w.name)
                                             : fmt::format("binding '{}' has the name of a capture", w.name));
    return;
  }
  if (b.kind == Build::CONST && !b.dtype && b.dtype_var < 0)
    error(w.value->loc, "a bound constant needs its dtype: CONST<t>[...]");
  int s = new_slot(w.name, w.loc);
  slot_is_binding[s] = true;
  uses[s]++;
  slot_dtypes[s] = build_dtypes(b);
  rule.bindings.push_back({s, std::move(b)});
}

Build RuleChecker::hook_result(const AstExpr* e) {
  Build b;
  b.loc = e->loc;
  b.kind = Build::HOOK;
  rule.uses_hook = true;
  auto it = scope.hooks.find(e->text);
  if (it == scope.hooks.end()) {
    error(e->loc, fmt::format("unknown hook '{}': declare it with `hook {}(...);`", e->text, e->text));
    return b;
  }
  b.hook = it->second.first;
  int arity = hooks()[b.hook].arity;
  if (int(e->kids.size()) != arity)
    error(e->loc, fmt::format("hook {} takes {} argument{}, not {}", e->text, arity, arity == 1 ? "" : "s", e->kids.size()));
  for (const AstExpr* k : e->kids) b.src.push_back(result(k));
  return b;
}

DTypeSet RuleChecker::build_dtypes(const Build& b) {
  switch (b.kind) {
  case Build::CAPTURE: return b.slot >= 0 ? slot_dtypes[b.slot] : ~DTypeSet(0);
  case Build::CONST: return b.dtype ? uops::bit(*b.dtype) : ~DTypeSet(0);
  case Build::CHOOSE: return build_dtypes(b.src[0]) | build_dtypes(b.src[1]);
  case Build::HOOK: case Build::SPLICE: return ~DTypeSet(0);
  case Build::FOLD: return b.dtype ? uops::bit(*b.dtype) : ~DTypeSet(0);
  case Build::FLATTEN: case Build::VAR: return uops::bit(*b.dtype);
  case Build::SUBST: return build_dtypes(b.src[0]);
  case Build::NODE: {
    if (b.dtype) return uops::bit(*b.dtype);
    if (b.dtype_of_slot >= 0) return slot_dtypes[b.dtype_of_slot];
    std::vector<DTypeSet> srcs;
    for (const Build& s : b.src) srcs.push_back(build_dtypes(s));
    OpMask m;
    m.set(int(b.op));
    return op_result_dtypes(m, srcs);
  }
  }
  return ~DTypeSet(0);
}

// ---- render templates: {self}, {name}, {ty}, {ty(name)}, {label(name)}, {arg}; {{ and }} are literal braces

void RuleChecker::check_template(const std::string& text, const Loc& loc) {
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == '}' && i + 1 < text.size() && text[i + 1] == '}') i++;
    if (text[i] != '{') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      i++;
      continue;
    }
    size_t end = text.find('}', i);
    Loc at{loc.file, loc.line, loc.col + 1 + int(i)};
    if (end == std::string::npos) {
      error(at, "unclosed '{' in template");
      return;
    }
    std::string name = text.substr(i + 1, end - i - 1);
    if (name.starts_with("tm:")) { // {tm:map} or {tm:map(x)}: the dtype's spelling in another typemap
      size_t paren = name.find('(');
      name = paren == std::string::npos ? "ty" : "ty" + name.substr(paren);
    }
    if (name.starts_with("ty(") && name.ends_with(")")) name = name.substr(3, name.size() - 4);
    else if (name.starts_with("label(") && name.ends_with(")")) name = name.substr(6, name.size() - 7);
    if (name != "self" && name != "ty" && name != "arg") {
      auto it = slots.find(name);
      if (it == slots.end()) error(at, fmt::format("unknown placeholder '{{{}}}': expected self, ty, ty(x), label(x), arg, tm:map, tm:map(x) or a capture", name));
      else uses[it->second]++;
    }
    i = end;
  }
}

} // namespace patgrad::rewriter
