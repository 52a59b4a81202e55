// Guard evaluation: the value of an Expr (a guard, a CONST's value, a node's arg) under a match's Bindings: numbers
// in a dtype, dtypes, ops and integer lists, with the builtins over them.
#include "rewriter/internal.h"
#include <cmath>

namespace patgrad::rewriter {
namespace {

using uops::Value;

GVal make_int(DType d, Wide w) { return GVal{d, uops::int_value(d, w)}; }

GVal make_list(uops::Ints l) {
  GVal g;
  g.list = std::move(l);
  return g;
}

// Converts a literal to the dtype of the value it meets.
GVal adopt(const GVal& lit, DType d) {
  if (uops::is_float(d)) return GVal{d, uops::float_value(d, uops::is_float(lit.dtype) ? lit.v.f : double(wide(lit)))};
  return make_int(d, wide(lit));
}

// A total order on nodes that does not depend on addresses, so canonical forms are the same in every run.
int node_order(const UOp& a, const UOp& b, int depth) {
  if (a == b) return 0;
  if (a->op != b->op) return a->op < b->op ? -1 : 1;
  if (a->dtype != b->dtype) return a->dtype < b->dtype ? -1 : 1;
  if (a->arg != b->arg) {
    if (a->arg.index() != b->arg.index()) return a->arg.index() < b->arg.index() ? -1 : 1;
    if (auto* v = std::get_if<uops::Var>(&a->arg)) return v->name < std::get<uops::Var>(b->arg).name ? -1 : 1;
    if (auto* v = std::get_if<Value>(&a->arg)) {
      Value w = std::get<Value>(b->arg);
      return uops::is_float(a->dtype) ? (v->f < w.f ? -1 : 1) : (uops::as_wide(a->dtype, *v) < uops::as_wide(a->dtype, w) ? -1 : 1);
    }
    if (auto* i = std::get_if<int64_t>(&a->arg)) return *i < std::get<int64_t>(b->arg) ? -1 : 1;
    if (auto* t = std::get_if<std::string>(&a->arg)) return *t < std::get<std::string>(b->arg) ? -1 : 1;
  }
  if (a->src.size() != b->src.size()) return a->src.size() < b->src.size() ? -1 : 1;
  if (depth > 64) return 0; // too deep to tell apart: call them equal, and no rule reorders them
  for (size_t i = 0; i < a->src.size(); i++)
    if (int c = node_order(a->src[i], b->src[i], depth + 1)) return c;
  return 0;
}

// Terms of a sum order by what they multiply, so that x and x*3 end up next to each other.
int term_order(const UOp& a, const UOp& b) {
  auto base = [](const UOp& u) { return u->op == Op::MUL && u->src[1]->op == Op::CONST ? u->src[0] : u; };
  if (int c = node_order(base(a), base(b), 0)) return c;
  return node_order(a, b, 0);
}

struct Evaluator {
  const Bindings& b;
  PassContext* ctx = nullptr; // for fresh(); none outside a rewrite

  std::optional<GVal> operator()(const Expr& e) {
    switch (e.kind) {
    case Expr::INT: return GVal{DType::index, Value{e.ival, double(e.ival)}, true};
    case Expr::FLOAT: return GVal{DType::f64, Value{0, e.fval}, true};
    case Expr::BOOL: return GVal{DType::bool_, Value{e.ival, 0}};
    case Expr::DTYPE: return GVal{e.dtype, {}, false, true};
    case Expr::DTYPE_VAR:
      if (!b.dtypes[e.slot]) return std::nullopt;
      return GVal{*b.dtypes[e.slot], {}, false, true};
    case Expr::OP: return GVal{DType::index, {}, false, false, e.op};
    case Expr::INTS: return make_list(b.ints[e.slot]);
    case Expr::TUPLE: return tuple(e);
    case Expr::SPREAD: return std::nullopt; // only inside a TUPLE
    case Expr::CAPTURE: return capture(b.nodes[e.slot]);
    case Expr::FIELD: return field(e);
    case Expr::UNARY: return unary(e);
    case Expr::AND: case Expr::OR: {
      auto a = (*this)(*e.kids[0]);
      if (!a) return std::nullopt;
      if (truthy(*a) == (e.kind == Expr::OR)) return GVal{DType::bool_, Value{e.kind == Expr::OR, 0}};
      auto c = (*this)(*e.kids[1]);
      if (!c) return std::nullopt;
      return GVal{DType::bool_, Value{truthy(*c), 0}};
    }
    case Expr::BINARY: return binary(e.op, e);
    case Expr::CALL: return call(e);
    }
    return std::nullopt;
  }

