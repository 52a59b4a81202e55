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

// What a name of a rule holds: a node (a capture or a `where` binding), a captured source list (`...rest`), or an
// integer list captured from an arg (`REDUCE_AXIS[(MAX, ...axes)]`).
enum class Slot { NODE, LIST, INTS };

// Whether a value is a number or a list of integers, as far as the checker can tell (a capture's arg can be either).
enum class Kind { NUMBER, LIST, EITHER };

struct RuleChecker {
  Scope& scope;
  Diagnostics& diags;
  Rule& rule;
  bool render;
  bool ok = true;
  bool in_result = false; // checking the bindings or the result, where fresh() may appear
  llvm::StringMap<int> slots;
  std::vector<int> uses;            // per slot: occurrences in pattern, guard, bindings and result
  std::vector<DTypeSet> slot_dtypes; // per slot: what the pattern allows
  std::vector<Slot> slot_kind;
  std::vector<bool> slot_is_binding;
  std::vector<Loc> slot_loc;
  llvm::StringMap<bool> pending; // `where` names not defined yet
  llvm::StringMap<int> dtype_vars;
  DTypeSet all_dtypes = 0; // every dtype some pattern value can have: the rule's domain

  void error(const Loc& loc, const std::string& message) {
    diags.error(loc, message);
    ok = false;
  }

  int new_slot(const std::string& name, const Loc& loc, Slot kind = Slot::NODE) {
    int s = int(rule.slot_names.size());
    slots[name] = s;
    rule.slot_names.push_back(name);
    uses.push_back(0);
    slot_dtypes.push_back(~DTypeSet(0));
    slot_kind.push_back(kind);
    slot_is_binding.push_back(false);
    slot_loc.push_back(loc);
    return s;
  }

  // The slot of a name of kind `kind`, or -1.
  int slot_of(const std::string& name, Slot kind) {
    auto it = slots.find(name);
    return it != slots.end() && slot_kind[it->second] == kind ? it->second : -1;
  }

  // A name that is not bound where it is used: a binding defined later, or an error of its own.
  void unbound(const Loc& loc, const std::string& name, const std::string& otherwise) {
    if (!pending.count(name)) error(loc, otherwise);
    else if (in_result) error(loc, fmt::format("binding '{}' is used before it is defined", name));
    else error(loc, fmt::format("the guard runs before the where bindings: it cannot use '{}'", name));
  }

