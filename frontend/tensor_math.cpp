// Elementwise ops: operands broadcast to a common shape (numpy's rules) and promote to a common dtype. Everything
// beyond the op table's primitives is a composition of them, as in tinygrad (exp(x) = exp2(x * log2(e))).
#include "frontend/tensor_internal.h"
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace patgrad {

using uops::Op;
using uops::UOp;

namespace {

using detail::shape_str;

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
      throw TensorError(
          fmt::format("{}: cannot broadcast {} with {}", what, shape_str(a.shape()), shape_str(b.shape())));
    out[i] = x == 1 ? y : x;
  }
  return {broadcast_to(a, out), broadcast_to(b, out)};
}

// Broadcast to one shape and cast to one dtype: promote's, unless forced.
std::pair<Tensor, Tensor> operands(const Tensor& a, const Tensor& b, const char* what,
                                   std::optional<DType> force = std::nullopt) {
  auto [x, y] = broadcast(a, b, what);
  DType d = force ? *force : promote(a.dtype(), b.dtype());
  return {x.cast(d), y.cast(d)};
}

Tensor binary(Op op, const Tensor& a, const Tensor& b, const char* what, std::optional<DType> force = std::nullopt) {
  auto [x, y] = operands(a, b, what, force);
  DType out = uops::op_info(op).typing == uops::Typing::CMP ? DType::bool_ : x.dtype();
  return Tensor::make(op, out, {x.uop(), y.uop()}, {}, a.device(), what);
}

Tensor unary(Op op, const Tensor& a, const char* what) {
  return Tensor::make(op, a.dtype(), {a.uop()}, {}, a.device(), what);
}

// A Python-style scalar meets a tensor: it takes the tensor's dtype, unless a fraction meets an integer tensor.
Tensor scalar_like(const Tensor& t, double v) {
  DType d = t.dtype();
  if (!uops::is_float(d) && v != std::trunc(v)) d = DType::f32;
  if (uops::is_bool(d) && v != 0 && v != 1) d = DType::i32;
  return Tensor::full({}, v, d).to(t.device());
}

// A constant of exactly t's dtype (v must be representable in it).
Tensor constant_like(const Tensor& t, double v) { return Tensor::full({}, v, t.dtype()).to(t.device()); }

Tensor float_of(const Tensor& t) { return uops::is_float(t.dtype()) ? t : t.cast(DType::f32); }

// Composite float math runs in f32 for f16 and bf16 (each step rounding to 8 or 11 bits would add up, and PyTorch's
// CPU kernels do the same) and rounds once at the end; bool and integers compute in f32.
template <typename F>
Tensor float_math(const Tensor& t, F f) {
  DType d = t.dtype();
  if (d == DType::f32 || d == DType::f64) return f(t);
  Tensor r = f(t.cast(DType::f32));
  return uops::is_float(d) ? r.cast(d) : r;
}

void require_ints(const Tensor& x, const char* what) {
  if (!uops::is_int(x.dtype()))
    throw TensorError(fmt::format("{}: needs integer tensors, got {}", what, uops::name(x.dtype())));
}

Tensor to_bool(const Tensor& t) { return uops::is_bool(t.dtype()) ? t : t.ne(constant_like(t, 0)); }

// x ** e for integers by binary exponentiation from the top bit down: exact modulo 2^bits. The symbolic pass
// reassociates a product of products into one chain (mul_assoc), so squaring a square would grow the kernel as
// 2^bits; here every square is of a WHERE on the exponent's bit, which keeps it linear in the bits. The exponent must
// stay data for that: a constant one would fold the WHEREs away (pow(double) passes it in a buffer).
Tensor int_pow(const Tensor& x, const Tensor& e) {
  DType d = x.dtype();
  Tensor one = constant_like(x, 1), zero = constant_like(x, 0), result = one;
  for (int k = uops::bits(d) - 1; k >= 0; k--) {
    Tensor bit = Tensor(UOp::constant(d, __int128(1) << k), x.device());
    Tensor square = k == uops::bits(d) - 1 ? one : result * result;
    result = e.bitwise_and(bit).ne(zero).where(square * x, square);
  }
  if (!uops::is_signed(d)) return result;
  // 1 / x**n truncates to 0 unless |x| is 1
  Tensor odd = e.bitwise_and(one).ne(zero);
  Tensor negative = x.eq(one).where(one, x.eq(constant_like(x, -1)).where(odd.where(-one, one), zero));
  return e.lt(zero).where(negative, result);
}

