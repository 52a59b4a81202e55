// Printing: s-expressions show everything; infix is the syntax `patgrad rewrite` reads, with Python's precedence.
#include "uops/infix.h"
#include "uops/uop.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad::uops {
namespace {

bool is_const(const UOp& u, __int128 v) { return u->op == Op::CONST && is_int(u->dtype) && as_wide(u->dtype, u->value()) == v; }

struct Infix {
  std::string out;

  void child(const UOp& u, Prec min) { prec(u) < min ? parenthesized(u) : node(u); }
  void parenthesized(const UOp& u) {
    out += '(';
    node(u);
    out += ')';
  }

  static Prec prec(const UOp& u) {
    if (u->op == Op::CONST) return is_int(u->dtype) && u->value().i < 0 && is_signed(u->dtype) ? Prec::UNARY : Prec::ATOM;
    if (u->op == Op::MUL && is_const(u->src[1], -1)) return Prec::UNARY;
    return infix_prec(u->op);
  }

  void binary(const UOp& u, std::string_view sym) {
    Prec p = infix_prec(u->op);
    // comparisons chain in Python, so a comparison operand of a comparison needs parentheses
    child(u->src[0], p == Prec::CMP ? tighter(p) : p);
    out += sym;
    child(u->src[1], tighter(p));
  }

  void call(const UOp& u, std::string_view fn) {
    out += fn;
    out += '(';
    for (size_t i = 0; i < u->src.size(); i++) {
      if (i) out += ',';
      node(u->src[i]);
    }
    out += ')';
  }

  void node(const UOp& u) {
    const OpInfo& info = op_info(u->op);
    switch (u->op) {
    case Op::CONST: out += format_value(u->dtype, u->value()); return;
    case Op::DEFINE_VAR: out += std::get<Var>(u->arg).name; return;
    case Op::MUL:
      if (is_const(u->src[1], -1)) {
        out += '-';
        // -5 would read back as the literal -5, so a negated constant keeps its parentheses: -(5)
        u->src[0]->op == Op::CONST ? parenthesized(u->src[0]) : child(u->src[0], Prec::UNARY);
        return;
      }
      break;
    case Op::ADD: {
      const UOp& b = u->src[1];
      if (b->op == Op::MUL && is_const(b->src[1], -1)) { // x + y*-1 reads x-y
        child(u->src[0], Prec::SUM);
        out += '-';
        child(b->src[0], Prec::PRODUCT);
        return;
      }
      if (b->op == Op::CONST && is_signed(b->dtype) && as_wide(b->dtype, b->value()) < 0 &&
          as_wide(b->dtype, b->value()) != dtype_min(b->dtype)) {
        child(u->src[0], Prec::SUM);
        out += '-';
        out += format_wide(-as_wide(b->dtype, b->value()));
        return;
      }
      break;
    }
    case Op::MAX: call(u, "max"); return;
    case Op::MIN: call(u, "min"); return;
    case Op::WHERE: call(u, "where"); return;
    default: break;
    }
    if (!info.infix.empty() && u->src.size() == 2) return binary(u, info.infix);
    std::string fn = fmt::format("{}", info.name);
    for (char& c : fn) c = char(std::tolower(c));
    if (info.typing == Typing::CONVERT) fn += fmt::format("<{}>", name(u->dtype));
    call(u, fn);
  }
};

void sexpr_into(std::string& out, const UOp& u) {
  out += fmt::format("({}:{}", op_info(u->op).name, name(u->dtype));
  if (u->op == Op::CONST) out += " " + format_value(u->dtype, u->value());
  if (auto* v = std::get_if<Var>(&u->arg)) out += fmt::format(" {}[{}..{}]", v->name, v->min, v->max);
  if (auto* i = std::get_if<int64_t>(&u->arg)) out += fmt::format(" [{}]", *i);
  if (auto* s = std::get_if<std::string>(&u->arg)) out += fmt::format(" \"{}\"", *s);
  for (const UOp& s : u->src) {
    out += ' ';
    sexpr_into(out, s);
  }
  out += ')';
}

} // namespace

std::string format_wide(__int128 v) {
  if (v >= INT64_MIN && v <= INT64_MAX) return fmt::format("{}", int64_t(v));
  return fmt::format("{}", uint64_t(v)); // only u64 values leave the int64 range
}

std::string format_value(DType d, Value v) {
  if (is_bool(d)) return v.i ? "true" : "false";
  if (!is_float(d)) return format_wide(as_wide(d, v));
  if (std::isnan(v.f)) return "nan";
  if (std::isinf(v.f)) return v.f < 0 ? "-inf" : "inf";
  std::string s = d == DType::f64 ? fmt::format("{}", v.f) : fmt::format("{}", float(v.f));
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string infix(const UOp& u) {
  Infix p;
  p.node(u);
  return p.out;
}

std::string sexpr(const UOp& u) {
  std::string out;
  sexpr_into(out, u);
  return out;
}

} // namespace patgrad::uops