  static std::optional<GVal> capture(const UOp& u) {
    if (u->op == Op::CONST) return GVal{u->dtype, u->value()};
    if (auto* i = std::get_if<int64_t>(&u->arg)) return GVal{DType::index, Value{*i, 0}};
    if (auto* l = std::get_if<uops::Ints>(&u->arg)) return make_list(*l);
    return std::nullopt;
  }

  // An integer as a list element: op names are their numbers.
  static std::optional<int64_t> element(const GVal& g) {
    if (g.op) return int64_t(*g.op);
    if (!is_number(g) || uops::is_float(g.dtype)) return std::nullopt;
    Wide w = wide(g);
    if (w < INT64_MIN || w > INT64_MAX) return std::nullopt;
    return int64_t(w);
  }

  std::optional<GVal> tuple(const Expr& e) {
    uops::Ints out;
    for (const auto& k : e.kids) {
      auto v = (*this)(k->kind == Expr::SPREAD ? *k->kids[0] : *k);
      if (!v) return std::nullopt;
      if (k->kind == Expr::SPREAD && !v->list) return std::nullopt;
      if (k->kind == Expr::SPREAD) out.insert(out.end(), v->list->begin(), v->list->end());
      else if (auto i = element(*v)) out.push_back(*i);
      else return std::nullopt;
    }
    return make_list(std::move(out));
  }

  std::optional<GVal> field(const Expr& e) {
    const UOp& u = b.nodes[e.slot];
    switch (e.field) {
    case Expr::VMIN: case Expr::VMAX:
      if (!uops::is_int(u->dtype) && !uops::is_bool(u->dtype)) return std::nullopt;
      return make_int(u->dtype, e.field == Expr::VMIN ? u->vmin : u->vmax);
    case Expr::VAL: return capture(u);
    case Expr::DTYPE_OF: return GVal{u->dtype, {}, false, true};
    case Expr::OP_OF: return GVal{DType::index, {}, false, false, u->op};
    case Expr::SHAPE: return make_list(uops::Ints(u->shape.begin(), u->shape.end()));
    case Expr::ARG: return capture(u);
    }
    return std::nullopt;
  }

  std::optional<GVal> unary(const Expr& e) {
    auto a = (*this)(*e.kids[0]);
    if (!a || !is_number(*a)) return std::nullopt;
    if (e.logical_not) return GVal{DType::bool_, Value{!truthy(*a), 0}};
    Value zero{};
    auto r = uops::eval(Op::SUB, a->dtype, a->dtype, std::array{zero, a->v});
    if (!r) return std::nullopt;
    return GVal{a->dtype, *r, a->literal};
  }

  // Arithmetic in the operands' dtype; comparisons on the mathematical values.
  std::optional<GVal> binary(Op op, const Expr& e) {
    auto a = (*this)(*e.kids[0]), c = (*this)(*e.kids[1]);
    if (!a || !c) return std::nullopt;
    return apply(op, *a, *c);
  }

  // Lists: == and != compare them whole; arithmetic is elementwise on index, a number applying to every element.
  static std::optional<GVal> apply_lists(Op op, const GVal& a, const GVal& c) {
    if (op == Op::CMPEQ || op == Op::CMPNE) {
      if (!a.list || !c.list) return std::nullopt;
      return GVal{DType::bool_, Value{(*a.list == *c.list) == (op == Op::CMPEQ), 0}};
    }
    if (uops::op_info(op).typing == uops::Typing::CMP || (a.list && c.list && a.list->size() != c.list->size()))
      return std::nullopt;
    std::optional<int64_t> x = a.list ? 0 : element(a), y = c.list ? 0 : element(c);
    if (!x || !y || a.op || c.op) return std::nullopt;
    uops::Ints out;
    for (size_t i = 0, n = a.list ? a.list->size() : c.list->size(); i < n; i++) {
      Value l{a.list ? (*a.list)[i] : *x, 0}, r{c.list ? (*c.list)[i] : *y, 0};
      auto v = uops::eval(op, DType::index, DType::index, std::array{l, r});
      if (!v) return std::nullopt;
      out.push_back(v->i);
    }
    return make_list(std::move(out));
  }