// The divisor 0 (and -1 for signed dtypes, where MIN / -1 overflows) is replaced before dividing: on x86 both trap.
struct SafeDivision {
  Tensor x, by_zero, by_minus_one, divisor;
};
SafeDivision safe_division(const Tensor& a, const Tensor& b, const char* what) {
  auto [x, y] = operands(a, b, what);
  require_ints(x, what);
  Tensor one = constant_like(y, 1);
  Tensor by_zero = y.eq(constant_like(y, 0));
  Tensor by_minus_one = uops::is_signed(y.dtype()) ? y.eq(constant_like(y, -1)) : Tensor::full_like(y, 0, DType::bool_);
  return {x, by_zero, by_minus_one, by_zero.logical_or(by_minus_one).where(one, y)};
}

} // namespace

Tensor Tensor::add(const Tensor& o) const { return binary(Op::ADD, *this, o, "add"); }
Tensor Tensor::sub(const Tensor& o) const { return binary(Op::SUB, *this, o, "sub"); }
Tensor Tensor::mul(const Tensor& o) const { return binary(Op::MUL, *this, o, "mul"); }
Tensor Tensor::div(const Tensor& o) const { return binary(Op::FDIV, float_of(*this), float_of(o), "div"); }
Tensor Tensor::maximum(const Tensor& o) const { return binary(Op::MAX, *this, o, "maximum"); }
Tensor Tensor::minimum(const Tensor& o) const { return binary(Op::MIN, *this, o, "minimum"); }
Tensor Tensor::lt(const Tensor& o) const { return binary(Op::CMPLT, *this, o, "lt"); }
Tensor Tensor::le(const Tensor& o) const { return binary(Op::CMPLE, *this, o, "le"); }
Tensor Tensor::eq(const Tensor& o) const { return binary(Op::CMPEQ, *this, o, "eq"); }
Tensor Tensor::ne(const Tensor& o) const { return binary(Op::CMPNE, *this, o, "ne"); }
// a > b is b < a: ordered, so false where either is NaN
Tensor Tensor::gt(const Tensor& o) const {
  auto [x, y] = operands(*this, o, "gt");
  return binary(Op::CMPLT, y, x, "gt");
}
Tensor Tensor::ge(const Tensor& o) const {
  auto [x, y] = operands(*this, o, "ge");
  return binary(Op::CMPLE, y, x, "ge");
}
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

Tensor Tensor::exp() const {
  return float_math(*this, [](const Tensor& x) { return (x * std::numbers::log2e).exp2(); });
}
Tensor Tensor::log() const {
  return float_math(*this, [](const Tensor& x) { return x.log2() * std::numbers::ln2; });
}
Tensor Tensor::rsqrt() const {
  return float_math(*this, [](const Tensor& x) { return x.sqrt().reciprocal(); });
}
Tensor Tensor::cos() const {
  return float_math(*this, [](const Tensor& x) { return (std::numbers::pi / 2 - x).sin(); });
}
Tensor Tensor::tan() const {
  return float_math(*this, [](const Tensor& x) { return x.sin() / x.cos(); });
}
Tensor Tensor::sigmoid() const {
  return float_math(*this, [](const Tensor& x) { return (1 + (-x).exp()).reciprocal(); });
}
// tanh(x) = 2 sigmoid(2x) - 1: saturates to +-1 instead of overflowing to inf / inf
Tensor Tensor::tanh() const {
  return float_math(*this, [](const Tensor& x) { return 2 * (2 * x).sigmoid() - 1; });
}
Tensor Tensor::relu() const { return maximum(constant_like(*this, 0)); }
Tensor Tensor::leaky_relu(double slope) const {
  return float_math(*this, [&](const Tensor& x) { return (x > 0).where(x, x * slope); });
}
Tensor Tensor::gelu() const {
  return float_math(*this, [](const Tensor& x) {
    double k = std::sqrt(2 / std::numbers::pi);
    return 0.5 * x * (1 + (k * (x + 0.044715 * x * x * x)).tanh());
  });
}
Tensor Tensor::silu() const {
  return float_math(*this, [](const Tensor& x) { return x * x.sigmoid(); });
}
// log(1 + exp(bx)) / b written as (max(bx, 0) + log(1 + exp(-|bx|))) / b, which cannot overflow
Tensor Tensor::softplus(double beta) const {
  return float_math(*this, [&](const Tensor& x) {
    Tensor bx = x * beta;
    return (bx.relu() + (1 + (-bx.abs()).exp()).log()) / beta;
  });
}

