// eval, the reference semantics: one table of cases per concern, one case per line.
#include "uops/uop.h"
#include <catch2/catch.hpp>
#include <cmath>
#include <fmt/format.h>
#include <llvm/ADT/SmallVector.h>

using namespace patgrad::uops;

namespace {

using Wide = __int128;
constexpr std::optional<Wide> undefined = std::nullopt;
constexpr Wide i64_min = INT64_MIN, i64_max = INT64_MAX, u64_max = Wide(UINT64_MAX), p63 = Wide(1) << 63;
const double qnan = std::nan("");

std::string show(std::optional<Wide> v) { return v ? format_wide(*v) : "undefined"; }
std::string show(std::optional<double> v) { return v ? fmt::format("{:a}", *v) : "undefined"; }

DType result_dtype(Op op, DType in) { return op_info(op).typing == Typing::CMP ? DType::bool_ : in; }

std::optional<Value> eval_values(Op op, DType out, DType in, std::initializer_list<Value> args) {
  return eval(op, out, in, std::span(args.begin(), args.size()));
}

// op on integer (or bool) arguments given as mathematical values, wrapped to the dtype on the way in.
std::optional<Wide> eval_ints(Op op, DType in, std::initializer_list<Wide> args) {
  llvm::SmallVector<Value, 3> values;
  for (Wide a : args) values.push_back(int_value(in, a));
  DType out = result_dtype(op, in);
  std::optional<Value> r = eval(op, out, in, values);
  return r ? std::optional<Wide>(as_wide(out, *r)) : undefined;
}

// op on float arguments, which must be values of the dtype.
std::optional<Value> eval_floats(Op op, DType in, std::initializer_list<double> args) {
  llvm::SmallVector<Value, 3> values;
  for (double a : args) {
    REQUIRE(same_value(in, float_value(in, a), Value{0, a}));
    values.push_back(Value{0, a});
  }
  return eval(op, result_dtype(op, in), in, values);
}

struct IntCase {
  Op op;
  DType dtype;
  Wide a, b;
  std::optional<Wide> want;
};

void check_ints(llvm::ArrayRef<IntCase> cases) {
  for (const IntCase& c : cases) {
    std::optional<Wide> got = eval_ints(c.op, c.dtype, {c.a, c.b});
    INFO(fmt::format("{}:{}({}, {}) is {}, want {}", op_info(c.op).name, name(c.dtype), format_wide(c.a),
                     format_wide(c.b), show(got), show(c.want)));
    CHECK(got == c.want);
  }
}

struct FloatCase {
  Op op;
  DType dtype;
  double a, b;
  double want; // compared bit-exactly: -0 is not +0; any NaN matches any NaN
};

void check_floats(llvm::ArrayRef<FloatCase> cases) {
  for (const FloatCase& c : cases) {
    std::optional<Value> got = eval_floats(c.op, c.dtype, {c.a, c.b});
    INFO(fmt::format("{}:{}({:a}, {:a}) is {}, want {:a}", op_info(c.op).name, name(c.dtype), c.a, c.b,
                     show(got ? std::optional(got->f) : std::nullopt), c.want));
    CHECK((got && same_value(c.dtype, *got, Value{0, c.want})));
  }
}

// A CAST's source: a float, or an integer or bool as its mathematical value.
struct Source {
  DType dtype;
  double f;
  Wide w;
  Value value() const { return is_float(dtype) ? Value{0, f} : int_value(dtype, w); }
  std::string show() const {
    return fmt::format("{} {}", name(dtype), is_float(dtype) ? fmt::format("{:a}", f) : format_wide(w));
  }
};
Source flt(DType d, double f) { return {d, f, 0}; }
Source num(DType d, Wide w) { return {d, 0, w}; }

} // namespace

