// The reference of fuzz_tensors (see tensor_reference.h). Each function states the semantics it implements; none
// calls patgrad beyond the dtype table (widths, kinds, names).
#include "tests/fuzz/tensor_reference.h"
#include <bit>
#include <cmath>

namespace patgrad::tensor_fuzz {

using uops::bits;
using uops::is_bool;
using uops::is_float;

namespace {

constexpr double kUlps = 4; // libm and the reference (double, then rounded) may differ by an ulp or so

struct Format {
  int mant, emin, emax;
};
Format format_of(DType d) {
  switch (d) {
  case DType::f16: return {10, -14, 15};
  case DType::bf16: return {7, -126, 127};
  case DType::f32: return {23, -126, 127};
  default: return {52, -1022, 1023};
  }
}
double ulp(DType d, double x) {
  Format f = format_of(d);
  return std::ldexp(1.0, (x == 0 ? f.emin : std::max(std::ilogb(x), f.emin)) - f.mant);
}
double max_finite(DType d) { return std::ldexp(2 - ulp(d, 1), format_of(d).emax); }

// A float result whose inputs drift by err: it drifts by its own rounding too.
MaybeElem float_result(DType d, double f, double err) {
  if (err == 0) return Elem{0, f, 0};
  err += ulp(d, f);
  if (std::isnan(f) || !std::isfinite(err) || std::fabs(f) + err >= max_finite(d)) return std::nullopt;
  return Elem{0, f, err};
}

// transcendental results drift by kUlps whatever the input; on an exact infinity or NaN they are exact
MaybeElem transcendental(DType d, const Elem& a, double f, double err) {
  if (a.err == 0 && (!std::isfinite(a.f) || !std::isfinite(f))) return Elem{0, f, 0}; // log2(0), log2(-1), exp2(999)
  return float_result(d, f, err + kUlps * ulp(d, f));
}

// IEEE maximum and minimum: NaN wins, -0 < +0
double fmax_ieee(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == b) return std::signbit(a) ? b : a;
  return a < b ? b : a;
}
double fmin_ieee(double a, double b) { return -fmax_ieee(-a, -b); }

// One output element of a reduction, in the accumulator's dtype. Integers wrap, so any order gives the same result;
// a float sum or product of more than two terms may come out otherwise in another order, and is only accepted where
// no order can overflow or lose bits to underflow.
MaybeElem reduce_elems(Arith op, DType d, const std::vector<Elem>& xs) {
  Elem r = op == Arith::MAX ? Elem{min_of(d), -INFINITY, 0} : constant(d, op == Arith::MUL ? 1 : 0); // the identity
  double err = 0, sum_abs = 0, big = 1, small = 1, n = double(xs.size());
  bool zero = false, nonfinite = false;
  for (const Elem& x : xs) {
    r = *arith(op, d, r, Elem{x.i, x.f, 0});
    if (!is_float(d)) continue;
    nonfinite |= !std::isfinite(x.f);
    double m = std::fabs(x.f);
    if (!std::isfinite(m)) continue;
    err = op == Arith::MAX ? std::max(err, x.err) : err + x.err;
    sum_abs += m;
    if (m + x.err > 1) big *= m + x.err;
    if (m - x.err <= 0)
      zero = true;
    else if (m < 1)
      small *= m - x.err;
  }
  if (!is_float(d) || op == Arith::MAX) return is_float(d) ? float_result(d, r.f, err) : MaybeElem(r);
  bool reorderable = n > 2 || err > 0;
  if (op == Arith::ADD) {
    if (sum_abs >= max_finite(d) / 2) return std::nullopt;
    if (nonfinite) return r;
    if (reorderable) err += n * (ulp(d, 1) * sum_abs + ulp(d, 0));
    if (r.f == 0 && !xs.empty()) err = std::max(err, ulp(d, 0)); // 0 + -0 or -0 alone: the sign is a choice
    return float_result(d, r.f, err);
  }
  if (big >= max_finite(d) / 2 || (!zero && small < 2 * std::ldexp(1.0, format_of(d).emin))) return std::nullopt;
  if (nonfinite || !reorderable) return r;
  double exact = 1, high = std::pow(1 + ulp(d, 1), n);
  for (const Elem& x : xs) exact *= std::fabs(x.f), high *= std::fabs(x.f) + x.err;
  return float_result(d, r.f, high - exact + n * ulp(d, 0));
}

} // namespace

