// The checker's patterns: a rule's pattern to a Pat, binding its captures and checking that some dtype satisfies
// every node of it.
#include "rewriter/internal.h"
#include <fmt/format.h>

namespace patgrad::rewriter {

Pat RuleChecker::pattern(const AstExpr* e) {
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

void RuleChecker::bind(Pat& p, const std::string& name) {
  if (auto it = slots.find(name); it != slots.end()) {
    if (slot_kind[it->second] != Slot::NODE) error(p.loc, fmt::format("'{}' names a list, not a node", name));
    p.slot = it->second;
    rule.nonlinear = true;
  } else p.slot = new_slot(name, p.loc);
  uses[p.slot]++;
}

DTypeSet RuleChecker::pat_dtypes(const Pat& p) {
  std::vector<DTypeSet> srcs;
  for (const Pat& s : p.src) srcs.push_back(pat_dtypes(s));
  DTypeSet out = p.dtypes & op_result_dtypes(p.ops, srcs);
  if (p.slot >= 0) out &= slot_dtypes[p.slot];
  return out;
}

Pat RuleChecker::finish(Pat& p) {
  DTypeSet d = pat_dtypes(p);
  if (p.slot >= 0) slot_dtypes[p.slot] &= d;
  all_dtypes |= d;
  if (d == 0) error(p.loc, "no dtype satisfies this pattern's constraints");
  return p;
}

Pat RuleChecker::node_pattern(const AstExpr* e) {
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
void RuleChecker::arg_tuple(Pat& p, const AstExpr* t) {
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

} // namespace patgrad::rewriter
