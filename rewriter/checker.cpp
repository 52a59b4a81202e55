// The checker: turns one parsed rule into a Rule, resolving every name, and reports what is wrong with it (unknown
// names, arity, captures unbound or unused, a result of another dtype, bad template placeholders). It keeps going
// after an error so that one mistake does not hide the next. This file holds the rule as a whole, the names it
// resolves and the checks across rules (shadowing, duplicates); check_patterns.cpp, check_values.cpp and
// check_results.cpp check its parts.
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

} // namespace

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

void RuleChecker::error(const Loc& loc, const std::string& message) {
  diags.error(loc, message);
  ok = false;
}

int RuleChecker::new_slot(const std::string& name, const Loc& loc, Slot kind) {
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
int RuleChecker::slot_of(const std::string& name, Slot kind) {
  auto it = slots.find(name);
  return it != slots.end() && slot_kind[it->second] == kind ? it->second : -1;
}

// A name that is not bound where it is used: a binding defined later, or an error of its own.
void RuleChecker::unbound(const Loc& loc, const std::string& name, const std::string& otherwise) {
  if (!pending.count(name)) error(loc, otherwise);
  else if (in_result) error(loc, fmt::format("binding '{}' is used before it is defined", name));
  else error(loc, fmt::format("the guard runs before the where bindings: it cannot use '{}'", name));
}

// `ADD` alone, as an arg or a list element: the op.
std::optional<Op> RuleChecker::op_name(const AstExpr* e) {
  if (e->kind != AstExpr::NODE || e->opnames.size() != 1 || e->has_srcs || e->ty || e->argb) return std::nullopt;
  return uops::parse_op(e->opnames[0].first);
}

std::optional<DTypeSet> RuleChecker::resolve_dtypes(const std::string& name) {
  if (auto d = uops::parse_dtype(name)) return uops::bit(*d);
  if (auto it = scope.dtype_classes.find(name); it != scope.dtype_classes.end()) return it->second;
  return std::nullopt;
}

int RuleChecker::dtype_var(const std::string& name) {
  auto [it, fresh] = dtype_vars.try_emplace(name, int(dtype_vars.size()));
  if (!fresh) rule.nonlinear = true;
  return it->second;
}

// <ints>, <f32>, <t>, <t:ints>: constrains set and may bind a dtype variable. A lone name that is neither a dtype
// nor a class is a dtype variable only if it is one letter, so that a typo is an error and not a silent variable.
void RuleChecker::apply_ty(const TySpec& ty, DTypeSet& set, int& var) {
  if (!ty.var.empty()) var = dtype_var(ty.var);
  if (auto s = resolve_dtypes(ty.cls)) set &= *s;
  else if (ty.var.empty() && ty.cls.size() == 1) var = dtype_var(ty.cls);
  else error(ty.loc, fmt::format("unknown dtype or dtype class '{}'", ty.cls));
}

std::optional<OpMask> RuleChecker::resolve_ops(const std::vector<std::pair<std::string, Loc>>& names) {
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

std::optional<Op> RuleChecker::infix_op(const std::string& sym) {
  if (sym == ">") return Op::CMPLT;
  if (sym == ">=") return Op::CMPLE;
  return uops::op_for_infix(sym);
}

// A literal, possibly negated: `3`, `-1`, `2.5`, `-0.0`, `true`.
std::optional<std::pair<uops::Value, bool>> RuleChecker::literal(const AstExpr* e) {
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

void RuleChecker::check_arity(const OpMask& ops, size_t n, bool rest, const Loc& loc) {
  for (int i = 0; i < uops::num_ops; i++) {
    if (!ops.test(i)) continue;
    int a = op_info(Op(i)).arity;
    if (a >= 0 && (rest ? int(n) > a : int(n) != a)) {
      error(loc, fmt::format("{} takes {} source{}, not {}", op_info(Op(i)).name, a, a == 1 ? "" : "s", n));
      return;
    }
  }
}

void RuleChecker::check(const AstRule& ast) {
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

Domain RuleChecker::classify(DTypeSet s) {
  DTypeSet values = s & ~uops::BOOL;
  if (values & uops::FLOAT) return values & uops::INT ? Domain::MIXED : rule.relaxed ? Domain::FLOAT_RELAXED : Domain::FLOAT_EXACT;
  if (values == uops::bit(DType::index) || values == 0) return Domain::INDEX;
  return Domain::WRAPPING;
}

namespace {

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