TEST_CASE("floor division and modulo round toward negative infinity, as Python", "[eval]") {
  for (DType d : {DType::index, DType::i8, DType::i32, DType::i64}) {
    check_ints({
        {Op::IDIV, d, 7, 2, 3},
        {Op::IDIV, d, -7, 2, -4},
        {Op::IDIV, d, 7, -2, -4},
        {Op::IDIV, d, -7, -2, 3},
        {Op::IDIV, d, 6, -3, -2},
        {Op::IDIV, d, -6, 3, -2},
        {Op::IDIV, d, 0, -5, 0},
        {Op::IDIV, d, -1, 100, -1},
        {Op::MOD, d, 7, 2, 1},
        {Op::MOD, d, -7, 2, 1},
        {Op::MOD, d, 7, -2, -1},
        {Op::MOD, d, -7, -2, -1},
        {Op::MOD, d, 6, -3, 0},
        {Op::MOD, d, -6, 4, 2},
        {Op::MOD, d, 0, -5, 0},
        {Op::MOD, d, -1, 100, 99},
        // C's division truncates: the sign of the remainder follows the dividend
        {Op::CDIV, d, -7, 2, -3},
        {Op::CDIV, d, 7, -2, -3},
        {Op::CMOD, d, -7, 2, -1},
        {Op::CMOD, d, 7, -2, 1},
    });
  }
  check_ints({
      {Op::IDIV, DType::u8, 255, 16, 15},
      {Op::MOD, DType::u8, 255, 16, 15},
      {Op::IDIV, DType::u64, u64_max, 2, p63 - 1},
      {Op::MOD, DType::u64, u64_max, 10, 5},
  });
}

TEST_CASE("division by zero is undefined", "[eval]") {
  for (DType d : {DType::index, DType::i8, DType::u8, DType::i32, DType::u64})
    for (Op op : {Op::IDIV, Op::MOD, Op::CDIV, Op::CMOD})
      check_ints({{op, d, 5, 0, undefined}, {op, d, 0, 0, undefined}});
}

TEST_CASE("signed MIN divided by -1 is undefined, as LLVM's sdiv and srem", "[eval]") {
  check_ints({
      {Op::IDIV, DType::i8, -128, -1, undefined},
      {Op::CDIV, DType::i8, -128, -1, undefined},
      {Op::MOD, DType::i8, -128, -1, undefined},
      {Op::CMOD, DType::i8, -128, -1, undefined},
      {Op::IDIV, DType::i32, INT32_MIN, -1, undefined},
      {Op::IDIV, DType::i64, i64_min, -1, undefined},
      {Op::IDIV, DType::index, i64_min, -1, undefined},
      {Op::IDIV, DType::i8, -127, -1, 127},
      {Op::IDIV, DType::i8, -128, 1, -128},
      {Op::IDIV, DType::u8, 255, 255, 1},
  });
}

TEST_CASE("fixed-width integers wrap", "[eval]") {
  check_ints({
      {Op::ADD, DType::i8, 127, 1, -128},
      {Op::SUB, DType::i8, -128, 1, 127},
      {Op::MUL, DType::i8, 100, 3, 44},
      {Op::MUL, DType::i8, 16, 16, 0},
      {Op::ADD, DType::u8, 255, 1, 0},
      {Op::SUB, DType::u8, 0, 1, 255},
      {Op::MUL, DType::u8, 16, 17, 16},
      {Op::ADD, DType::i32, INT32_MAX, 1, INT32_MIN},
      {Op::MUL, DType::i32, 65536, 65536, 0},
      {Op::SUB, DType::u32, 0, 1, UINT32_MAX},
      {Op::ADD, DType::i64, i64_max, 1, i64_min},
      {Op::ADD, DType::u64, u64_max, 1, 0},
      {Op::SUB, DType::u64, 0, 1, u64_max},
      {Op::MUL, DType::u64, p63, 2, 0},
      {Op::MUL, DType::u64, u64_max, u64_max, 1},
  });
  CHECK(eval_ints(Op::NEG, DType::i8, {-128}) == -128);
  CHECK(eval_ints(Op::NEG, DType::u8, {1}) == 255);
  CHECK(eval_ints(Op::MULACC, DType::i8, {100, 2, 100}) == 44);
  CHECK(eval_ints(Op::MULACC, DType::u64, {u64_max, u64_max, u64_max}) == 0);
}