Wide min_of(DType d) { return uops::is_signed(d) ? -(Wide(1) << (bits(d) - 1)) : 0; }
Wide max_of(DType d) {
  return is_bool(d) ? 1 : uops::is_signed(d) ? (Wide(1) << (bits(d) - 1)) - 1 : (Wide(1) << bits(d)) - 1;
}
Wide wrap(DType d, Wide v) {
  if (is_bool(d)) return v != 0;
  using U = unsigned __int128;
  U low = U(v) & ((U(1) << bits(d)) - 1);
  return uops::is_signed(d) && (low >> (bits(d) - 1)) ? Wide(low) - (Wide(1) << bits(d)) : Wide(low);
}

// long double holds every 64-bit integer and every double exactly
double round_to(DType d, long double x) {
  Format f = format_of(d);
  if (!std::isfinite(x) || x == 0) return double(x);
  long double q = std::ldexp(1.0L, std::max(int(std::ilogb(x)), f.emin) - f.mant);
  long double r = std::nearbyint(x / q) * q;
  return std::fabs(r) >= std::ldexp(1.0L, f.emax + 1) ? std::copysign(INFINITY, double(x)) : double(r);
}
// numpy's promotion: bool < integers < floats; the wider within a kind; signed with unsigned: a signed type that
// holds both (f64 for u64); f16 with bf16: f32
DType promote(DType a, DType b) {
  auto kind = [](DType d) { return is_bool(d) ? 0 : is_float(d) ? 2 : 1; };
  if (a == b) return a;
  if (kind(a) != kind(b)) return kind(a) > kind(b) ? a : b;
  if (is_float(a)) return bits(a) == bits(b) ? DType::f32 : bits(a) > bits(b) ? a : b;
  if (uops::is_signed(a) == uops::is_signed(b)) return bits(a) > bits(b) ? a : b;
  DType s = uops::is_signed(a) ? a : b, u = uops::is_signed(a) ? b : a;
  if (bits(s) > bits(u)) return s;
  return bits(u) == 8 ? DType::i16 : bits(u) == 16 ? DType::i32 : bits(u) == 32 ? DType::i64 : DType::f64;
}

Elem constant(DType d, double x) { return is_float(d) ? Elem{0, round_to(d, x), 0} : Elem{wrap(d, Wide(x)), 0, 0}; }

MaybeElem cast(DType to, DType from, const Elem& a) {
  if (to == from) return a;
  if (!is_float(from)) return is_float(to) ? Elem{0, round_to(to, (long double)a.i), 0} : Elem{wrap(to, a.i), 0, 0};
  if (is_float(to)) return float_result(to, round_to(to, a.f), a.err);
  if (is_bool(to)) return a.err > 0 && std::fabs(a.f) <= a.err ? std::nullopt : MaybeElem(Elem{a.f != 0, 0, 0});
  // truncation, saturating at the dtype's limits; NaN gives 0
  if (std::isnan(a.f)) return a.err > 0 ? std::nullopt : MaybeElem(Elem{0, 0, 0});
  auto saturate = [&](double x) { return std::clamp(std::trunc(x), double(min_of(to)), double(max_of(to))); };
  double lo = saturate(a.f - a.err), hi = saturate(a.f + a.err);
  if (lo != hi) return std::nullopt;
  Wide w = lo >= double(max_of(to)) ? max_of(to) : Wide(lo); // max_of(u64) and max_of(i64) round up as doubles
  return Elem{w, 0, 0};
}

