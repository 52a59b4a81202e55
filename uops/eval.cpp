// Reference semantics of every op: integers wrap at fixed width and are checked on index, floats are IEEE-754 in
// their own precision (computed in double, which is exact for one rounding of f16, bf16 and f32 +-*/ and sqrt).
#include "uops/ops.h"
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace patgrad::uops {
namespace {

using Wide = __int128;

// Round x to a binary format with `mant` fraction bits and normal exponents [emin, emax], to nearest even.
double round_to_format(double x, int mant, int emin, int emax) {
  if (std::isnan(x) || std::isinf(x) || x == 0) return x;
  int e = std::max(std::ilogb(x), emin);
  double quantum = std::ldexp(1.0, e - mant);
  double r = std::nearbyint(x / quantum) * quantum;
  if (std::fabs(r) >= std::ldexp(1.0, emax + 1)) return std::copysign(INFINITY, x);
  return r;
}

double round_float(DType d, double x) {
  switch (d) {
  case DType::f16: return round_to_format(x, 10, -14, 15);
  case DType::bf16: return round_to_format(x, 7, -126, 127);
  case DType::f32: return double(float(x));
  default: return x;
  }
}

// Rounding to odd: the exact value if it is a double, else its neighbouring double whose last bit is odd. Rounding
// that again to a format at least two bits narrower (f32, bf16, f16) gives the correctly rounded result, where rounding
// to nearest twice can land on a false tie. Takes the nearest double and the sign of its error (exact - nearest).
double round_to_odd(double nearest, double error) {
  if (error == 0 || std::isinf(nearest) || (std::bit_cast<uint64_t>(nearest) & 1)) return nearest;
  return std::nextafter(nearest, error > 0 ? INFINITY : -INFINITY);
}

// a + b rounded to odd (Knuth's TwoSum gives the rounding error exactly).
double add_to_odd(double a, double b) {
  double s = a + b, bb = s - a;
  return round_to_odd(s, (a - (s - bb)) + (b - bb));
}

// An integer (at most 2^64 in magnitude: Wide(nearest) is exact) rounded to odd.
double wide_to_odd(Wide v) {
  double nearest = double(v);
  return round_to_odd(nearest, double(v - Wide(nearest)));
}

std::optional<Value> wide_result(DType d, Wide v) {
  if (d == DType::index && (v < dtype_min(d) || v > dtype_max(d))) return std::nullopt;
  return int_value(d, v);
}

Wide floor_div(Wide a, Wide b) {
  Wide q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}

std::optional<Value> eval_int(Op op, DType d, std::span<const Value> args) {
  Wide a = as_wide(d, args[0]), b = args.size() > 1 ? as_wide(d, args[1]) : 0;
  bool divides = b != 0 && !(is_signed(d) && a == dtype_min(d) && b == -1);
  switch (op) {
  case Op::NEG: return wide_result(d, -a);
  case Op::ADD: return wide_result(d, a + b);
  case Op::SUB: return wide_result(d, a - b);
  case Op::MUL: // two 64-bit factors fit 128 bits, except u64's, which wrap modulo 2^64 anyway
    return wide_result(d, is_unsigned(d) ? Wide(uint64_t(a) * uint64_t(b)) : a * b);
  case Op::IDIV: return divides ? wide_result(d, floor_div(a, b)) : std::nullopt;
  case Op::MOD: return divides ? wide_result(d, a - b * floor_div(a, b)) : std::nullopt;
  case Op::CDIV: return divides ? wide_result(d, a / b) : std::nullopt;
  case Op::CMOD: return divides ? wide_result(d, a % b) : std::nullopt;
  case Op::MAX: return wide_result(d, std::max(a, b));
  case Op::MIN: return wide_result(d, std::min(a, b));
  case Op::AND: return wide_result(d, a & b);
  case Op::OR: return wide_result(d, a | b);
  case Op::XOR: return wide_result(d, a ^ b);
  case Op::SHL:
    if (b < 0 || b >= bits(d)) return std::nullopt;
    return wide_result(d, d == DType::index ? a * (Wide(1) << int(b)) : a << int(b));
  case Op::SHR:
    if (b < 0 || b >= bits(d)) return std::nullopt;
    return wide_result(d, a >> int(b)); // arithmetic on the mathematical value: floor(a / 2^b)
  case Op::MULACC:
    return wide_result(d, is_unsigned(d) ? Wide(uint64_t(a) * uint64_t(b) + uint64_t(args[2].i))
                                         : a * b + as_wide(d, args[2]));
  default: return std::nullopt;
  }
}

double fmax_ieee(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && b == 0) return std::signbit(a) ? b : a;
  return a < b ? b : a;
}
double fmin_ieee(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && b == 0) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

std::optional<Value> eval_float(Op op, DType d, std::span<const Value> args) {
  double a = args[0].f, b = args.size() > 1 ? args[1].f : 0;
  auto r = [&](double x) { return std::optional<Value>(float_value(d, x)); };
  switch (op) {
  case Op::NEG: return r(-a);
  case Op::RECIP: return r(1.0 / a);
  case Op::SQRT: return r(std::sqrt(a));
  case Op::EXP2: return r(std::exp2(a));
  case Op::LOG2: return r(std::log2(a));
  case Op::SIN: return r(std::sin(a));
  case Op::TRUNC: return r(std::trunc(a));
  case Op::ADD: return r(a + b);
  case Op::SUB: return r(a - b);
  case Op::MUL: return r(a * b);
  case Op::FDIV: return r(a / b);
  case Op::MAX: return r(fmax_ieee(a, b));
  case Op::MIN: return r(fmin_ieee(a, b));
  case Op::POW: return r(std::pow(a, b));
  case Op::MULACC: // a * b is exact in double for the narrower formats; the sum must not round twice to nearest
    return r(d == DType::f64 ? std::fma(a, b, args[2].f) : add_to_odd(a * b, args[2].f));
  default: return std::nullopt;
  }
}

bool compare(Op op, DType d, Value x, Value y) {
  if (is_float(d)) {
    double a = x.f, b = y.f;
    return op == Op::CMPLT ? a < b : op == Op::CMPLE ? a <= b : op == Op::CMPEQ ? a == b : a != b;
  }
  Wide a = as_wide(d, x), b = as_wide(d, y);
  return op == Op::CMPLT ? a < b : op == Op::CMPLE ? a <= b : op == Op::CMPEQ ? a == b : a != b;
}

std::optional<Value> cast(DType out, DType in, Value v) {
  if (is_float(in) && is_float(out)) return float_value(out, v.f);
  if (!is_float(in) && !is_float(out)) {
    if (is_bool(out)) return int_value(out, as_wide(in, v) != 0);
    Wide w = as_wide(in, v);
    return out == DType::index ? wide_result(out, w) : int_value(out, w);
  }
  if (!is_float(in)) { // double(Wide) rounds once, to nearest: right for f64 only
    Wide w = as_wide(in, v);
    return float_value(out, out == DType::f64 ? double(w) : wide_to_odd(w));
  }
  if (is_bool(out)) return int_value(out, v.f != 0);
  // float to int truncates toward zero and saturates at the dtype's limits; NaN gives 0 (LLVM's fptosi.sat and
  // fptoui.sat), so every device gives the same answer for every input
  double t = std::trunc(v.f);
  if (std::isnan(t)) return int_value(out, 0);
  if (t <= double(dtype_min(out))) return int_value(out, dtype_min(out));
  if (t >= double(dtype_max(out))) return int_value(out, dtype_max(out));
  return int_value(out, Wide(t));
}

std::optional<Value> bitcast(DType out, DType in, Value v) {
  if (bits(out) != bits(in) || out == DType::index || in == DType::index) return std::nullopt;
  uint64_t raw = is_float(in) ? float_bits(in, v.f) : uint64_t(v.i);
  if (is_float(out)) return Value{0, float_from_bits(out, raw)};
  return int_value(out, Wide(raw)); // int_value wraps to the width
}

} // namespace