TEST_CASE("index overflow is reported as undefined, not wrapped", "[eval]") {
  const DType d = DType::index;
  check_ints({
      {Op::ADD, d, i64_max, 1, undefined},
      {Op::ADD, d, Wide(1) << 62, Wide(1) << 62, undefined},
      {Op::SUB, d, i64_min, 1, undefined},
      {Op::MUL, d, Wide(1) << 32, Wide(1) << 32, undefined},
      {Op::MUL, d, Wide(1) << 31, Wide(1) << 32, undefined},
      {Op::MUL, d, -(Wide(1) << 31), Wide(1) << 32, i64_min},
      {Op::SHL, d, 1, 63, undefined},
      {Op::SHL, d, -1, 63, i64_min},
      {Op::ADD, d, i64_max, 0, i64_max},
  });
  CHECK(eval_ints(Op::NEG, d, {i64_min}) == undefined);
  CHECK(eval_ints(Op::MULACC, d, {Wide(1) << 40, Wide(1) << 23, 0}) == undefined);
  CHECK(eval_ints(Op::MULACC, d, {Wide(1) << 40, Wide(1) << 23, -1}) == i64_max); // only the result is checked
}

TEST_CASE("shifts: a count outside [0, bits) is undefined, SHR is arithmetic on signed and logical on unsigned",
          "[eval]") {
  check_ints({
      {Op::SHL, DType::i8, 1, 7, -128},          {Op::SHL, DType::i8, 1, 8, undefined},
      {Op::SHL, DType::i8, 1, -1, undefined},    {Op::SHL, DType::u8, 255, 1, 254},
      {Op::SHL, DType::i32, 1, 31, INT32_MIN},   {Op::SHL, DType::i32, 1, 32, undefined},
      {Op::SHL, DType::u64, 1, 63, p63},         {Op::SHL, DType::u64, u64_max, 63, p63},
      {Op::SHL, DType::u64, 1, 64, undefined},   {Op::SHL, DType::index, 3, 4, 48},
      {Op::SHL, DType::index, 1, 64, undefined}, {Op::SHR, DType::i8, -128, 1, -64},
      {Op::SHR, DType::i8, -1, 7, -1},           {Op::SHR, DType::i8, -128, 8, undefined},
      {Op::SHR, DType::u8, 128, 7, 1},           {Op::SHR, DType::u8, 255, 4, 15},
      {Op::SHR, DType::i32, -8, 1, -4},          {Op::SHR, DType::u32, Wide(1) << 31, 31, 1},
      {Op::SHR, DType::u64, p63, 63, 1},         {Op::SHR, DType::u64, u64_max, 60, 15},
      {Op::SHR, DType::index, -9, 1, -5},        {Op::SHR, DType::index, 1, -1, undefined},
      {Op::SHR, DType::index, 1, 64, undefined},
  });
}

TEST_CASE("u64 compares and orders values above INT64_MAX as unsigned", "[eval]") {
  check_ints({
      {Op::CMPLT, DType::u64, p63, 1, 0},
      {Op::CMPLT, DType::u64, 1, p63, 1},
      {Op::CMPLT, DType::u64, u64_max, p63, 0},
      {Op::CMPLE, DType::u64, u64_max, u64_max, 1},
      {Op::CMPEQ, DType::u64, u64_max, u64_max, 1},
      {Op::CMPNE, DType::u64, p63, i64_min, 0}, // the same bits
      {Op::CMPLT, DType::i64, p63, 1, 1},       // as i64 the same bits are INT64_MIN
      {Op::MAX, DType::u64, p63, 1, p63},
      {Op::MIN, DType::u64, u64_max, 0, 0},
  });
}

TEST_CASE("an op on a dtype it is not defined on is undefined", "[eval]") {
  CHECK(eval_ints(Op::ADD, DType::bool_, {1, 1}) == undefined);
  CHECK(!eval_floats(Op::IDIV, DType::f32, {1, 2}));
  CHECK(!eval_floats(Op::AND, DType::f32, {1, 2}));
  CHECK(eval_ints(Op::XOR, DType::bool_, {1, 1}) == 0);
  CHECK(eval_ints(Op::MAX, DType::bool_, {0, 1}) == 1);
}