  static std::optional<GVal> apply(Op op, GVal a, GVal c) {
    if (a.list || c.list) return apply_lists(op, a, c);
    if (a.op || c.op) {
      if (!(a.op && c.op) || (op != Op::CMPEQ && op != Op::CMPNE)) return std::nullopt;
      return GVal{DType::bool_, Value{(*a.op == *c.op) == (op == Op::CMPEQ), 0}};
    }
    if (a.is_dtype || c.is_dtype) {
      if (!(a.is_dtype && c.is_dtype) || (op != Op::CMPEQ && op != Op::CMPNE)) return std::nullopt;
      return GVal{DType::bool_, Value{(a.dtype == c.dtype) == (op == Op::CMPEQ), 0}};
    }
    if (a.literal && !c.literal) a = adopt(a, c.dtype);
    if (c.literal && !a.literal) c = adopt(c, a.dtype);
    if (a.dtype != c.dtype) { // two captures of different dtypes: compare and compute exactly, as index
      if (uops::is_float(a.dtype) || uops::is_float(c.dtype)) return std::nullopt;
      a = make_int(DType::index, wide(a)), c = make_int(DType::index, wide(c));
    }
    bool literal = a.literal && c.literal;
    if (uops::op_info(op).typing == uops::Typing::CMP) {
      bool r;
      if (uops::is_float(a.dtype)) r = uops::eval(op, DType::bool_, a.dtype, std::array{a.v, c.v})->i;
      else {
        Wide x = wide(a), y = wide(c);
        r = op == Op::CMPLT ? x < y : op == Op::CMPLE ? x <= y : op == Op::CMPEQ ? x == y : x != y;
      }
      return GVal{DType::bool_, Value{r, 0}};
    }
    auto r = uops::eval(op, a.dtype, a.dtype, std::array{a.v, c.v});
    if (!r) return std::nullopt;
    return GVal{a.dtype, *r, literal};
  }

  // The trip count of a RANGE, or the product of a list's; undefined where one's end is not a constant.
  std::optional<GVal> trips(const Expr& e) {
    std::vector<UOp> one{b.nodes[e.slot]};
    const std::vector<UOp>& ranges = e.ival ? b.lists[e.slot] : one;
    Wide n = 1;
    for (const UOp& r : ranges) {
      if (r->op != Op::RANGE || r->src[0]->op != Op::CONST) return std::nullopt;
      n *= uops::as_wide(DType::index, r->src[0]->value());
      if (n > INT64_MAX || n < 0) return std::nullopt;
    }
    return make_int(DType::index, n);
  }