MaybeElem ref_neg(DType d, const Elem& a) { return is_float(d) ? Elem{0, -a.f, a.err} : Elem{wrap(d, -a.i), 0, 0}; }
MaybeElem ref_exp2(DType d, const Elem& a) {
  double f = round_to(d, std::exp2(a.f));
  return transcendental(d, a, f, std::fabs(f) * std::expm1(a.err * M_LN2));
}
MaybeElem ref_log2(DType d, const Elem& a) {
  if (a.err > 0 && a.f - a.err <= 0) return std::nullopt;
  double f = round_to(d, std::log2(a.f));
  return transcendental(d, a, f, a.err == 0 ? 0 : a.err / ((a.f - a.err) * M_LN2));
}
MaybeElem ref_sin(DType d, const Elem& a) { return transcendental(d, a, round_to(d, std::sin(a.f)), a.err); }
MaybeElem ref_sqrt(DType d, const Elem& a) { // correctly rounded, like + - * /
  if (a.err == 0) return Elem{0, round_to(d, std::sqrt(a.f)), 0};
  if (a.f - a.err < 0) return std::nullopt;
  return float_result(d, round_to(d, std::sqrt(a.f)), std::sqrt(a.f) - std::sqrt(a.f - a.err));
}
MaybeElem ref_reciprocal(DType d, const Elem& a) {
  double m = std::fabs(a.f);
  if (a.err > 0 && m <= 2 * a.err) return std::nullopt;
  return float_result(d, round_to(d, 1.0 / a.f), a.err == 0 ? 0 : a.err / (m * (m - a.err)));
}
MaybeElem ref_trunc(DType d, const Elem& a) { // exact again where the drift cannot cross an integer or zero
  if (!is_float(d)) return a;
  double lo = std::trunc(a.f - a.err), hi = std::trunc(a.f + a.err);
  if (lo != hi || (a.err > 0 && a.f - a.err <= 0 && a.f + a.err >= 0)) return std::nullopt;
  return Elem{0, std::trunc(a.f), 0};
}

MaybeElem arith(Arith op, DType d, const Elem& a, const Elem& b) {
  if (!is_float(d)) {
    using U = unsigned __int128; // products of two u64 overflow __int128; the low bits are what we keep
    switch (op) {
    case Arith::ADD: return Elem{wrap(d, Wide(U(a.i) + U(b.i))), 0, 0};
    case Arith::SUB: return Elem{wrap(d, Wide(U(a.i) - U(b.i))), 0, 0};
    case Arith::MUL: return Elem{wrap(d, Wide(U(a.i) * U(b.i))), 0, 0};
    case Arith::MAX: return Elem{std::max(a.i, b.i), 0, 0};
    case Arith::MIN: return Elem{std::min(a.i, b.i), 0, 0};
    case Arith::DIV: return std::nullopt; // div works on floats only
    }
  }
  double x = std::fabs(a.f), y = std::fabs(b.f), ea = a.err, eb = b.err;
  bool exact = ea == 0 && eb == 0;
  switch (op) {
  case Arith::ADD: return float_result(d, round_to(d, a.f + b.f), ea + eb);
  case Arith::SUB: return float_result(d, round_to(d, a.f - b.f), ea + eb);
  case Arith::MUL: return float_result(d, round_to(d, a.f * b.f), exact ? 0 : (x + ea) * (y + eb) - x * y);
  case Arith::DIV:
    if (!exact && y <= 2 * eb) return std::nullopt;
    return float_result(d, round_to(d, a.f / b.f), exact ? 0 : (x * eb + y * ea) / (y * (y - eb)));
  case Arith::MAX: return float_result(d, fmax_ieee(a.f, b.f), std::max(ea, eb));
  case Arith::MIN: return float_result(d, fmin_ieee(a.f, b.f), std::max(ea, eb));
  }
  return std::nullopt;
}