TEST_CASE("f16 and bf16 round to nearest even, keep subnormals and overflow to infinity", "[eval]") {
  const double u16 = std::ldexp(1.0, -24); // smallest f16 subnormal
  check_floats({
      {Op::ADD, DType::f16, 1, std::ldexp(1, -11), 1},                         // a tie: to even
      {Op::ADD, DType::f16, 1, 3 * std::ldexp(1, -11), 1 + std::ldexp(1, -9)}, // a tie: to even, upward
      {Op::ADD, DType::f16, 65504, 8, 65504},                                  // below the midpoint
      {Op::ADD, DType::f16, 65504, 16, INFINITY},                              // the midpoint to 2^16
      {Op::SUB, DType::f16, -65504, 16, -INFINITY},
      {Op::MUL, DType::f16, std::ldexp(1, -14), std::ldexp(1, -10), u16},         // a subnormal result
      {Op::MUL, DType::f16, std::ldexp(1, -14), std::ldexp(1, -11), 0},           // half the least: to even
      {Op::MUL, DType::f16, -std::ldexp(1, -14), std::ldexp(1, -12), -0.0},       // underflow keeps the sign
      {Op::MUL, DType::f16, 3 * std::ldexp(1, -15), std::ldexp(1, -10), 2 * u16}, // 1.5 least: to even
      {Op::ADD, DType::bf16, 1, std::ldexp(1, -8), 1},
      {Op::ADD, DType::bf16, 1, 3 * std::ldexp(1, -8), 1 + std::ldexp(1, -6)},
      {Op::MUL, DType::bf16, std::ldexp(1, -126), std::ldexp(1, -7), std::ldexp(1, -133)},
      {Op::MUL, DType::bf16, std::ldexp(1, -126), std::ldexp(1, -8), 0},
      {Op::MUL, DType::bf16, std::ldexp(1.5, 127), 2, INFINITY},
      {Op::ADD, DType::f32, 1, std::ldexp(1, -24), 1},
      {Op::ADD, DType::f32, 1, std::ldexp(1, -23), 1 + std::ldexp(1, -23)},
  });
  struct Case {
    DType dtype;
    double in, want;
  };
  const Case casts[] = {
      {DType::f16, 1 + std::ldexp(1, -11), 1},
      {DType::f16, 1 + std::ldexp(1, -11) + std::ldexp(1, -40), 1 + std::ldexp(1, -10)},
      {DType::f16, 65519, 65504},
      {DType::f16, 65520, INFINITY},
      {DType::f16, -1e300, -INFINITY},
      {DType::f16, std::ldexp(1, -25), 0},
      {DType::f16, std::ldexp(1, -25) + std::ldexp(1, -60), u16},
      {DType::f16, 3 * std::ldexp(1, -25), 2 * u16},
      {DType::f16, -std::ldexp(1, -26), -0.0},
      {DType::f16, qnan, qnan},
      {DType::bf16, 1 + std::ldexp(1, -8) + std::ldexp(1, -30), 1 + std::ldexp(1, -7)},
      {DType::bf16, 0x1.fep127, 0x1.fep127},
      {DType::bf16, 0x1.fefp127, 0x1.fep127},
      {DType::bf16, 0x1.ffp127, INFINITY},
      {DType::bf16, std::ldexp(1, -134), 0},
      {DType::bf16, 3 * std::ldexp(1, -134), std::ldexp(1, -132)},
      {DType::f32, 0x1.0000011p0, 0x1.000002p0},
  };
  for (const Case& c : casts) {
    std::optional<Value> got = eval_values(Op::CAST, c.dtype, DType::f64, {Value{0, c.in}});
    INFO(fmt::format("CAST f64 {:a} to {} is {}, want {:a}", c.in, name(c.dtype),
                     show(got ? std::optional(got->f) : std::nullopt), c.want));
    CHECK((got && same_value(c.dtype, *got, Value{0, c.want})));
  }
}

