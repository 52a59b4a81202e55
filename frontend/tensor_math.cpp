// Elementwise ops: operands broadcast to a common shape (numpy's rules) and promote to a common dtype.
#include "frontend/tensor.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad {

using uops::Op;
using uops::UOp;

namespace {

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) out += (i ? "," : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  Shape padded(shape.size() - t.shape().size(), 1);
  padded.insert(padded.end(), t.shape().begin(), t.shape().end());
  return t.reshape(padded).expand(shape);
}

std::pair<Tensor, Tensor> broadcast(const Tensor& a, const Tensor& b, const char* what) {
  size_t n = std::max(a.shape().size(), b.shape().size());
  Shape out(n);
  for (size_t i = 0; i < n; i++) {
    int64_t x = i < n - a.shape().size() ? 1 : a.shape()[i - (n - a.shape().size())];
    int64_t y = i < n - b.shape().size() ? 1 : b.shape()[i - (n - b.shape().size())];
    if (x != y && x != 1 && y != 1)
      throw TensorError(fmt::format("{}: cannot broadcast {} with {}", what, shape_str(a.shape()), shape_str(b.shape())));
    out[i] = x == 1 ? y : x;
  }
  return {broadcast_to(a, out), broadcast_to(b, out)};
}

Tensor binary(Op op, const Tensor& a, const Tensor& b, const char* what, std::optional<DType> force = std::nullopt) {
  auto [x, y] = broadcast(a, b, what);
  DType d = force ? *force : promote(a.dtype(), b.dtype());
  if (x.dtype() != d) x = x.cast(d);
  if (y.dtype() != d) y = y.cast(d);
  DType out = uops::op_info(op).typing == uops::Typing::CMP ? DType::bool_ : d;
  return Tensor::make(op, out, {x.uop, y.uop}, {}, a.device(), what);
}

Tensor unary(Op op, const Tensor& a, const char* what) { return Tensor::make(op, a.dtype(), {a.uop}, {}, a.device(), what); }

// A Python-style scalar meets a tensor: it takes the tensor's dtype, unless a fraction meets an integer tensor.
Tensor scalar_like(const Tensor& t, double v) {
  DType d = t.dtype();
  if (!uops::is_float(d) && v != std::trunc(v)) d = DType::f32;
  if (uops::is_bool(d) && v != 0 && v != 1) d = DType::i32;
  return Tensor::full({}, v, d).to(t.device());
}

Tensor float_of(const Tensor& t) { return uops::is_float(t.dtype()) ? t : t.cast(DType::f32); }

} // namespace

Tensor Tensor::add(const Tensor& o) const { return binary(Op::ADD, *this, o, "add"); }
Tensor Tensor::sub(const Tensor& o) const { return binary(Op::SUB, *this, o, "sub"); }
Tensor Tensor::mul(const Tensor& o) const { return binary(Op::MUL, *this, o, "mul"); }
Tensor Tensor::div(const Tensor& o) const { return binary(Op::FDIV, float_of(*this), float_of(o), "div"); }
Tensor Tensor::maximum(const Tensor& o) const { return binary(Op::MAX, *this, o, "maximum"); }
Tensor Tensor::minimum(const Tensor& o) const { return binary(Op::MIN, *this, o, "minimum"); }
Tensor Tensor::lt(const Tensor& o) const { return binary(Op::CMPLT, *this, o, "lt"); }
Tensor Tensor::eq(const Tensor& o) const { return binary(Op::CMPEQ, *this, o, "eq"); }
Tensor Tensor::ne(const Tensor& o) const { return binary(Op::CMPNE, *this, o, "ne"); }
Tensor Tensor::neg() const {
  if (uops::is_bool(dtype())) throw TensorError("neg: not defined on bool");
  return unary(Op::NEG, *this, "neg");
}
Tensor Tensor::exp2() const { return unary(Op::EXP2, float_of(*this), "exp2"); }
Tensor Tensor::log2() const { return unary(Op::LOG2, float_of(*this), "log2"); }
Tensor Tensor::sqrt() const { return unary(Op::SQRT, float_of(*this), "sqrt"); }
Tensor Tensor::sin() const { return unary(Op::SIN, float_of(*this), "sin"); }
Tensor Tensor::reciprocal() const { return unary(Op::RECIP, float_of(*this), "reciprocal"); }
Tensor Tensor::trunc() const { return uops::is_float(dtype()) ? unary(Op::TRUNC, *this, "trunc") : *this; }

Tensor Tensor::where(const Tensor& a, const Tensor& b) const {
  Tensor c = dtype() == DType::bool_ ? *this : ne(scalar_like(*this, 0));
  auto [x, y] = broadcast(a, b, "where");
  auto [cx, xx] = broadcast(c, x, "where");
  auto [cy, yy] = broadcast(cx, y, "where");
  auto [xb, yb] = broadcast(xx, yy, "where");
  DType d = promote(a.dtype(), b.dtype());
  if (xb.dtype() != d) xb = xb.cast(d);
  if (yb.dtype() != d) yb = yb.cast(d);
  return Tensor::make(Op::WHERE, d, {cy.uop, xb.uop, yb.uop}, {}, device(), "where");
}

Tensor Tensor::cast(DType d) const {
  if (d == dtype()) return *this;
  return Tensor::make(Op::CAST, d, {uop}, {}, device(), "cast");
}

Tensor Tensor::bitcast(DType d) const {
  if (d == dtype()) return *this;
  return Tensor::make(Op::BITCAST, d, {uop}, {}, device(), "bitcast");
}

Tensor operator+(const Tensor& a, const Tensor& b) { return a.add(b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return a.sub(b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return a.mul(b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return a.div(b); }
Tensor operator-(const Tensor& a) { return a.neg(); }
Tensor operator+(const Tensor& a, double b) { return a.add(scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return a.sub(scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return a.mul(scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return a.div(scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return scalar_like(b, a).add(b); }
Tensor operator-(double a, const Tensor& b) { return scalar_like(b, a).sub(b); }
Tensor operator*(double a, const Tensor& b) { return scalar_like(b, a).mul(b); }
Tensor operator/(double a, const Tensor& b) { return scalar_like(b, a).div(b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return a.lt(b); }

} // namespace patgrad
