// The checker's guards and computed values: a guard, a CONST's value or a node's arg to an Expr, with the builtins
// (numbers, integer lists and tuples, fresh() counters) and whether each value is a number or a list.
#include "rewriter/internal.h"
#include <fmt/format.h>

namespace patgrad::rewriter {
namespace {

// Whether a value is a number or a list of integers, as far as the checker can tell (a capture's arg can be either).
enum class Kind { NUMBER, LIST, EITHER };

Kind kind_of(const Expr& e) {
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
  case Expr::CALL: return gives_list(e.builtin) ? Kind::LIST : Kind::NUMBER;
  default: return Kind::NUMBER;
  }
}

} // namespace

std::unique_ptr<Expr> RuleChecker::value(const AstExpr* e) {
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

// fresh(acc): a new number from the pass's counter `acc` at each evaluation
std::unique_ptr<Expr> RuleChecker::fresh(const AstExpr* e, std::unique_ptr<Expr> x) {
  x->builtin = Expr::FRESH;
  if (!in_result) error(e->loc, "fresh() numbers what a result builds; it cannot appear in a guard");
  else if (e->kids.size() != 1 || e->kids[0]->kind != AstExpr::NAME)
    error(e->loc, "fresh takes the name of a counter: fresh(acc)");
  else x->ival = scope.counters.try_emplace(e->kids[0]->text, int(scope.counters.size())).first->second;
  return x;
}

// trips(r) or trips(rs): the trip count of a captured RANGE or of a captured list of them
std::unique_ptr<Expr> RuleChecker::trips(const AstExpr* e, std::unique_ptr<Expr> x) {
  x->builtin = Expr::TRIPS;
  if (e->kids.size() != 1 || e->kids[0]->kind != AstExpr::NAME) {
    error(e->loc, "trips takes a captured RANGE or list of RANGEs: trips(r), trips(rs)");
    return x;
  }
  const std::string& name = e->kids[0]->text;
  if ((x->slot = slot_of(name, Slot::NODE)) < 0 && (x->slot = slot_of(name, Slot::LIST)) >= 0) x->ival = 1;
  if (x->slot >= 0) uses[x->slot]++;
  else unbound(e->kids[0]->loc, name, fmt::format("'{}' is not a captured node or list", name));
  return x;
}

std::unique_ptr<Expr> RuleChecker::call(const AstExpr* e, std::unique_ptr<Expr> x) {
  static const struct {
    const char* name;
    Expr::Builtin b;
    size_t arity;
  } builtins[] = {{"is_pow2", Expr::IS_POW2, 1}, {"log2", Expr::LOG2, 1},       {"gcd", Expr::GCD, 2},
                  {"defined", Expr::DEFINED, 3}, {"eval", Expr::EVAL, 3},       {"min", Expr::MIN, 2},
                  {"max", Expr::MAX, 2},         {"abs", Expr::ABS, 1},         {"is_const", Expr::IS_CONST, 1},
                  {"before", Expr::BEFORE, 2},   {"bits", Expr::BITS, 1},       {"lowest", Expr::LOWEST, 1},
                  {"inverse", Expr::INVERSE, 1}, {"differ", Expr::DIFFER, 2},   {"evens", Expr::EVENS, 1},
                  {"odds", Expr::ODDS, 1},       {"interleave", Expr::INTERLEAVE, 2}, {"strides", Expr::STRIDES, 1},
                  {"pick", Expr::PICK, 2},       {"at", Expr::AT, 2},           {"drop", Expr::DROP, 2},
                  {"len", Expr::LEN, 1},         {"prod", Expr::PROD, 1},       {"iota", Expr::IOTA, 1}};
  x->kind = Expr::CALL;
  if (e->text == "fresh") return fresh(e, std::move(x));
  if (e->text == "trips") return trips(e, std::move(x));
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
      if (takes_list(b.b, i) && k == Kind::NUMBER)
        error(e->kids[i]->loc, fmt::format("argument {} of {} is a list, not a number", i + 1, b.name));
      if (!takes_list(b.b, i) && k == Kind::LIST)
        error(e->kids[i]->loc, fmt::format("argument {} of {} is a number, not a list", i + 1, b.name));
    }
    return x;
  }
  if (e->text == "choose") error(e->loc, "choose() picks a result; it cannot appear in a guard");
  else if (is_node_list_builtin(e->text))
    error(e->loc, fmt::format("{}() is a list of nodes: splice it into a node's sources with ...{}(...)", e->text, e->text));
  else error(e->loc, fmt::format("unknown builtin '{}'", e->text));
  return x;
}

} // namespace patgrad::rewriter