TEST_CASE("MULACC rounds once for every float dtype", "[eval]") {
  // 4097 * 4097 = 2^24 + 2^13 + 1 lies halfway between two f32 values; the tiny addend decides, but it is lost if the
  // sum is first rounded to double: the tie then goes to even, the wrong way.
  std::optional<Value> f32 = eval_values(Op::MULACC, DType::f32, DType::f32, {{0, 4097.0}, {0, 4097.0}, {0, 0x1p-30}});
  REQUIRE(f32);
  CHECK(f32->f == 16785410.0);
  std::optional<Value> bf16 = eval_values(Op::MULACC, DType::bf16, DType::bf16, {{0, 17.0}, {0, 17.0}, {0, 0x1p-100}});
  REQUIRE(bf16);
  CHECK(bf16->f == 290.0);
  std::optional<Value> f64 = eval_values(Op::MULACC, DType::f64, DType::f64, {{0, 0.1}, {0, 10.0}, {0, -1.0}});
  REQUIRE(f64);
  CHECK(f64->f == 0x1p-54); // 0.1 is 1 + 2^-54 over 10, and no rounding of the product hides it
}

TEST_CASE("float MAX and MIN propagate NaN and order -0 below +0", "[eval]") {
  for (DType d : {DType::f16, DType::bf16, DType::f32, DType::f64})
    check_floats({
        {Op::MAX, d, qnan, 1, qnan},
        {Op::MAX, d, 1, qnan, qnan},
        {Op::MIN, d, qnan, 1, qnan},
        {Op::MIN, d, 1, qnan, qnan},
        {Op::MAX, d, -0.0, 0.0, 0.0},
        {Op::MAX, d, 0.0, -0.0, 0.0},
        {Op::MIN, d, -0.0, 0.0, -0.0},
        {Op::MIN, d, 0.0, -0.0, -0.0},
        {Op::MAX, d, -INFINITY, 3, 3},
        {Op::MIN, d, INFINITY, 3, 3},
        {Op::MAX, d, 1, 2, 2},
    });
}

TEST_CASE("float comparisons follow IEEE: NaN is unordered, -0 equals +0", "[eval]") {
  auto cmp = [](Op op, double a, double b) {
    std::optional<Value> r = eval_values(op, DType::bool_, DType::f32, {Value{0, a}, Value{0, b}});
    REQUIRE(r);
    return r->i;
  };
  CHECK(cmp(Op::CMPLT, qnan, 1) == 0);
  CHECK(cmp(Op::CMPLE, qnan, qnan) == 0);
  CHECK(cmp(Op::CMPEQ, qnan, qnan) == 0);
  CHECK(cmp(Op::CMPNE, qnan, qnan) == 1);
  CHECK(cmp(Op::CMPEQ, -0.0, 0.0) == 1);
  CHECK(cmp(Op::CMPLT, -0.0, 0.0) == 0);
}

