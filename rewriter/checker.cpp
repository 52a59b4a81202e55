// The checker: turns one parsed rule into a Rule, resolving every name, and reports what is wrong with it (unknown
// names, arity, captures unbound or unused, a result of another dtype, bad template placeholders). It keeps going
// after an error so that one mistake does not hide the next.
#include "rewriter/internal.h"
#include <fmt/format.h>

namespace patgrad::rewriter {
namespace {

using uops::op_info;

std::string dtype_set_str(DTypeSet s) {
  std::string out;
  for (int i = 0; i < uops::num_dtypes; i++)
    if (s & uops::bit(DType(i))) out += (out.empty() ? "" : ", ") + std::string(uops::name(DType(i)));
  return "{" + out + "}";
}

// What a dtype a node can have, given its op and its sources' possible dtypes.
DTypeSet op_result_dtypes(const OpMask& ops, const std::vector<DTypeSet>& srcs) {
  if (ops.none()) return ~DTypeSet(0);
  DTypeSet out = 0;
  for (int i = 0; i < uops::num_ops; i++) {
    if (!ops.test(i)) continue;
    const uops::OpInfo& info = op_info(Op(i));
    DTypeSet s = info.operands;
    switch (info.typing) {
    case uops::Typing::CMP: out |= uops::BOOL; continue;
    case uops::Typing::SAME:
      for (DTypeSet d : srcs) s &= d;
      break;
    case uops::Typing::SELECT:
      for (size_t k = 1; k < srcs.size(); k++) s &= srcs[k];
      break;
    case uops::Typing::LEAF: s = Op(i) == Op::SINK ? uops::bit(DType::void_) : info.operands; break;
    case uops::Typing::CONVERT: case uops::Typing::FREE: s = uops::ALL; break;
    }
    out |= s;
  }
  return out;
}

struct RuleChecker {
  const Scope& scope;
  Diagnostics& diags;
  Rule& rule;
  bool render;
  bool ok = true;
  llvm::StringMap<int> slots;
  std::vector<int> uses;            // per slot: occurrences in pattern, guard and result
  std::vector<DTypeSet> slot_dtypes; // per slot: what the pattern allows
  std::vector<bool> slot_is_list;
  llvm::StringMap<int> dtype_vars;
  DTypeSet all_dtypes = 0; // every dtype some pattern value can have: the rule's domain

  void error(const Loc& loc, const std::string& message) {
    diags.error(loc, message);
    ok = false;
  }

  int new_slot(const std::string& name, bool list = false) {
    int s = int(rule.slot_names.size());
    slots[name] = s;
    rule.slot_names.push_back(name);
    uses.push_back(0);
    slot_dtypes.push_back(~DTypeSet(0));
    slot_is_list.push_back(list);
    return s;
  }

  std::optional<DTypeSet> resolve_dtypes(const std::string& name) {
    if (auto d = uops::parse_dtype(name)) return uops::bit(*d);
    if (auto it = scope.dtype_classes.find(name); it != scope.dtype_classes.end()) return it->second;
    return std::nullopt;
  }

  int dtype_var(const std::string& name) {
    auto [it, fresh] = dtype_vars.try_emplace(name, int(dtype_vars.size()));
    if (!fresh) rule.nonlinear = true;
    return it->second;
  }

  // <ints>, <f32>, <t>, <t:ints>: constrains set and may bind a dtype variable. A lone name that is neither a dtype
  // nor a class is a dtype variable only if it is one letter, so that a typo is an error and not a silent variable.
  void apply_ty(const TySpec& ty, DTypeSet& set, int& var) {
    if (!ty.var.empty()) var = dtype_var(ty.var);
    if (auto s = resolve_dtypes(ty.cls)) set &= *s;
    else if (ty.var.empty() && ty.cls.size() == 1) var = dtype_var(ty.cls);
    else error(ty.loc, fmt::format("unknown dtype or dtype class '{}'", ty.cls));
  }

  std::optional<OpMask> resolve_ops(const std::vector<std::pair<std::string, Loc>>& names) {
    OpMask m;
    bool good = true;
    for (auto& [n, loc] : names) {
      if (auto op = uops::parse_op(n)) m.set(int(*op));
      else if (auto it = scope.opsets.find(n); it != scope.opsets.end()) m |= it->second;
      else error(loc, fmt::format("unknown op or op set '{}'", n)), good = false;
    }
    if (!good) return std::nullopt;
    return m;
  }