  // `ADD` alone, as an arg or a list element: the op.
  static std::optional<Op> op_name(const AstExpr* e) {
    if (e->kind != AstExpr::NODE || e->opnames.size() != 1 || e->has_srcs || e->ty || e->argb) return std::nullopt;
    return uops::parse_op(e->opnames[0].first);
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
      if (slot_kind[it->second] != Slot::NODE) error(p.loc, fmt::format("'{}' names a list, not a node", name));
      p.slot = it->second;
      rule.nonlinear = true;
    } else p.slot = new_slot(name, p.loc);
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
        if (!k->kids.empty()) error(k->loc, "a pattern captures its sources with ...name; a list function builds results");
        if (slots.count(k->text)) error(k->loc, fmt::format("'{}' is bound twice", k->text));
        p.rest = k->text.empty() ? -2 : new_slot(k->text, k->loc, Slot::LIST);
        if (p.rest >= 0) uses[p.rest]++;
      }
      check_arity(p.ops, p.src.size(), p.rest != -1, e->loc);
    }
    if (e->argb) {
      if (auto lit = literal(e->argb)) {
        if (p.ops != OpMask().set(int(Op::CONST))) error(e->argb->loc, "only CONST can match a literal arg");
        p.literal = lit->first;
        p.literal_is_float = lit->second;
      } else if (auto op = op_name(e->argb)) p.arg_int = int64_t(*op);
      else if (e->argb->kind == AstExpr::TUPLE) arg_tuple(p, e->argb);
      else if (e->argb->kind == AstExpr::NAME && p.slot < 0) bind(p, e->argb->text);
      else error(e->argb->loc, "an arg in a pattern must be a literal, an op name, a tuple or a new name");
    }
    return finish(p);
  }

  // [(MAX, ...axes)]: the arg is a list that starts with these integers (op names are their numbers); `...axes`
  // binds the rest, `...` allows any rest, nothing after the last element: no rest.
  void arg_tuple(Pat& p, const AstExpr* t) {
    p.arg_ints.emplace();
    for (size_t i = 0; i < t->kids.size(); i++) {
      const AstExpr* k = t->kids[i];
      auto lit = literal(k);
      if (k->kind == AstExpr::ELLIPSIS && k->kids.empty() && i + 1 == t->kids.size()) {
        if (slots.count(k->text)) error(k->loc, fmt::format("'{}' is bound twice", k->text));
        p.arg_rest = k->text.empty() ? -2 : new_slot(k->text, k->loc, Slot::INTS);
        if (p.arg_rest >= 0) uses[p.arg_rest]++;
      } else if (lit && !lit->second && k->kind != AstExpr::TRUE_ && k->kind != AstExpr::FALSE_)
        p.arg_ints->push_back(lit->first.i);
      else if (auto op = op_name(k)) p.arg_ints->push_back(int64_t(*op));
      else error(k->loc, "an arg tuple in a pattern holds integers and op names, and may end with ...name");
    }
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
      if (auto it = slots.find(e->text); it != slots.end()) {
        if (slot_kind[it->second] == Slot::LIST)
          error(e->loc, fmt::format("'{}' is a source list: a value is a node, a number or an integer list", e->text));
        x->kind = slot_kind[it->second] == Slot::INTS ? Expr::INTS : Expr::CAPTURE;
        x->slot = it->second;
        uses[x->slot]++;
      } else if (auto d = uops::parse_dtype(e->text)) {
        x->kind = Expr::DTYPE;
        x->dtype = *d;
      } else if (auto v = dtype_vars.find(e->text); v != dtype_vars.end()) {
        x->kind = Expr::DTYPE_VAR;
        x->slot = v->second;
      } else unbound(e->loc, e->text, fmt::format("unknown capture '{}'", e->text));
      return x;
    case AstExpr::FIELD: {
      static const std::pair<const char*, Expr::Field> fields[] = {
          {"vmin", Expr::VMIN},   {"vmax", Expr::VMAX}, {"val", Expr::VAL}, {"dtype", Expr::DTYPE_OF},
          {"op", Expr::OP_OF},    {"shape", Expr::SHAPE}, {"arg", Expr::ARG}};
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
      if (!known)
        error(e->loc, fmt::format("unknown field '{}': expected vmin, vmax, val, dtype, op, shape or arg", e->text));
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
      if (auto op = op_name(e)) {
        x->kind = Expr::OP;
        x->op = *op;
        return x;
      }
      error(e->loc, "a node pattern cannot appear in a guard; write an op name alone to compare with x.op");
      return x;
    case AstExpr::TUPLE:
      x->kind = Expr::TUPLE;
      for (const AstExpr* k : e->kids) {
        if (k->kind != AstExpr::ELLIPSIS) {
          x->kids.push_back(value(k));
          if (kind_of(*x->kids.back()) == Kind::LIST) error(k->loc, "a list inside a tuple is spread: write ...l");
          continue;
        }
        auto spread = std::make_unique<Expr>();
        spread->kind = Expr::SPREAD;
        spread->loc = k->loc;
        if (k->kids.empty() && k->text.empty()) {
          error(k->loc, "'...' in a tuple spreads a list: write ...name");
          continue;
        }
        AstExpr name{AstExpr::NAME, k->loc, k->text};
        spread->kids.push_back(value(k->kids.empty() ? &name : k->kids[0]));
        if (kind_of(*spread->kids[0]) == Kind::NUMBER) error(k->loc, "'...' spreads a list; this is a number");
        x->kids.push_back(std::move(spread));
      }
      return x;
    case AstExpr::STRING: error(e->loc, "a string cannot appear in a guard"); return x;
    default: error(e->loc, "unexpected expression in a guard"); return x;
    }
  }

  static bool list_builtin(Expr::Builtin b) {
    return b == Expr::INVERSE || b == Expr::DIFFER || b == Expr::EVENS || b == Expr::ODDS || b == Expr::INTERLEAVE;
  }

  static Kind kind_of(const Expr& e) {
    switch (e.kind) {
    case Expr::INTS: case Expr::TUPLE: return Kind::LIST;
    case Expr::CAPTURE: return Kind::EITHER;
    case Expr::FIELD: return e.field == Expr::SHAPE ? Kind::LIST : e.field == Expr::ARG ? Kind::EITHER : Kind::NUMBER;
    case Expr::UNARY: return e.logical_not ? Kind::NUMBER : kind_of(*e.kids[0]);
    case Expr::BINARY: {
      if (uops::op_info(e.op).typing == uops::Typing::CMP) return Kind::NUMBER;
      Kind a = kind_of(*e.kids[0]), b = kind_of(*e.kids[1]);
      return a == Kind::LIST || b == Kind::LIST ? Kind::LIST : a == Kind::EITHER || b == Kind::EITHER ? Kind::EITHER : Kind::NUMBER;
    }
    case Expr::CALL: return list_builtin(e.builtin) ? Kind::LIST : Kind::NUMBER;
    default: return Kind::NUMBER;
    }
  }

  // fresh(acc): a new number from the pass's counter `acc` at each evaluation
  std::unique_ptr<Expr> fresh(const AstExpr* e, std::unique_ptr<Expr> x) {
    x->builtin = Expr::FRESH;
    if (!in_result) error(e->loc, "fresh() numbers what a result builds; it cannot appear in a guard");
    else if (e->kids.size() != 1 || e->kids[0]->kind != AstExpr::NAME)
      error(e->loc, "fresh takes the name of a counter: fresh(acc)");
    else x->ival = scope.counters.try_emplace(e->kids[0]->text, int(scope.counters.size())).first->second;
    return x;
  }

  std::unique_ptr<Expr> call(const AstExpr* e, std::unique_ptr<Expr> x) {
    static const struct {
      const char* name;
      Expr::Builtin b;
      size_t arity;
    } builtins[] = {{"is_pow2", Expr::IS_POW2, 1}, {"log2", Expr::LOG2, 1},       {"gcd", Expr::GCD, 2},
                    {"defined", Expr::DEFINED, 3}, {"eval", Expr::EVAL, 3},       {"min", Expr::MIN, 2},
                    {"max", Expr::MAX, 2},         {"abs", Expr::ABS, 1},         {"is_const", Expr::IS_CONST, 1},
                    {"before", Expr::BEFORE, 2},   {"bits", Expr::BITS, 1},       {"lowest", Expr::LOWEST, 1},
                    {"inverse", Expr::INVERSE, 1}, {"differ", Expr::DIFFER, 2},   {"evens", Expr::EVENS, 1},
                    {"odds", Expr::ODDS, 1},       {"interleave", Expr::INTERLEAVE, 2}};
    x->kind = Expr::CALL;
    if (e->text == "fresh") return fresh(e, std::move(x));
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
      if (b.b == Expr::LOWEST && x->kids[0]->kind != Expr::DTYPE && x->kids[0]->kind != Expr::DTYPE_VAR)
        error(e->kids[0]->loc, "lowest takes a dtype: lowest(t) or lowest(f32)");
      for (size_t i = 0; i < x->kids.size(); i++) {
        Kind k = kind_of(*x->kids[i]);
        if (list_builtin(b.b) && k == Kind::NUMBER) error(e->kids[i]->loc, fmt::format("{} takes lists", b.name));
        if (!list_builtin(b.b) && k == Kind::LIST) error(e->kids[i]->loc, fmt::format("{} takes numbers, not lists", b.name));
      }
      return x;
    }
    if (e->text == "choose") error(e->loc, "choose() picks a result; it cannot appear in a guard");
    else if (e->text == "ranges" || e->text == "without")
      error(e->loc, fmt::format("{}() is a list of nodes: splice it into a node's sources with ...{}(...)", e->text, e->text));
    else error(e->loc, fmt::format("unknown builtin '{}'", e->text));
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
        for (const AstExpr* k : e->kids) b.src.push_back(result(k));
        return b;
      }
      if (e->text == "ranges" || e->text == "without") {
        error(e->loc, fmt::format("{}() is a list of nodes: splice it into a node's sources with ...{}(...)", e->text, e->text));
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
    case AstExpr::TUPLE: error(e->loc, "a tuple is an arg: write it inside a node's [...]"); return b;
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
      splices = true;
      b.src.push_back(k->kids.empty() ? captured_list(k->text, k->loc) : node_list(k->kids[0]));
    }
    if (ops && ops->count() == 1 && !splices) check_arity(*ops, b.src.size(), false, e->loc);
    if (e->argb) b.value_expr = value(e->argb);
    if (op_info(b.op).typing == uops::Typing::CONVERT && !b.dtype && b.dtype_var < 0)
      error(e->loc, fmt::format("{} needs its dtype: {}<f32>(x)", op_info(b.op).name, op_info(b.op).name));
    return b;
  }

  // ...rest in a result: the sources the pattern captured
  Build captured_list(const std::string& name, const Loc& loc) {
    Build s;
    s.kind = Build::SPLICE;
    s.loc = loc;
    if ((s.slot = slot_of(name, Slot::LIST)) >= 0) uses[s.slot]++;
    else unbound(loc, name, fmt::format("'...{}' is not a source list bound by the pattern", name));
    return s;
  }

  // A list of nodes: a captured list's name, a capture (a list of one), (r, ...rs), ranges(x) or without(a, b).
  Build node_list(const AstExpr* e) {
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
    size_t arity = e->text == "ranges" ? 1 : e->text == "without" ? 2 : 0;
    if (e->kind != AstExpr::CALL || arity == 0) {
      error(e->loc, "expected a list of nodes: a source list's name, (r, ...rs), ranges(x) or without(a, b)");
      return s;
    }
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
    s.list = Build::RANGES;
    const AstExpr* x = e->kids[0];
    if (x->kind == AstExpr::NAME && (s.slot = slot_of(x->text, Slot::NODE)) >= 0) uses[s.slot]++;
    else if (x->kind == AstExpr::NAME) unbound(x->loc, x->text, fmt::format("capture '{}' is not bound by the pattern", x->text));
    else error(x->loc, "ranges takes a capture or a binding: ranges(x)");
    return s;
  }

  // where name = build
  void binding(const AstBinding& w) {
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

  // ---- render templates: {self}, {name}, {ty}, {ty(name)}, {label(name)}, {arg}; {{ and }} are literal braces

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
      else if (name.starts_with("label(") && name.ends_with(")")) name = name.substr(6, name.size() - 7);
      if (name != "self" && name != "ty" && name != "arg") {
        auto it = slots.find(name);
        if (it == slots.end()) error(at, fmt::format("unknown placeholder '{{{}}}': expected self, ty, ty(x), label(x), arg, tm:map, tm:map(x) or a capture", name));
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
    for (const AstBinding& w : ast.wheres) pending[w.name] = true;
    if (ast.guard) rule.guard = value(ast.guard);
    in_result = true;
    if (render && !ast.wheres.empty()) error(ast.wheres[0].loc, "a render rule has no where bindings");
    else
      for (const AstBinding& w : ast.wheres) binding(w);
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
      if (uses[s] == 1 && !rule.slot_names[s].starts_with("_") && slot_is_binding[s])
        error(slot_loc[s], fmt::format("binding '{}' is never used", rule.slot_names[s]));
      else if (uses[s] == 1 && !rule.slot_names[s].starts_with("_"))
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
  if (a.arg_int && a.arg_int != b.arg_int) return false;
  if (a.arg_ints && (a.arg_ints != b.arg_ints || (a.arg_rest == -1 && b.arg_rest != -1))) return false;
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

std::unique_ptr<Rule> check_rule(const AstRule& ast, bool render, Scope& scope, Diagnostics& diags) {
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
  for (const AstBinding& w : ast.wheres) canon(w.value, out += "|" + w.name + "=");
  return out;
}

} // namespace patgrad::rewriter