TEST_CASE("CAST: float to int truncates and saturates, NaN gives 0, to bool tests nonzero", "[eval]") {
  struct Case {
    Source from;
    DType to;
    std::optional<Wide> want;
  };
  const Case cases[] = {
      {flt(DType::f64, 2.75), DType::i32, 2},
      {flt(DType::f64, -2.75), DType::i32, -2},
      {flt(DType::f64, 127.9), DType::i8, 127},
      {flt(DType::f64, 128.0), DType::i8, 127},
      {flt(DType::f64, -128.9), DType::i8, -128},
      {flt(DType::f64, -129.0), DType::i8, -128},
      {flt(DType::f64, qnan), DType::i8, 0},
      {flt(DType::f64, INFINITY), DType::i8, 127},
      {flt(DType::f64, -INFINITY), DType::i64, i64_min},
      {flt(DType::f64, qnan), DType::u32, 0},
      {flt(DType::f64, -0.5), DType::u8, 0},
      {flt(DType::f64, -1.0), DType::u8, 0},
      {flt(DType::f64, 255.9), DType::u8, 255},
      {flt(DType::f64, 256.0), DType::u8, 255},
      {flt(DType::f64, 300.0), DType::u8, 255},
      {flt(DType::f64, 0x1p63), DType::i64, i64_max},
      {flt(DType::f64, -0x1p63), DType::i64, i64_min},
      {flt(DType::f64, 0x1p64), DType::u64, u64_max},
      {flt(DType::f64, 0x1.fffffffffffffp63), DType::u64, u64_max - 2047},
      {flt(DType::f64, 0x1p63), DType::index, i64_max},
      {flt(DType::f32, 0x1.fffffep30), DType::i32, 0x7fffff80},
      {flt(DType::f32, 0x1p31), DType::i32, INT32_MAX},
      {flt(DType::f16, 65504), DType::u16, 65504},
      {num(DType::i32, 5), DType::bool_, 1},
      {num(DType::i32, 0), DType::bool_, 0},
      {num(DType::i32, -1), DType::bool_, 1},
      {num(DType::u64, p63), DType::bool_, 1},
      {flt(DType::f32, 0.5), DType::bool_, 1},
      {flt(DType::f32, -0.0), DType::bool_, 0},
      {flt(DType::f32, qnan), DType::bool_, 1},
      {num(DType::bool_, 1), DType::i8, 1},
      {num(DType::i32, 300), DType::u8, 44},
      {num(DType::i32, -1), DType::u8, 255},
      {num(DType::u8, 255), DType::i8, -1},
      {num(DType::i8, -1), DType::u64, u64_max},
      {num(DType::u64, u64_max), DType::index, undefined},
      {num(DType::u64, 5), DType::index, 5},
      {num(DType::index, -1), DType::u32, UINT32_MAX},
  };
  for (const Case& c : cases) {
    std::optional<Value> got = eval_values(Op::CAST, c.to, c.from.dtype, {c.from.value()});
    std::optional<Wide> wide = got ? std::optional(as_wide(c.to, *got)) : undefined;
    INFO(fmt::format("CAST {} to {} is {}, want {}", c.from.show(), name(c.to), show(wide), show(c.want)));
    CHECK(wide == c.want);
  }
}

TEST_CASE("CAST to a float rounds once, to nearest even", "[eval]") {
  struct Case {
    Source from;
    DType to;
    double want;
  };
  const Wide tie60 = (Wide(1) << 60) + (Wide(1) << 36); // halfway between two f32 values
  const Case cases[] = {
      // through double first, 2^60 + 2^36 + 1 would round to the tie and then to even, 2^60
      {num(DType::i64, tie60 + 1), DType::f32, 0x1.000002p60},
      {num(DType::i64, -tie60 - 1), DType::f32, -0x1.000002p60},
      {num(DType::i64, tie60), DType::f32, 0x1p60},
      {num(DType::i64, (Wide(1) << 60) + (Wide(1) << 52) + 1), DType::bf16, 0x1.02p60},
      {num(DType::i64, (Wide(1) << 60) + (Wide(1) << 52) + 1), DType::f16, INFINITY},
      {num(DType::u64, u64_max), DType::f32, 0x1p64},
      {num(DType::u64, u64_max), DType::f64, 0x1p64},
      {num(DType::i64, (Wide(1) << 53) + 1), DType::f64, 0x1p53},
      {num(DType::i64, (Wide(1) << 53) + 3), DType::f64, 0x1p53 + 4},
      {num(DType::i32, 2049), DType::f16, 2048},
      {num(DType::i32, 2051), DType::f16, 2052},
      {num(DType::i32, 65520), DType::f16, INFINITY},
      {num(DType::i32, 257), DType::bf16, 256},
      {num(DType::i32, 259), DType::bf16, 260},
      {num(DType::i8, -128), DType::f16, -128},
      {num(DType::bool_, 1), DType::f32, 1},
      {flt(DType::f64, 0x1.0000011p0), DType::f32, 0x1.000002p0},
      {flt(DType::f32, 0x1.002p0), DType::f16, 0x1.000p0},
      {flt(DType::f32, 0x1.006p0), DType::f16, 0x1.008p0},
      {flt(DType::f16, 65504), DType::bf16, 65536},
      {flt(DType::f32, qnan), DType::f16, qnan},
      {flt(DType::f64, -0.0), DType::bf16, -0.0},
  };
  for (const Case& c : cases) {
    std::optional<Value> got = eval_values(Op::CAST, c.to, c.from.dtype, {c.from.value()});
    INFO(fmt::format("CAST {} to {} is {}, want {:a}", c.from.show(), name(c.to),
                     show(got ? std::optional(got->f) : std::nullopt), c.want));
    CHECK((got && same_value(c.to, *got, Value{0, c.want})));
  }
}