  static std::optional<Op> infix_op(const std::string& sym) {
    if (sym == ">") return Op::CMPLT;
    if (sym == ">=") return Op::CMPLE;
    return uops::op_for_infix(sym);
  }

  // A literal, possibly negated: `3`, `-1`, `2.5`, `-0.0`, `true`.
  static std::optional<std::pair<uops::Value, bool>> literal(const AstExpr* e) {
    if (e->kind == AstExpr::UNARY && e->text == "-") {
      auto v = literal(e->kids[0]);
      if (!v || e->kids[0]->kind == AstExpr::TRUE_ || e->kids[0]->kind == AstExpr::FALSE_) return std::nullopt;
      return std::pair{uops::Value{-v->first.i, -v->first.f}, v->second};
    }
    switch (e->kind) {
    case AstExpr::INT: return std::pair{uops::Value{e->ival, double(e->ival)}, false};
    case AstExpr::FLOAT: return std::pair{uops::Value{0, e->fval}, true};
    case AstExpr::TRUE_: return std::pair{uops::Value{1, 1}, false};
    case AstExpr::FALSE_: return std::pair{uops::Value{0, 0}, false};
    default: return std::nullopt;
    }
  }

  void check_arity(const OpMask& ops, size_t n, bool rest, const Loc& loc) {
    for (int i = 0; i < uops::num_ops; i++) {
      if (!ops.test(i)) continue;
      int a = op_info(Op(i)).arity;
      if (a >= 0 && (rest ? int(n) > a : int(n) != a)) {
        error(loc, fmt::format("{} takes {} source{}, not {}", op_info(Op(i)).name, a, a == 1 ? "" : "s", n));
        return;
      }
    }
  }

  // ---- patterns

  Pat pattern(const AstExpr* e) {
    Pat p;
    p.loc = e->loc;
    if (auto lit = literal(e)) {
      p.ops.set(int(Op::CONST));
      p.literal = lit->first;
      p.literal_is_float = lit->second;
      p.dtypes = lit->second ? uops::FLOAT : e->kind == AstExpr::TRUE_ || e->kind == AstExpr::FALSE_ ? uops::BOOL
                                                                                                      : uops::ALL;
      return finish(p);
    }
    switch (e->kind) {
    case AstExpr::NAME:
    case AstExpr::TYPED:
      if (e->ty) apply_ty(*e->ty, p.dtypes, p.dtype_var);
      if (e->text != "_") bind(p, e->text);
      return finish(p);
    case AstExpr::BIND: {
      p = pattern(e->kids[0]);
      if (p.slot >= 0) error(e->loc, fmt::format("'{}' names a node that is already named", e->text));
      else bind(p, e->text);
      slot_dtypes[p.slot] &= pat_dtypes(p);
      return p;
    }
    case AstExpr::NODE: return node_pattern(e);
    case AstExpr::BINARY: {
      auto op = infix_op(e->text);
      if (!op) {
        error(e->loc, fmt::format("'{}' is a guard operator; it cannot appear in a pattern", e->text));
        return p;
      }
      p.ops.set(int(*op));
      p.any_src = false;
      p.src.push_back(pattern(e->kids[0]));
      p.src.push_back(pattern(e->kids[1]));
      if (e->text == ">" || e->text == ">=") std::swap(p.src[0], p.src[1]);
      return finish(p);
    }
    case AstExpr::UNARY: error(e->loc, "unary operators cannot appear in a pattern: write NEG(x) or x * -1"); return p;
    case AstExpr::CALL: error(e->loc, fmt::format("function '{}' cannot appear in a pattern", e->text)); return p;
    case AstExpr::CPP: error(e->loc, "a hook can only compute a result"); return p;
    case AstExpr::STRING: error(e->loc, "a string cannot appear in a pattern"); return p;
    case AstExpr::FIELD: error(e->loc, "a field belongs in a guard, not in a pattern"); return p;
    case AstExpr::ELLIPSIS: error(e->loc, "'...' must be the last source of a node"); return p;
    default: error(e->loc, "unexpected expression in a pattern"); return p;
    }
  }