// max(x, -x) rather than a comparison: abs(-0.0) is +0.0 and NaN stays NaN; MIN of a signed dtype stays MIN
Tensor Tensor::abs() const { return uops::is_signed(dtype()) || uops::is_float(dtype()) ? maximum(-*this) : *this; }
Tensor Tensor::sign() const {
  if (uops::is_bool(dtype())) return *this;
  Tensor zero = constant_like(*this, 0);
  Tensor s = gt(zero).cast(dtype());
  if (uops::is_unsigned(dtype())) return s;
  s = s - lt(zero).cast(dtype());
  return uops::is_float(dtype()) ? ne(*this).where(*this, s) : s;
}
Tensor Tensor::floor() const {
  if (!uops::is_float(dtype())) return *this;
  Tensor t = trunc();
  return (t > *this).where(t - 1, t);
}
Tensor Tensor::ceil() const {
  if (!uops::is_float(dtype())) return *this;
  Tensor t = trunc();
  return (t < *this).where(t + 1, t);
}
// x - floor(x) is exact for floats, so the comparisons with 0.5 are too; ties go to the even neighbour
Tensor Tensor::round() const {
  if (!uops::is_float(dtype())) return *this;
  Tensor f = floor(), frac = *this - f;
  Tensor odd = ((f * 0.5).floor() * 2).ne(f);
  Tensor up = (frac > 0.5).logical_or((frac.eq(constant_like(frac, 0.5))).logical_and(odd));
  Tensor r = up.where(f + 1, f);
  return r.eq(constant_like(r, 0)).where(*this * 0, r); // a zero keeps x's sign, as C's nearbyint: round(-0.4) is -0
}
Tensor Tensor::clip(double lo, double hi) const {
  return maximum(scalar_like(*this, lo)).minimum(scalar_like(*this, hi));
}

Tensor Tensor::pow(const Tensor& exponent) const {
  auto [x, e] = operands(*this, exponent, "pow");
  if (uops::is_bool(x.dtype())) throw TensorError("pow: not defined on bool");
  if (uops::is_int(x.dtype())) return int_pow(x, e);
  return float_math(x, [&](const Tensor& b) { return binary(Op::POW, b, e.cast(b.dtype()), "pow"); });
}
// A float exponent keeps the precision of the computation (f32 for f16 and bf16), as PyTorch's scalar does; integer
// and bool bases compute in f32 and stay there, whole exponents too (int ** 2.0 is float in Python).
Tensor Tensor::pow(double exponent) const {
  return float_math(*this, [&](const Tensor& x) {
    return binary(Op::POW, x, Tensor::full({}, exponent, x.dtype()).to(device()), "pow");
  });
}
// An integer exponent is exact on integers (in i32 for bool) and a float one on floats. It is passed in a buffer, as
// data: see int_pow.
Tensor Tensor::pow_int(int64_t exponent) const {
  if (uops::is_float(dtype())) return pow(double(exponent));
  DType d = uops::is_bool(dtype()) ? DType::i32 : dtype();
  return cast(d).pow(from_vector(std::vector<int64_t>{exponent}, Shape{}).to(device()).cast(d));
}

Tensor Tensor::logical_and(const Tensor& o) const { return binary(Op::AND, to_bool(*this), to_bool(o), "logical_and"); }
Tensor Tensor::logical_or(const Tensor& o) const { return binary(Op::OR, to_bool(*this), to_bool(o), "logical_or"); }
Tensor Tensor::logical_xor(const Tensor& o) const { return binary(Op::XOR, to_bool(*this), to_bool(o), "logical_xor"); }
Tensor Tensor::logical_not() const {
  return uops::is_bool(dtype()) ? ne(constant_like(*this, 1)) : eq(constant_like(*this, 0));
}