MaybeElem compare(Cmp op, DType d, const Elem& a, const Elem& b) {
  bool lt = is_float(d) ? a.f < b.f : a.i < b.i, eq = is_float(d) ? a.f == b.f : a.i == b.i;
  if (is_float(d) && (a.err > 0 || b.err > 0) && !(std::fabs(a.f - b.f) > a.err + b.err)) return std::nullopt;
  return Elem{op == Cmp::LT ? lt : op == Cmp::EQ ? eq : !eq, 0, 0};
}

int64_t numel(const Shape& s) { return uops::prod(llvm::ArrayRef<int64_t>(s)); }

std::optional<Shape> broadcast_shape(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; i++) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())], y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

Shape unravel(int64_t k, const Shape& s) {
  Shape idx(s.size());
  for (size_t j = s.size(); j-- > 0;) idx[j] = k % s[j], k /= s[j];
  return idx;
}
int64_t ravel(const Shape& idx, const Shape& s) {
  int64_t k = 0;
  for (size_t j = 0; j < s.size(); j++) k = k * s[j] + idx[j];
  return k;
}

Array broadcast_to(const Array& a, const Shape& shape) {
  return gather(a, shape, [&](const Shape& idx) {
    Shape from(a.shape.size());
    for (size_t j = 0; j < from.size(); j++) from[j] = a.shape[j] == 1 ? 0 : idx[idx.size() - from.size() + j];
    return std::optional(from);
  });
}

std::optional<Array> cast_array(const Array& a, DType to) {
  return elementwise({a}, to, [&](const std::vector<Elem>& e) { return cast(to, a.dtype, e[0]); });
}

Array scalar_array(DType d, double c) { return Array{d, {}, {constant(d, c)}}; }

// the dtype of a Python-style scalar next to a tensor: the tensor's, unless a fraction meets integers (f32) or a
// number other than 0 and 1 meets bool (i32)
DType scalar_dtype(DType t, double c) {
  if (!is_float(t) && c != std::trunc(c)) return DType::f32;
  if (is_bool(t) && c != 0 && c != 1) return DType::i32;
  return t;
}

// bits of an element in its dtype's width (leaves' bytes, BITCAST); f16, bf16 and f32 values are exact in double
uint64_t to_bits(DType d, const Elem& e) {
  if (!is_float(d)) return uint64_t(e.i) & (bits(d) == 64 ? ~0ull : (1ull << std::max(bits(d), 8)) - 1);
  if (d == DType::f64) return std::bit_cast<uint64_t>(e.f);
  uint32_t f = std::bit_cast<uint32_t>(float(e.f));
  if (d == DType::f32) return f;
  if (d == DType::bf16) return f >> 16;
  uint64_t sign = (f >> 16) & 0x8000;
  double a = std::fabs(e.f);
  if (std::isnan(a)) return sign | 0x7e00;
  if (std::isinf(a)) return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) return sign | uint64_t(std::ldexp(a, 24)); // zero and subnormals: multiples of 2^-24
  int e2 = std::ilogb(a);
  return sign | uint64_t(e2 + 15) << 10 | (uint64_t(std::ldexp(a, 10 - e2)) & 0x3ff);
}
Elem from_bits(DType d, uint64_t b) {
  if (!is_float(d)) return Elem{wrap(d, uops::is_signed(d) ? Wide(int64_t(b)) : Wide(b)), 0, 0};
  if (d == DType::f64) return Elem{0, std::bit_cast<double>(b), 0};
  if (d == DType::f32) return Elem{0, std::bit_cast<float>(uint32_t(b)), 0};
  if (d == DType::bf16) return Elem{0, std::bit_cast<float>(uint32_t(b) << 16), 0};
  double sign = b & 0x8000 ? -1 : 1;
  int e2 = int(b >> 10) & 0x1f;
  double m = double(b & 0x3ff);
  if (e2 == 31) return Elem{0, m != 0 ? NAN : sign * INFINITY, 0};
  return Elem{0, sign * (e2 == 0 ? std::ldexp(m, -24) : std::ldexp(m + 1024, e2 - 25)), 0};
}