  void bind(Pat& p, const std::string& name) {
    if (auto it = slots.find(name); it != slots.end()) {
      if (slot_is_list[it->second]) error(p.loc, fmt::format("'{}' names a source list, not a node", name));
      p.slot = it->second;
      rule.nonlinear = true;
    } else p.slot = new_slot(name);
    uses[p.slot]++;
  }

  DTypeSet pat_dtypes(const Pat& p) {
    std::vector<DTypeSet> srcs;
    for (const Pat& s : p.src) srcs.push_back(pat_dtypes(s));
    DTypeSet out = p.dtypes & op_result_dtypes(p.ops, srcs);
    if (p.slot >= 0) out &= slot_dtypes[p.slot];
    return out;
  }

  Pat finish(Pat& p) {
    DTypeSet d = pat_dtypes(p);
    if (p.slot >= 0) slot_dtypes[p.slot] &= d;
    all_dtypes |= d;
    if (d == 0) error(p.loc, "no dtype satisfies this pattern's constraints");
    return p;
  }

  Pat node_pattern(const AstExpr* e) {
    Pat p;
    p.loc = e->loc;
    if (auto ops = resolve_ops(e->opnames)) p.ops = *ops;
    if (e->ty) apply_ty(*e->ty, p.dtypes, p.dtype_var);
    if (e->has_srcs) {
      p.any_src = false;
      for (size_t i = 0; i < e->kids.size(); i++) {
        const AstExpr* k = e->kids[i];
        if (k->kind != AstExpr::ELLIPSIS) {
          p.src.push_back(pattern(k));
          continue;
        }
        if (i + 1 != e->kids.size()) error(k->loc, "'...' must be the last source of a node");
        p.rest = k->text.empty() ? -2 : new_slot(k->text, true);
        if (p.rest >= 0) uses[p.rest]++;
      }
      check_arity(p.ops, p.src.size(), p.rest != -1, e->loc);
    }
    if (e->argb) {
      if (auto lit = literal(e->argb)) {
        if (p.ops != OpMask().set(int(Op::CONST))) error(e->argb->loc, "only CONST can match a literal arg");
        p.literal = lit->first;
        p.literal_is_float = lit->second;
      } else if (e->argb->kind == AstExpr::NAME && p.slot < 0) bind(p, e->argb->text);
      else error(e->argb->loc, "an arg in a pattern must be a literal or a new name");
    }
    return finish(p);
  }

  // ---- guards and computed values