namespace {
Tensor bitwise(Op op, const Tensor& a, const Tensor& b, const char* what) {
  DType d = promote(a.dtype(), b.dtype());
  if (uops::is_float(d))
    throw TensorError(fmt::format("{}: needs integer or bool tensors, got {}", what, uops::name(d)));
  return binary(op, a, b, what);
}
} // namespace

Tensor Tensor::bitwise_and(const Tensor& o) const { return bitwise(Op::AND, *this, o, "bitwise_and"); }
Tensor Tensor::bitwise_or(const Tensor& o) const { return bitwise(Op::OR, *this, o, "bitwise_or"); }
Tensor Tensor::bitwise_xor(const Tensor& o) const { return bitwise(Op::XOR, *this, o, "bitwise_xor"); }

Tensor Tensor::idiv(const Tensor& o) const {
  SafeDivision s = safe_division(*this, o, "idiv");
  Tensor q = binary(Op::IDIV, s.x, s.divisor, "idiv");
  Tensor zero = constant_like(q, 0);
  return s.by_zero.where(zero, uops::is_signed(q.dtype()) ? s.by_minus_one.where(-s.x, q) : q);
}
Tensor Tensor::mod(const Tensor& o) const {
  SafeDivision s = safe_division(*this, o, "mod");
  Tensor r = binary(Op::MOD, s.x, s.divisor, "mod");
  return s.by_zero.where(s.x, s.by_minus_one.where(constant_like(r, 0), r));
}

Tensor Tensor::where(const Tensor& a, const Tensor& b) const {
  Tensor c = dtype() == DType::bool_ ? *this : ne(scalar_like(*this, 0));
  auto [x, y] = broadcast(a, b, "where");
  auto [cx, xx] = broadcast(c, x, "where");
  auto [cy, yy] = broadcast(cx, y, "where");
  auto [xb, yb] = broadcast(xx, yy, "where");
  DType d = promote(a.dtype(), b.dtype());
  return Tensor::make(Op::WHERE, d, {cy.uop(), xb.cast(d).uop(), yb.cast(d).uop()}, {}, device(), "where");
}

Tensor Tensor::cast(DType d) const {
  if (d == dtype()) return *this;
  return Tensor::make(Op::CAST, d, {uop()}, {}, device(), "cast");
}

Tensor Tensor::bitcast(DType d) const {
  if (d == dtype()) return *this;
  if (uops::bits(d) != uops::bits(dtype()))
    throw TensorError(fmt::format("bitcast: {} ({} bits) and {} ({} bits) differ in width", uops::name(dtype()),
                                  uops::bits(dtype()), uops::name(d), uops::bits(d)));
  return Tensor::make(Op::BITCAST, d, {uop()}, {}, device(), "bitcast");
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
Tensor operator<=(const Tensor& a, const Tensor& b) { return a.le(b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return a.gt(b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return a.ge(b); }
Tensor operator<(const Tensor& a, double b) { return a.lt(scalar_like(a, b)); }
Tensor operator<=(const Tensor& a, double b) { return a.le(scalar_like(a, b)); }
Tensor operator>(const Tensor& a, double b) { return a.gt(scalar_like(a, b)); }
Tensor operator>=(const Tensor& a, double b) { return a.ge(scalar_like(a, b)); }
Tensor operator<(double a, const Tensor& b) { return scalar_like(b, a).lt(b); }
Tensor operator<=(double a, const Tensor& b) { return scalar_like(b, a).le(b); }
Tensor operator>(double a, const Tensor& b) { return scalar_like(b, a).gt(b); }
Tensor operator>=(double a, const Tensor& b) { return scalar_like(b, a).ge(b); }
Tensor operator%(const Tensor& a, const Tensor& b) { return a.mod(b); }
Tensor operator%(const Tensor& a, double b) { return a.mod(scalar_like(a, b)); }
Tensor operator&(const Tensor& a, const Tensor& b) { return a.bitwise_and(b); }
Tensor operator|(const Tensor& a, const Tensor& b) { return a.bitwise_or(b); }
Tensor operator^(const Tensor& a, const Tensor& b) { return a.bitwise_xor(b); }

} // namespace patgrad