Value int_value(DType d, Wide v) {
  if (is_bool(d)) return {v != 0, 0};
  if (d == DType::index) return {int64_t(v), 0};
  int n = bits(d);
  uint64_t mask = n == 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1;
  uint64_t low = uint64_t(v) & mask;
  if (is_signed(d) && n < 64 && (low >> (n - 1))) low |= ~mask; // sign-extend
  return {int64_t(low), 0};
}

Value float_value(DType d, double v) { return {0, round_float(d, v)}; }

Wide as_wide(DType d, Value v) { return d == DType::u64 ? Wide(uint64_t(v.i)) : Wide(v.i); }

bool same_value(DType d, Value a, Value b) {
  if (is_float(d)) // NaN payloads are not part of the semantics
    return std::bit_cast<uint64_t>(a.f) == std::bit_cast<uint64_t>(b.f) || (std::isnan(a.f) && std::isnan(b.f));
  return a.i == b.i;
}

std::optional<Value> eval(Op op, DType out, DType in, std::span<const Value> args) {
  const OpInfo& info = op_info(op);
  if (info.arity >= 0 && int(args.size()) != info.arity) return std::nullopt;
  switch (info.typing) {
  case Typing::CMP: return Value{compare(op, in, args[0], args[1]), 0};
  case Typing::SELECT: return args[0].i ? args[1] : args[2];
  case Typing::CONVERT: return op == Op::CAST ? cast(out, in, args[0]) : bitcast(out, in, args[0]);
  case Typing::LEAF:
  case Typing::FREE: return std::nullopt; // leaves, memory and loops have no value semantics
  case Typing::SAME: break;
  }
  if (!(info.operands & bit(in))) return std::nullopt;
  if (is_float(in)) return eval_float(op, in, args);
  if (is_bool(in)) { // bool as a one-bit unsigned integer
    bool a = args[0].i, b = args.size() > 1 && args[1].i;
    switch (op) {
    case Op::AND:
    case Op::MIN: return Value{a && b, 0};
    case Op::OR:
    case Op::MAX: return Value{a || b, 0};
    case Op::XOR: return Value{a != b, 0};
    default: return std::nullopt;
    }
  }
  return eval_int(op, in, args);
}