  std::unique_ptr<Expr> value(const AstExpr* e) {
    auto x = std::make_unique<Expr>();
    x->loc = e->loc;
    if (auto lit = literal(e); lit && e->kind != AstExpr::TRUE_ && e->kind != AstExpr::FALSE_) {
      x->kind = lit->second ? Expr::FLOAT : Expr::INT;
      x->ival = lit->first.i;
      x->fval = lit->first.f;
      return x;
    }
    switch (e->kind) {
    case AstExpr::TRUE_: case AstExpr::FALSE_: x->kind = Expr::BOOL; x->ival = e->kind == AstExpr::TRUE_; return x;
    case AstExpr::NAME:
      if (auto it = slots.find(e->text); it != slots.end() && !slot_is_list[it->second]) {
        x->kind = Expr::CAPTURE;
        x->slot = it->second;
        uses[x->slot]++;
      } else if (auto d = uops::parse_dtype(e->text)) {
        x->kind = Expr::DTYPE;
        x->dtype = *d;
      } else error(e->loc, fmt::format("unknown capture '{}'", e->text));
      return x;
    case AstExpr::FIELD: {
      static const std::pair<const char*, Expr::Field> fields[] = {
          {"vmin", Expr::VMIN}, {"vmax", Expr::VMAX}, {"val", Expr::VAL}, {"dtype", Expr::DTYPE_OF}, {"op", Expr::OP_OF}};
      x->kind = Expr::FIELD;
      auto inner = value(e->kids[0]);
      if (inner->kind != Expr::CAPTURE) {
        error(e->kids[0]->loc, "a field needs a capture on its left");
        return x;
      }
      x->slot = inner->slot;
      bool known = false;
      for (auto& [n, f] : fields)
        if (e->text == n) x->field = f, known = true;
      if (!known) error(e->loc, fmt::format("unknown field '{}': expected vmin, vmax, val, dtype or op", e->text));
      return x;
    }
    case AstExpr::BINARY:
      if (e->text == "&&" || e->text == "||") x->kind = e->text == "&&" ? Expr::AND : Expr::OR;
      else {
        x->kind = Expr::BINARY;
        x->op = *infix_op(e->text);
      }
      x->kids.push_back(value(e->kids[0]));
      x->kids.push_back(value(e->kids[1]));
      if (e->text == ">" || e->text == ">=") std::swap(x->kids[0], x->kids[1]);
      return x;
    case AstExpr::UNARY:
      x->kind = Expr::UNARY;
      x->op = Op::NEG;
      x->logical_not = e->text == "!";
      x->kids.push_back(value(e->kids[0]));
      return x;
    case AstExpr::CALL: return call(e, std::move(x));
    case AstExpr::CPP: error(e->loc, "a hook can only compute a result, not a guard value"); return x;
    case AstExpr::NODE:
      if (e->opnames.size() == 1 && !e->has_srcs && !e->ty && !e->argb) {
        if (auto op = uops::parse_op(e->opnames[0].first)) {
          x->kind = Expr::OP;
          x->op = *op;
          return x;
        }
      }
      error(e->loc, "a node pattern cannot appear in a guard; write an op name alone to compare with x.op");
      return x;
    case AstExpr::STRING: error(e->loc, "a string cannot appear in a guard"); return x;
    default: error(e->loc, "unexpected expression in a guard"); return x;
    }
  }

  std::unique_ptr<Expr> call(const AstExpr* e, std::unique_ptr<Expr> x) {
    static const struct {
      const char* name;
      Expr::Builtin b;
      size_t arity;
    } builtins[] = {{"is_pow2", Expr::IS_POW2, 1}, {"log2", Expr::LOG2, 1},       {"gcd", Expr::GCD, 2},
                    {"defined", Expr::DEFINED, 3}, {"eval", Expr::EVAL, 3},       {"min", Expr::MIN, 2},
                    {"max", Expr::MAX, 2},         {"abs", Expr::ABS, 1},         {"is_const", Expr::IS_CONST, 1},
                    {"before", Expr::BEFORE, 2},   {"bits", Expr::BITS, 1}};
    x->kind = Expr::CALL;
    for (auto& b : builtins) {
      if (e->text != b.name) continue;
      x->builtin = b.b;
      if (e->kids.size() != b.arity) {
        error(e->loc, fmt::format("{} takes {} argument{}, not {}", b.name, b.arity, b.arity == 1 ? "" : "s",
                                  e->kids.size()));
        return x;
      }
      for (const AstExpr* k : e->kids) x->kids.push_back(value(k));
      if ((b.b == Expr::DEFINED || b.b == Expr::EVAL) && x->kids[0]->kind != Expr::CAPTURE)
        error(e->kids[0]->loc, fmt::format("the first argument of {} is a capture whose op it applies", b.name));
      if (b.b == Expr::IS_CONST || b.b == Expr::BEFORE || b.b == Expr::BITS)
        for (size_t i = 0; i < x->kids.size(); i++)
          if (x->kids[i]->kind != Expr::CAPTURE) error(e->kids[i]->loc, fmt::format("{} takes captures", b.name));
      return x;
    }
    error(e->loc, e->text == "choose" ? "choose() picks a result; it cannot appear in a guard"
                                      : fmt::format("unknown builtin '{}'", e->text));
    return x;
  }

  // ---- results

  Build result(const AstExpr* e) {
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
      if (auto it = slots.find(e->text); it != slots.end() && !slot_is_list[it->second]) {
        b.slot = it->second;
        uses[b.slot]++;
      } else error(e->loc, fmt::format("capture '{}' is not bound by the pattern", e->text));
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
      if (auto it = slots.find(e->text); it != slots.end() && !slot_is_list[it->second]) {
        b.kind = Build::NODE;
        b.op_of_slot = b.dtype_of_slot = it->second;
        uses[it->second]++;
        for (const AstExpr* k : e->kids) b.src.push_back(result(k));
        return b;
      }
      if (e->text != "choose") {
        error(e->loc, fmt::format("unknown result function '{}': expected choose, an op or cpp::hook", e->text));
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
    default: error(e->loc, "unexpected expression in a result"); return b;
    }
  }