  std::optional<GVal> call(const Expr& e) {
    if (e.builtin == Expr::TRIPS) return trips(e);
    std::vector<GVal> args;
    for (size_t i = 0; i < e.kids.size(); i++) {
      if (((e.builtin == Expr::DEFINED || e.builtin == Expr::EVAL || e.builtin == Expr::IS_CONST) && i == 0) ||
          e.builtin == Expr::BEFORE || e.builtin == Expr::BITS) {
        args.push_back({});
        continue;
      }
      auto a = (*this)(*e.kids[i]);
      if (!a) return e.builtin == Expr::DEFINED ? std::optional(GVal{DType::bool_, Value{0, 0}}) : std::nullopt;
      if (a->list.has_value() != takes_list(e.builtin, i)) return std::nullopt; // x.arg can be either
      args.push_back(*a);
    }
    auto boolean = [](bool v) { return GVal{DType::bool_, Value{v, 0}}; };
    switch (e.builtin) {
    case Expr::FRESH:
      if (!ctx) return std::nullopt;
      return GVal{DType::index, Value{ctx->fresh(int(e.ival)), 0}};
    case Expr::LOWEST: {
      DType d = args[0].dtype;
      if (uops::is_float(d)) return GVal{d, Value{0, -INFINITY}};
      return make_int(d, uops::dtype_min(d));
    }
    case Expr::INVERSE: {
      const uops::Ints& a = *args[0].list;
      uops::Ints out(a.size(), -1);
      for (size_t i = 0; i < a.size(); i++) {
        if (a[i] < 0 || size_t(a[i]) >= a.size() || out[a[i]] != -1) return std::nullopt; // not a permutation
        out[a[i]] = int64_t(i);
      }
      return make_list(std::move(out));
    }
    case Expr::DIFFER: {
      const uops::Ints &a = *args[0].list, &c = *args[1].list;
      if (a.size() != c.size()) return std::nullopt;
      uops::Ints out;
      for (size_t i = 0; i < a.size(); i++)
        if (a[i] != c[i]) out.push_back(int64_t(i));
      return make_list(std::move(out));
    }
    case Expr::EVENS: case Expr::ODDS: {
      uops::Ints out;
      for (size_t i = e.builtin == Expr::ODDS; i < args[0].list->size(); i += 2) out.push_back((*args[0].list)[i]);
      return make_list(std::move(out));
    }
    case Expr::INTERLEAVE: {
      const uops::Ints &a = *args[0].list, &c = *args[1].list;
      if (a.size() != c.size()) return std::nullopt;
      uops::Ints out;
      for (size_t i = 0; i < a.size(); i++) out.push_back(a[i]), out.push_back(c[i]);
      return make_list(std::move(out));
    }
    case Expr::STRIDES: {
      const uops::Ints& shape = *args[0].list;
      uops::Ints out(shape.size());
      int64_t stride = 1;
      for (size_t i = shape.size(); i-- > 0;) {
        out[i] = stride;
        if (__builtin_mul_overflow(stride, shape[i], &stride)) return std::nullopt;
      }
      return make_list(std::move(out));
    }
    case Expr::PICK: {
      const uops::Ints &l = *args[0].list, &at = *args[1].list;
      uops::Ints out;
      for (int64_t k : at) {
        if (k < 0 || size_t(k) >= l.size()) return std::nullopt;
        out.push_back(l[k]);
      }
      return make_list(std::move(out));
    }
    case Expr::AT: case Expr::DROP: {
      const uops::Ints& l = *args[0].list;
      Wide k = wide(args[1]);
      if (k < 0 || k > Wide(l.size()) || (e.builtin == Expr::AT && k == Wide(l.size()))) return std::nullopt;
      if (e.builtin == Expr::AT) return make_int(DType::index, l[size_t(k)]);
      return make_list(uops::Ints(l.begin() + int64_t(k), l.end()));
    }
    case Expr::IOTA: {
      Wide n = wide(args[0]);
      if (n < 0 || n > 4096) return std::nullopt; // a list of positions, not a buffer
      uops::Ints out;
      for (int64_t i = 0; i < int64_t(n); i++) out.push_back(i);
      return make_list(std::move(out));
    }
    case Expr::LEN: return make_int(DType::index, Wide(args[0].list->size()));
    case Expr::PROD: {
      auto p = uops::checked_prod(*args[0].list);
      if (!p) return std::nullopt;
      return make_int(DType::index, *p);
    }
    case Expr::TRIPS: return std::nullopt; // above
    case Expr::IS_CONST: return boolean(b.nodes[e.kids[0]->slot]->op == Op::CONST);
    case Expr::BITS: return GVal{DType::index, Value{uops::bits(b.nodes[e.kids[0]->slot]->dtype), 0}, true};
    case Expr::BEFORE: return boolean(term_order(b.nodes[e.kids[0]->slot], b.nodes[e.kids[1]->slot]) < 0);
    case Expr::IS_POW2: {
      Wide v = wide(args[0]);
      return boolean(!uops::is_float(args[0].dtype) && v > 0 && (v & (v - 1)) == 0);
    }
    case Expr::LOG2: {
      Wide v = wide(args[0]);
      if (uops::is_float(args[0].dtype) || v <= 0) return std::nullopt;
      int n = 0;
      while (v > 1) v >>= 1, n++;
      return make_int(args[0].literal ? DType::index : args[0].dtype, n);
    }
    case Expr::GCD: {
      if (uops::is_float(args[0].dtype) || uops::is_float(args[1].dtype)) return std::nullopt;
      Wide x = wide(args[0]), y = wide(args[1]);
      x = x < 0 ? -x : x, y = y < 0 ? -y : y;
      while (y) x %= y, std::swap(x, y);
      DType d = args[0].literal ? args[1].dtype : args[0].dtype;
      return GVal{d, uops::int_value(d, x), args[0].literal && args[1].literal};
    }
    case Expr::MIN: case Expr::MAX: return apply(e.builtin == Expr::MIN ? Op::MIN : Op::MAX, args[0], args[1]);
    case Expr::ABS: {
      if (uops::is_float(args[0].dtype)) return GVal{args[0].dtype, Value{0, std::fabs(args[0].v.f)}};
      Wide v = wide(args[0]);
      if (v >= 0) return args[0];
      return apply(Op::SUB, GVal{args[0].dtype, {}}, args[0]);
    }
    case Expr::DEFINED: case Expr::EVAL: {
      const UOp& op = b.nodes[e.kids[0]->slot];
      GVal x = args[1], y = args[2];
      if (x.literal && !y.literal) x = adopt(x, y.dtype);
      if (y.literal && !x.literal) y = adopt(y, x.dtype);
      auto r = uops::eval(op->op, op->dtype, x.dtype, std::array{x.v, y.v});
      if (e.builtin == Expr::DEFINED) return boolean(r.has_value() && x.dtype == y.dtype);
      if (!r) return std::nullopt;
      return GVal{op->dtype, *r};
    }
    }
    return std::nullopt;
  }
};

} // namespace

std::optional<uops::Value> eval_expr(const Expr& e, const Bindings& b, DType* dtype_out) {
  auto v = Evaluator{b}(e);
  if (!v || !is_number(*v)) return std::nullopt;
  if (dtype_out) *dtype_out = v->dtype;
  return v->v;
}

std::optional<GVal> evaluate(const Expr& e, const Bindings& b, PassContext* ctx) { return Evaluator{b, ctx}(e); }

} // namespace patgrad::rewriter