std::optional<Array> binary_ref(Domain domain, ElemOp ref, Array a, Array b) {
  if (domain == Domain::FLOAT) {
    if (!is_float(a.dtype)) a = *cast_array(a, DType::f32);
    if (!is_float(b.dtype)) b = *cast_array(b, DType::f32);
  }
  DType d = promote(a.dtype, b.dtype);
  if (domain == Domain::ARITH && is_bool(d)) return std::nullopt; // the op table has no bool arithmetic
  return elementwise({a, b}, domain == Domain::CMP ? DType::bool_ : d, [&](const std::vector<Elem>& e) {
    MaybeElem x = cast(d, a.dtype, e[0]), y = cast(d, b.dtype, e[1]); // widening: always defined
    return ref(d, *x, *y);
  });
}

std::optional<Array> where_ref(const Array& c, const Array& a, const Array& b) {
  DType d = promote(a.dtype, b.dtype);
  return elementwise({c, a, b}, d, [&](const std::vector<Elem>& e) -> MaybeElem {
    MaybeElem truth = is_bool(c.dtype) ? e[0] : compare(Cmp::NE, c.dtype, e[0], constant(c.dtype, 0));
    if (!truth) return std::nullopt;
    return truth->i ? cast(d, a.dtype, e[1]) : cast(d, b.dtype, e[2]);
  });
}

std::optional<Array> bitcast_ref(const Array& a, DType to) {
  return elementwise({a}, to, [&](const std::vector<Elem>& e) -> MaybeElem {
    if (e[0].err > 0 || (is_float(a.dtype) && std::isnan(e[0].f))) return std::nullopt; // NaN payloads are free
    return from_bits(to, to_bits(a.dtype, e[0]));
  });
}

// Integers and bool sum and multiply in i64 (u64 in u64; max in their own dtype), f16 and bf16 in f32, rounded once
// at the end.
std::optional<Array> reduce_ref(Arith op, const Array& x, const Shape& axes, bool keepdim) {
  size_t nd = x.shape.size();
  std::vector<bool> reduced(nd, axes.empty());
  for (int64_t a : axes) reduced[size_t(a < 0 ? a + int64_t(nd) : a)] = true;
  for (size_t j = 0; j < nd; j++)
    if (op == Arith::MAX && reduced[j] && x.shape[j] == 0) return std::nullopt; // an error: max has no identity
  DType d = x.dtype, acc = d;
  if (is_bool(d) || (!is_float(d) && d != DType::u64)) acc = op == Arith::MAX ? d : DType::i64;
  if (d == DType::f16 || d == DType::bf16) acc = DType::f32;
  Array src = *cast_array(x, acc);
  Shape kept = x.shape, squeezed;
  for (size_t j = 0; j < nd; j++) {
    if (reduced[j])
      kept[j] = 1;
    else
      squeezed.push_back(x.shape[j]);
  }
  std::vector<std::vector<Elem>> groups(size_t(numel(kept)));
  for (int64_t k = 0; k < numel(x.shape); k++) {
    Shape idx = unravel(k, x.shape);
    for (size_t j = 0; j < nd; j++)
      if (reduced[j]) idx[j] = 0;
    groups[size_t(ravel(idx, kept))].push_back(src.v[size_t(k)]);
  }
  Array r{acc, keepdim ? kept : squeezed, {}};
  for (const auto& g : groups) {
    MaybeElem e = nd == 0 ? MaybeElem(g[0]) : reduce_elems(op, acc, g); // a 0-d tensor is its own sum
    if (!e) return std::nullopt;
    r.v.push_back(*e);
  }
  return is_float(d) && acc != d ? cast_array(r, d) : std::optional(r);
}

} // namespace patgrad::tensor_fuzz