  Build node_result(const AstExpr* e) {
    Build b;
    b.loc = e->loc;
    b.kind = Build::NODE;
    auto ops = resolve_ops(e->opnames);
    if (ops && ops->count() != 1) error(e->loc, "a result builds one op, not a set of ops");
    if (ops && ops->count() == 1)
      for (int i = 0; i < uops::num_ops; i++)
        if (ops->test(i)) b.op = Op(i);
    if (e->ty) {
      const TySpec& ty = *e->ty;
      auto d = uops::parse_dtype(ty.cls);
      if (d && ty.var.empty()) b.dtype = *d;
      else if (auto it = dtype_vars.find(ty.var.empty() ? ty.cls : ty.var); it != dtype_vars.end()) b.dtype_var = it->second;
      else error(ty.loc, fmt::format("a result needs one dtype or a dtype variable of the pattern, not '{}'", ty.cls));
    }
    if (b.op == Op::CONST) {
      b.kind = Build::CONST;
      if (!e->argb) error(e->loc, "CONST in a result needs its value: CONST[expr]");
      else b.value_expr = value(e->argb);
      return b;
    }
    bool splices = false;
    for (const AstExpr* k : e->kids) {
      if (k->kind != AstExpr::ELLIPSIS) {
        b.src.push_back(result(k));
        continue;
      }
      Build s;
      s.kind = Build::SPLICE;
      s.loc = k->loc;
      splices = true;
      if (auto it = slots.find(k->text); it != slots.end() && slot_is_list[it->second]) {
        s.slot = it->second;
        uses[s.slot]++;
      } else error(k->loc, fmt::format("'...{}' is not a source list bound by the pattern", k->text));
      b.src.push_back(std::move(s));
    }
    if (ops && ops->count() == 1 && !splices) check_arity(*ops, b.src.size(), false, e->loc);
    if (e->argb) b.value_expr = value(e->argb);
    if (op_info(b.op).typing == uops::Typing::CONVERT && !b.dtype && b.dtype_var < 0)
      error(e->loc, fmt::format("{} needs its dtype: {}<f32>(x)", op_info(b.op).name, op_info(b.op).name));
    return b;
  }

