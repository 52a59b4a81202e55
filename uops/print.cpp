// Printing: s-expressions show everything; infix is the syntax `patgrad rewrite` reads (infix.h), with Python's
// precedence. Both walk the graph with an explicit stack of pending parts, so a deep chain cannot overflow the C++
// stack.
#include "uops/infix.h"
#include "uops/uop.h"
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/ADT/SmallVector.h>

namespace patgrad::uops {
namespace {

bool is_const(const UOp& u, __int128 v) {
  return u->op == Op::CONST && is_int(u->dtype) && as_wide(u->dtype, u->value()) == v;
}

// A part still to print: a node (parenthesized when it binds looser than `min`), or text.
struct Part {
  const UOp* node;
  Prec min;
  std::string text;
};
Part text(std::string s) { return {nullptr, Prec::CMP, std::move(s)}; }
Part child(const UOp& u, Prec min = Prec::CMP) { return {&u, min, {}}; } // CMP: never parenthesized
// u inside parentheses, whatever it binds
llvm::SmallVector<Part, 3> parenthesized(const UOp& u) { return {text("("), child(u), text(")")}; }

// Prints root: `expand` turns a node into its parts, in order; a node's sources stay alive while root does.
std::string print(const UOp& root, llvm::function_ref<void(const UOp&, llvm::SmallVectorImpl<Part>&)> expand,
                  llvm::function_ref<Prec(const UOp&)> prec) {
  std::string out;
  std::vector<Part> todo{child(root)};
  llvm::SmallVector<Part, 8> parts;
  while (!todo.empty()) {
    Part p = std::move(todo.back());
    todo.pop_back();
    parts.clear();
    if (!p.node)
      out += p.text;
    else if (prec(*p.node) < p.min)
      parts = parenthesized(*p.node);
    else
      expand(*p.node, parts);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(std::move(*it));
  }
  return out;
}

Prec infix_prec_of(const UOp& u) {
  if (u->op == Op::CONST) return is_int(u->dtype) && u->value().i < 0 && is_signed(u->dtype) ? Prec::UNARY : Prec::ATOM;
  if (u->op == Op::MUL && is_const(u->src[1], -1)) return Prec::UNARY;
  return infix_prec(u->op);
}

void call(const UOp& u, std::string fn, llvm::SmallVectorImpl<Part>& parts) {
  parts.push_back(text(std::move(fn) + "("));
  for (size_t i = 0; i < u->src.size(); i++) {
    if (i) parts.push_back(text(","));
    parts.push_back(child(u->src[i]));
  }
  parts.push_back(text(")"));
}

void infix_parts(const UOp& u, llvm::SmallVectorImpl<Part>& parts) {
  const OpInfo& info = op_info(u->op);
  switch (u->op) {
  case Op::CONST: return parts.push_back(text(format_value(u->dtype, u->value())));
  case Op::DEFINE_VAR: return parts.push_back(text(std::get<Var>(u->arg).name));
  case Op::MUL:
    if (is_const(u->src[1], -1)) {
      parts.push_back(text("-"));
      // -5 would read back as the literal -5, so a negated constant keeps its parentheses: -(5)
      if (u->src[0]->op == Op::CONST)
        parts.append(parenthesized(u->src[0]));
      else
        parts.push_back(child(u->src[0], Prec::UNARY));
      return;
    }
    break;
  case Op::ADD: {
    const UOp& b = u->src[1];
    if (b->op == Op::MUL && is_const(b->src[1], -1)) // x + y*-1 reads x-y
      return parts.append({child(u->src[0], Prec::SUM), text("-"), child(b->src[0], Prec::PRODUCT)});
    __int128 c = b->op == Op::CONST && is_signed(b->dtype) ? as_wide(b->dtype, b->value()) : 0;
    if (c < 0 && c != dtype_min(b->dtype)) // x + -3 reads x-3
      return parts.append({child(u->src[0], Prec::SUM), text(fmt::format("-{}", format_wide(-c)))});
    break;
  }
  case Op::MAX: return call(u, "max", parts);
  case Op::MIN: return call(u, "min", parts);
  case Op::WHERE: return call(u, "where", parts);
  default: break;
  }
  if (!info.infix.empty() && u->src.size() == 2) {
    // left-associative; comparisons chain in Python, so a comparison operand of a comparison needs parentheses
    Prec p = infix_prec(u->op);
    return parts.append({child(u->src[0], p == Prec::CMP ? tighter(p) : p), text(std::string(info.infix)),
                         child(u->src[1], tighter(p))});
  }
  std::string fn(info.name);
  for (char& c : fn) c = char(std::tolower(c));
  if (info.typing == Typing::CONVERT) fn += fmt::format("<{}>", name(u->dtype));
  call(u, fn, parts);
}

void sexpr_parts(const UOp& u, llvm::SmallVectorImpl<Part>& parts) {
  std::string head = fmt::format("({}:{}", op_info(u->op).name, name(u->dtype));
  if (u->op == Op::CONST) head += fmt::format(" {}", format_value(u->dtype, u->value()));
  if (auto* v = std::get_if<Var>(&u->arg)) head += fmt::format(" {}[{}..{}]", v->name, v->min, v->max);
  if (auto* i = std::get_if<int64_t>(&u->arg)) head += fmt::format(" [{}]", *i);
  if (auto* v = std::get_if<Ints>(&u->arg)) head += fmt::format(" [{}]", fmt::join(*v, ","));
  if (auto* s = std::get_if<std::string>(&u->arg)) head += fmt::format(" \"{}\"", *s);
  parts.push_back(text(std::move(head)));
  for (const UOp& s : u->src) parts.append({text(" "), child(s)});
  parts.push_back(text(")"));
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

std::string infix(const UOp& u) { return print(u, infix_parts, infix_prec_of); }

std::string sexpr(const UOp& u) {
  return print(u, sexpr_parts, [](const UOp&) { return Prec::ATOM; });
}

} // namespace patgrad::uops