uint64_t float_bits(DType d, double v) {
  switch (d) {
  case DType::f64: return std::bit_cast<uint64_t>(v);
  case DType::f32: return std::bit_cast<uint32_t>(float(v));
  case DType::bf16: return std::bit_cast<uint32_t>(float(v)) >> 16; // v is already a bf16 value: exact
  case DType::f16: {
    uint32_t f = std::bit_cast<uint32_t>(float(v));
    uint32_t sign = (f >> 16) & 0x8000;
    if (std::isnan(v)) return sign | 0x7e00;
    if (std::isinf(v)) return sign | 0x7c00;
    double a = std::fabs(v);
    if (a == 0) return sign;
    int e = std::ilogb(a);
    if (e < -14) return sign | uint32_t(std::ldexp(a, 24)); // subnormal: a multiple of 2^-24
    return sign | uint32_t((e + 15) << 10) | (uint32_t(std::ldexp(a, 10 - e)) & 0x3ff);
  }
  default: return 0;
  }
}

double float_from_bits(DType d, uint64_t raw) {
  switch (d) {
  case DType::f64: return std::bit_cast<double>(raw);
  case DType::f32: return std::bit_cast<float>(uint32_t(raw));
  case DType::bf16: return std::bit_cast<float>(uint32_t(raw & 0xffff) << 16);
  case DType::f16: {
    double sign = (raw & 0x8000) ? -1.0 : 1.0;
    int e = int((raw >> 10) & 0x1f);
    uint64_t m = raw & 0x3ff;
    if (e == 31) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
    if (e == 0) return sign * std::ldexp(double(m), -24);
    return sign * std::ldexp(double(m | 0x400), e - 25);
  }
  default: return 0;
  }
}

} // namespace patgrad::uops