TEST_CASE("BITCAST keeps the bits: f32 <-> i32, f16 and bf16 <-> u16", "[eval]") {
  auto bits_of = [](DType from, double f, DType to) {
    std::optional<Value> r = eval_values(Op::BITCAST, to, from, {Value{0, f}});
    REQUIRE(r);
    return as_wide(to, *r);
  };
  auto float_of = [](DType from, Wide w, DType to) {
    std::optional<Value> r = eval_values(Op::BITCAST, to, from, {int_value(from, w)});
    REQUIRE(r);
    return r->f;
  };
  CHECK(bits_of(DType::f32, 1.0, DType::i32) == 0x3f800000);
  CHECK(bits_of(DType::f32, -0.0, DType::i32) == INT32_MIN);
  CHECK(bits_of(DType::f32, -1.0, DType::u32) == 0xbf800000);
  CHECK(bits_of(DType::f64, 1.0, DType::i64) == 0x3ff0000000000000);
  CHECK(float_of(DType::i32, 0x3f800000, DType::f32) == 1.0);
  CHECK(float_of(DType::u32, 0x7f800000, DType::f32) == INFINITY);
  CHECK(float_of(DType::u32, 1, DType::f32) == 0x1p-149);
  CHECK(float_of(DType::i32, -1082130432, DType::f32) == -1.0); // 0xbf800000
  CHECK(bits_of(DType::f16, 1.0, DType::u16) == 0x3c00);
  CHECK(bits_of(DType::f16, -2.0, DType::u16) == 0xc000);
  CHECK(bits_of(DType::f16, 65504, DType::u16) == 0x7bff);
  CHECK(bits_of(DType::f16, 0x1p-24, DType::u16) == 0x0001);
  CHECK(bits_of(DType::f16, 0x1p-14 - 0x1p-24, DType::u16) == 0x03ff);
  CHECK(bits_of(DType::f16, -0.0, DType::u16) == 0x8000);
  CHECK(bits_of(DType::f16, INFINITY, DType::u16) == 0x7c00);
  CHECK(bits_of(DType::f16, 1.0, DType::i16) == 0x3c00);
  CHECK(bits_of(DType::bf16, 1.0, DType::u16) == 0x3f80);
  CHECK(bits_of(DType::bf16, -0x1.fep127, DType::u16) == 0xff7f);
  CHECK(float_of(DType::u16, 0x3c00, DType::f16) == 1.0);
  CHECK(float_of(DType::u16, 0xfc00, DType::f16) == -INFINITY);
  CHECK(float_of(DType::u16, 0x0001, DType::f16) == 0x1p-24);
  CHECK(std::isnan(float_of(DType::u16, 0x7e00, DType::f16)));
  CHECK(std::isnan(float_of(DType::i16, -1, DType::f16)));
  CHECK(float_of(DType::u16, 0x3f80, DType::bf16) == 1.0);
  CHECK(!eval_values(Op::BITCAST, DType::f16, DType::i32, {Value{0, 0}}));
  CHECK(!eval_values(Op::BITCAST, DType::i64, DType::index, {Value{0, 0}}));
}

TEST_CASE("every f16 and bf16 bit pattern survives a BITCAST round trip, NaN as some NaN", "[eval]") {
  for (DType d : {DType::f16, DType::bf16}) {
    for (uint32_t raw = 0; raw < 0x10000; raw++) {
      std::optional<Value> f = eval_values(Op::BITCAST, d, DType::u16, {int_value(DType::u16, raw)});
      REQUIRE(f);
      REQUIRE(same_value(d, float_value(d, f->f), *f)); // a value of the dtype
      std::optional<Value> back = eval_values(Op::BITCAST, DType::u16, d, {*f});
      REQUIRE(back);
      if (!std::isnan(f->f)) REQUIRE(back->i == int64_t(raw));
    }
  }
}