  Build hook_result(const AstExpr* e) {
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

  DTypeSet build_dtypes(const Build& b) {
    switch (b.kind) {
    case Build::CAPTURE: return b.slot >= 0 ? slot_dtypes[b.slot] : ~DTypeSet(0);
    case Build::CONST: return b.dtype ? uops::bit(*b.dtype) : ~DTypeSet(0);
    case Build::CHOOSE: return build_dtypes(b.src[0]) | build_dtypes(b.src[1]);
    case Build::HOOK: case Build::SPLICE: return ~DTypeSet(0);
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

  // ---- render templates: {self}, {name}, {ty}, {ty(name)}; {{ and }} are literal braces

  void check_template(const std::string& text, const Loc& loc) {
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
      if (name != "self" && name != "ty") {
        auto it = slots.find(name);
        if (it == slots.end()) error(at, fmt::format("unknown placeholder '{{{}}}': expected self, ty, ty(x), tm:map, tm:map(x) or a capture", name));
        else uses[it->second]++;
      }
      i = end;
    }
  }

  void check(const AstRule& ast) {
    for (size_t i = 0; i < ast.label.size(); i++) {
      const AstOption& o = ast.label[i];
      if (i == 0 && o.value.empty()) rule.name = o.key;
      else if (o.key == "relaxed" && o.value.empty()) rule.relaxed = true;
      else if (o.key == "disabled" && o.value.empty()) rule.disabled = true;
      else error(o.loc, fmt::format("unknown rule option '{}': expected relaxed or disabled", o.key));
    }
    if (rule.name.empty()) error(ast.loc, "a rule needs a name: write [name] before its pattern");
    rule.pattern = pattern(ast.pattern);
    if (ok && rule.pattern.ops.none() && !render) error(ast.pattern->loc, "a pattern's root must be an op, not a bare capture");
    if (ast.guard) rule.guard = value(ast.guard);
    if (render) {
      if (ast.result->kind != AstExpr::STRING) error(ast.result->loc, "a render rule's result is a text template");
      else check_template(rule.template_text = ast.result->text, ast.result->loc);
    } else {
      rule.result = result(ast.result);
      DTypeSet want = pat_dtypes(rule.pattern);
      DTypeSet got = build_dtypes(rule.result);
      if (ok && (want & got) == 0)
        error(ast.result->loc, fmt::format("the result's dtype {} differs from the pattern's {}", dtype_set_str(got),
                                           dtype_set_str(want)));
    }
    bool clean = ok; // after another error, an unused capture is likely its echo
    for (size_t s = 0; clean && s < uses.size(); s++)
      if (uses[s] == 1 && !rule.slot_names[s].starts_with("_"))
        error(ast.loc, fmt::format("capture '{}' is bound but never used: name it _{} if that is meant",
                                   rule.slot_names[s], rule.slot_names[s]));
    rule.num_slots = int(rule.slot_names.size());
    rule.num_dtype_vars = int(dtype_vars.size());
    rule.domain = classify(all_dtypes);
  }

  Domain classify(DTypeSet s) {
    DTypeSet values = s & ~uops::BOOL;
    if (values & uops::FLOAT) return values & uops::INT ? Domain::MIXED : rule.relaxed ? Domain::FLOAT_RELAXED : Domain::FLOAT_EXACT;
    if (values == uops::bit(DType::index) || values == 0) return Domain::INDEX;
    return Domain::WRAPPING;
  }
};

bool subsumes(const Pat& a, const Pat& b) {
  if (a.ops.any() && (b.ops.none() || (b.ops & ~a.ops).any())) return false;
  if (b.dtypes & ~a.dtypes) return false;
  if (a.literal && (!b.literal || !(*a.literal == *b.literal) || a.literal_is_float != b.literal_is_float)) return false;
  if (a.any_src) return true;
  if (b.any_src) return false;
  if (a.rest == -1 ? (b.rest != -1 || a.src.size() != b.src.size()) : b.src.size() < a.src.size()) return false;
  for (size_t i = 0; i < a.src.size(); i++)
    if (!subsumes(a.src[i], b.src[i])) return false;
  return true;
}

void canon(const AstExpr* e, std::string& out) {
  if (!e) return;
  out += fmt::format("({} {} {} {}", int(e->kind), e->text, e->ival, e->fval);
  for (auto& [n, l] : e->opnames) out += " " + n;
  if (e->ty) out += "<" + e->ty->var + ":" + e->ty->cls + ">";
  for (const AstExpr* k : e->kids) canon(k, out);
  if (e->argb) canon(e->argb, out += "[");
  out += ")";
}

} // namespace

const char* domain_name(Domain d) {
  switch (d) {
  case Domain::INDEX: return "index";
  case Domain::WRAPPING: return "wrapping";
  case Domain::FLOAT_EXACT: return "float exact";
  case Domain::FLOAT_RELAXED: return "float relaxed";
  case Domain::MIXED: return "mixed";
  }
  return "?";
}

std::unique_ptr<Rule> check_rule(const AstRule& ast, bool render, const Scope& scope, Diagnostics& diags) {
  auto rule = std::make_unique<Rule>();
  rule->loc = ast.loc;
  RuleChecker c{scope, diags, *rule, render};
  c.check(ast);
  if (!c.ok) return nullptr;
  return rule;
}

bool shadows(const Rule& earlier, const Rule& later) {
  if (earlier.guard || earlier.uses_hook || earlier.nonlinear || earlier.disabled) return false;
  return subsumes(earlier.pattern, later.pattern);
}

std::string canonical_text(const AstRule& ast) {
  std::string out;
  canon(ast.pattern, out);
  out += "|";
  canon(ast.guard, out);
  out += "|";
  canon(ast.result, out);
  return out;
}

} // namespace patgrad::rewriter
