// Elementwise ops on CPU and INTERP against naive references on the host, for every dtype each op supports, on
// shapes with size-1 and zero-size axes, on views that are not contiguous, with broadcasting and promotion.
#include "tests/frontend/check.h"
#include <bit>
#include <functional>
#include <numbers>
#include <numeric>

using namespace patgrad;
using patgrad::testing::check_close;

namespace {

const std::vector<DType> all_dtypes = {DType::bool_, DType::i8,  DType::i16, DType::i32, DType::i64,
                                       DType::u8,    DType::u16, DType::u32, DType::u64, DType::f16,
                                       DType::bf16,  DType::f32, DType::f64};
const std::vector<DType> number_dtypes(all_dtypes.begin() + 1, all_dtypes.end());
const std::vector<DType> int_dtypes(all_dtypes.begin() + 1, all_dtypes.begin() + 9);
const std::vector<DType> float_dtypes(all_dtypes.begin() + 9, all_dtypes.end());
const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 1}, {2, 0, 3}, {4, 3}, {2, 3, 4}};
const std::vector<Shape> float_shapes = {{7}, {2, 3, 4}, {6, 1}, {4, 3}};
// operand shapes that broadcast: the result is the larger
const std::vector<std::pair<Shape, Shape>> pairs = {
    {{4, 3}, {3}}, {{2, 1, 3}, {1, 4, 1}}, {{0, 3}, {1, 3}}, {{}, {2, 2}}, {{5}, {5}}, {{3, 1}, {1, 0}}, {{1}, {2, 3}}};

bool is_fp(DType d) { return d == DType::f16 || d == DType::bf16 || d == DType::f32 || d == DType::f64; }
bool is_uint(DType d) { return d == DType::u8 || d == DType::u16 || d == DType::u32 || d == DType::u64; }
int width(DType d) {
  switch (d) {
  case DType::bool_: return 1;
  case DType::i8:
  case DType::u8: return 8;
  case DType::i16:
  case DType::u16:
  case DType::f16:
  case DType::bf16: return 16;
  case DType::i32:
  case DType::u32:
  case DType::f32: return 32;
  default: return 64;
  }
}
int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// An integer wrapped to the dtype's width, as two's complement.
double wrap(DType d, __int128 v) {
  if (d == DType::bool_) return v != 0;
  int n = width(d);
  unsigned __int128 m = (unsigned __int128)v & ((((unsigned __int128)1) << n) - 1);
  if (!is_uint(d) && (m >> (n - 1))) return double(__int128(m) - (__int128(1) << n));
  return double(m);
}

// Inputs every dtype holds exactly: floats are multiples of 1/64 with at most 8 significant bits (exact in bf16 and
// f16; a coarser grid makes equal values common), integers lie in [lo, hi) cut to the dtype's range, bool is 0 or 1.
std::vector<double> sample(std::mt19937_64& rng, DType d, int64_t n, double lo, double hi, int grid = 64) {
  if (d == DType::bool_)
    lo = 0, hi = 2;
  else if (is_uint(d))
    lo = std::max(lo, 0.0);
  int scale = is_fp(d) ? grid : 1;
  std::uniform_int_distribution<int64_t> dist(int64_t(std::ceil(lo * scale)), int64_t(std::ceil(hi * scale)) - 1);
  std::vector<double> v(size_t(std::max<int64_t>(n, 0)));
  for (double& x : v) x = double(dist(rng)) / scale;
  return v;
}

// Unlike check.h's tensor_of, the conversion runs on INTERP: a CPU kernel per input would double the compile time,
// and the CPU cannot convert f64 to bf16 (its JIT lacks __truncdfbf2). Every value here is exact in f32.
Tensor tensor_of(const std::vector<double>& v, const Shape& shape, DType d, const runtime::Target* dev) {
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), shape).to("INTERP").cast(d).realize().to(dev);
}

std::vector<int64_t> unflatten(int64_t flat, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t i = s.size(); i-- > 0;) idx[i] = flat % s[i], flat /= s[i];
  return idx;
}
int64_t flatten(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t flat = 0;
  for (size_t i = 0; i < s.size(); i++) flat = flat * s[i] + idx[i];
  return flat;
}

// The same values as a view that is not contiguous (how: 0 contiguous, 1 every axis flipped, 2 first and last axes
// swapped by a permute, 3 a window of a larger buffer), so every op also runs through index arithmetic.
Tensor view_of(const std::vector<double>& v, const Shape& shape, DType d, const runtime::Target* dev, int how) {
  size_t n = shape.size();
  if (n == 0) return tensor_of(v, shape, d, dev);
  if (how == 1) { // flipping every axis of a row-major array reverses it
    Shape axes(n);
    std::iota(axes.begin(), axes.end(), 0);
    return tensor_of(std::vector<double>(v.rbegin(), v.rend()), shape, d, dev).flip(axes);
  }
  if (how == 2 && n >= 2) {
    Shape stored = shape, order(n);
    std::swap(stored[0], stored[n - 1]);
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[0], order[n - 1]);
    std::vector<double> data(v.size());
    for (size_t i = 0; i < v.size(); i++) {
      std::vector<int64_t> idx = unflatten(int64_t(i), shape);
      std::swap(idx[0], idx[n - 1]);
      data[size_t(flatten(idx, stored))] = v[i];
    }
    return tensor_of(data, stored, d, dev).permute(order);
  }
  if (how == 3) {
    Shape stored = shape;
    std::vector<std::pair<int64_t, int64_t>> window;
    for (int64_t& s : stored) window.push_back({1, s + 1}), s += 2;
    std::vector<double> data(size_t(count(stored)), 1);
    for (size_t i = 0; i < v.size(); i++) {
      std::vector<int64_t> idx = unflatten(int64_t(i), shape);
      for (int64_t& k : idx) k++;
      data[size_t(flatten(idx, stored))] = v[i];
    }
    return tensor_of(data, stored, d, dev).shrink(window);
  }
  return tensor_of(v, shape, d, dev);
}

struct Tol {
  double atol, rtol;
};
const Tol exact{0, 0};
// Float math: the f32 or f64 computation's own error (exp through exp2 and the like: 1e-5 relative and 1e-6
// absolute for f32, which covers the cancellation in 1 + tanh of gelu), plus, for f16 and bf16, which compute in f32,
// one rounding to the result: half an ulp, 2^-11 and 2^-8 relative.
Tol float_tol(DType out) {
  switch (out) {
  case DType::f64: return {1e-12, 1e-12};
  case DType::f16: return {1e-6, 0x1p-11 + 1e-5};
  case DType::bf16: return {1e-6, 0x1p-8 + 1e-5};
  default: return {1e-6, 1e-5};
  }
}

// Result dtypes: float math gives f32 for bool and integers; comparisons and logic give bool.
enum class Out { same, floating, boolean };
DType out_dtype(Out o, DType d) {
  if (o == Out::boolean) return DType::bool_;
  if (o == Out::floating && !is_fp(d)) return DType::f32;
  return d;
}

struct Unary {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(DType, double)> ref;
  std::vector<DType> dtypes;
  double lo, hi;
  Out out;
};

void check_unary(const Unary& u, std::mt19937_64& rng) {
  for (size_t i = 0; i < u.dtypes.size(); i++) {
    DType d = u.dtypes[i], out = out_dtype(u.out, d);
    // floats take shapes that hold the special values; the others cycle through every kind of shape
    const Shape& shape = is_fp(d) ? float_shapes[i % float_shapes.size()] : shapes[(i + 3) % shapes.size()];
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(u.name << " of " << uops::name(d) << " on " << dev->name << ", view " << i % 4);
      std::vector<double> x = sample(rng, d, count(shape), u.lo, u.hi), expected;
      const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.5, -2.5};
      for (size_t k = 0; is_fp(d) && k < x.size() && k < std::size(special); k++) x[k] = special[k];
      for (double v : x) expected.push_back(u.ref(d, v));
      Tensor got = u.op(view_of(x, shape, d, dev, int(i % 4)));
      CHECK(got.dtype() == out);
      Tol t = u.out == Out::floating ? float_tol(out) : exact;
      check_close(got, shape, expected, t.atol, t.rtol);
    }
  }
}

struct Binary {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(DType, double, double)> ref;
  std::vector<DType> dtypes;
  double alo, ahi, blo, bhi;
  Out out;
  int grid = 64; // floats are multiples of 1 / grid
};

void check_binary(const Binary& b, std::mt19937_64& rng) {
  for (size_t i = 0; i < b.dtypes.size(); i++) {
    DType d = b.dtypes[i], out = out_dtype(b.out, d);
    auto [sa, sb] = pairs[i % pairs.size()];
    Shape so(std::max(sa.size(), sb.size()));
    Shape pa(so.size() - sa.size(), 1), pb(so.size() - sb.size(), 1);
    pa.insert(pa.end(), sa.begin(), sa.end()), pb.insert(pb.end(), sb.begin(), sb.end());
    for (size_t k = 0; k < so.size(); k++) so[k] = pa[k] == 1 ? pb[k] : pa[k];
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(b.name << " of " << uops::name(d) << " on " << dev->name);
      std::vector<double> x = sample(rng, d, count(sa), b.alo, b.ahi, b.grid),
                          y = sample(rng, d, count(sb), b.blo, b.bhi, b.grid);
      std::vector<double> expected;
      for (int64_t f = 0; f < count(so); f++) {
        std::vector<int64_t> idx = unflatten(f, so), ia = idx, ib = idx;
        for (size_t k = 0; k < so.size(); k++) ia[k] = pa[k] == 1 ? 0 : idx[k], ib[k] = pb[k] == 1 ? 0 : idx[k];
        expected.push_back(b.ref(d, x[size_t(flatten(ia, pa))], y[size_t(flatten(ib, pb))]));
      }
      Tensor got = b.op(view_of(x, sa, d, dev, int(i % 4)), view_of(y, sb, d, dev, int((i + 1) % 4)));
      CHECK(got.dtype() == out);
      Tol t = b.out == Out::floating ? float_tol(out) : exact;
      check_close(got, so, expected, t.atol, t.rtol);
    }
  }
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double sign(double x) { return std::isnan(x) ? x : double((x > 0) - (x < 0)); }

__int128 floor_div(__int128 a, __int128 b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
double idiv_ref(DType d, double a, double b) { return b == 0 ? 0 : wrap(d, floor_div(__int128(a), __int128(b))); }
double mod_ref(DType d, double a, double b) {
  return b == 0 ? a : wrap(d, __int128(a) - __int128(b) * floor_div(__int128(a), __int128(b)));
}
// integer power modulo 2^bits; a negative exponent: the integer part of 1 / a**-e
double int_pow_ref(DType d, double a, double e) {
  if (e < 0) return a == 1 ? 1 : a == -1 ? (int64_t(e) % 2 ? -1 : 1) : 0;
  __int128 r = 1;
  for (int64_t k = 0; k < int64_t(e); k++) r = __int128(wrap(d, r * __int128(a)));
  return wrap(d, r);
}

} // namespace

TEST_CASE("float math matches libm within the dtype's tolerance", "[math]") {
  std::mt19937_64 rng(1);
  auto f = [](double (*g)(double)) { return [g](DType, double x) { return g(x); }; };
  const double k = std::sqrt(2 / std::numbers::pi);
  const std::vector<Unary> ops = {
      {"exp", [](const Tensor& x) { return x.exp(); }, f(std::exp), all_dtypes, -4, 4, Out::floating},
      {"log", [](const Tensor& x) { return x.log(); }, f(std::log), all_dtypes, -1, 4, Out::floating},
      {"exp2", [](const Tensor& x) { return x.exp2(); }, f(std::exp2), all_dtypes, -4, 4, Out::floating},
      {"log2", [](const Tensor& x) { return x.log2(); }, f(std::log2), all_dtypes, -1, 4, Out::floating},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }, f(std::sqrt), all_dtypes, -1, 4, Out::floating},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, [](DType, double x) { return 1 / std::sqrt(x); }, all_dtypes,
       -1, 4, Out::floating},
      {"sin", [](const Tensor& x) { return x.sin(); }, f(std::sin), all_dtypes, -4, 4, Out::floating},
      {"cos", [](const Tensor& x) { return x.cos(); }, f(std::cos), all_dtypes, -4, 4, Out::floating},
      // away from the poles at +-pi/2, where tan's condition number exceeds what an f32 tolerance allows
      {"tan", [](const Tensor& x) { return x.tan(); }, f(std::tan), all_dtypes, -1.2, 1.2, Out::floating},
      {"tanh", [](const Tensor& x) { return x.tanh(); }, f(std::tanh), all_dtypes, -4, 4, Out::floating},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, f(sigmoid), all_dtypes, -4, 4, Out::floating},
      {"leaky_relu", [](const Tensor& x) { return x.leaky_relu(); },
       [](DType, double x) { return x > 0 ? x : 0.01 * x; }, all_dtypes, -4, 4, Out::floating},
      {"gelu", [](const Tensor& x) { return x.gelu(); },
       [k](DType, double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }, all_dtypes, -4, 4,
       Out::floating},
      {"silu", [](const Tensor& x) { return x.silu(); }, [](DType, double x) { return x * sigmoid(x); }, all_dtypes, -4,
       4, Out::floating},
      {"softplus", [](const Tensor& x) { return x.softplus(); },
       [](DType, double x) { return x > 20 ? x : std::log1p(std::exp(x)); }, all_dtypes, -4, 4, Out::floating},
      {"softplus(beta=2)", [](const Tensor& x) { return x.softplus(2); },
       [](DType, double x) { return x > 20 ? x : std::log1p(std::exp(2 * x)) / 2; }, float_dtypes, -4, 4,
       Out::floating},
  };
  for (const Unary& u : ops) check_unary(u, rng);
}

TEST_CASE("rounding, sign and clipping are exact on every dtype", "[math]") {
  std::mt19937_64 rng(2);
  std::vector<DType> signed_dtypes;
  for (DType d : number_dtypes)
    if (!is_uint(d)) signed_dtypes.push_back(d);
  // inputs are multiples of 1/64, so halves (ties) and whole numbers both occur
  const std::vector<Unary> ops = {
      {"abs", [](const Tensor& x) { return x.abs(); }, [](DType, double x) { return std::fabs(x); }, all_dtypes, -3, 3,
       Out::same},
      {"sign", [](const Tensor& x) { return x.sign(); }, [](DType, double x) { return sign(x); }, all_dtypes, -3, 3,
       Out::same},
      {"floor", [](const Tensor& x) { return x.floor(); }, [](DType, double x) { return std::floor(x); }, all_dtypes,
       -3, 3, Out::same},
      {"ceil", [](const Tensor& x) { return x.ceil(); }, [](DType, double x) { return std::ceil(x); }, all_dtypes, -3,
       3, Out::same},
      {"round", [](const Tensor& x) { return x.round(); }, [](DType, double x) { return std::nearbyint(x); },
       all_dtypes, -3, 3, Out::same},
      {"trunc", [](const Tensor& x) { return x.trunc(); }, [](DType, double x) { return std::trunc(x); }, all_dtypes,
       -3, 3, Out::same},
      {"relu", [](const Tensor& x) { return x.relu(); }, [](DType, double x) { return std::max(x, 0.0); }, all_dtypes,
       -3, 3, Out::same},
      {"neg", [](const Tensor& x) { return -x; }, [](DType, double x) { return -x; }, signed_dtypes, -3, 3, Out::same},
      {"clip(1, 3)", [](const Tensor& x) { return x.clip(1, 3); },
       [](DType, double x) { return std::min(std::max(x, 1.0), 3.0); }, number_dtypes, -2, 6, Out::same},
      {"clip(-1.25, 0.5)", [](const Tensor& x) { return x.clip(-1.25, 0.5); },
       [](DType, double x) { return std::min(std::max(x, -1.25), 0.5); }, float_dtypes, -2, 2, Out::same},
      {"clip(2, 1)", [](const Tensor& x) { return x.clip(2, 1); },
       [](DType, double x) { return std::isnan(x) ? x : 1.0; }, number_dtypes, -2, 6, Out::same},
      {"logical_not", [](const Tensor& x) { return x.logical_not(); }, [](DType, double x) { return double(x == 0); },
       all_dtypes, -2, 2, Out::boolean},
  };
  for (const Unary& u : ops) check_unary(u, rng);
}

TEST_CASE("binary ops broadcast and match the reference on every dtype they support", "[math]") {
  std::mt19937_64 rng(3);
  auto b = [](bool v) { return double(v); };
  const std::vector<Binary> ops = {
      {"maximum", [](const Tensor& x, const Tensor& y) { return x.maximum(y); },
       [](DType, double x, double y) { return std::max(x, y); }, all_dtypes, -3, 3, -3, 3, Out::same},
      {"minimum", [](const Tensor& x, const Tensor& y) { return x.minimum(y); },
       [](DType, double x, double y) { return std::min(x, y); }, all_dtypes, -3, 3, -3, 3, Out::same},
      {"<", [](const Tensor& x, const Tensor& y) { return x < y; }, [b](DType, double x, double y) { return b(x < y); },
       all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {"<=", [](const Tensor& x, const Tensor& y) { return x <= y; },
       [b](DType, double x, double y) { return b(x <= y); }, all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {">", [](const Tensor& x, const Tensor& y) { return x > y; }, [b](DType, double x, double y) { return b(x > y); },
       all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {">=", [](const Tensor& x, const Tensor& y) { return x >= y; },
       [b](DType, double x, double y) { return b(x >= y); }, all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {"eq", [](const Tensor& x, const Tensor& y) { return x.eq(y); },
       [b](DType, double x, double y) { return b(x == y); }, all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {"ne", [](const Tensor& x, const Tensor& y) { return x.ne(y); },
       [b](DType, double x, double y) { return b(x != y); }, all_dtypes, -2, 2, -2, 2, Out::boolean, 4},
      {"logical_and", [](const Tensor& x, const Tensor& y) { return x.logical_and(y); },
       [b](DType, double x, double y) { return b(x != 0 && y != 0); }, all_dtypes, -1, 2, -1, 2, Out::boolean, 1},
      {"logical_or", [](const Tensor& x, const Tensor& y) { return x.logical_or(y); },
       [b](DType, double x, double y) { return b(x != 0 || y != 0); }, all_dtypes, -1, 2, -1, 2, Out::boolean, 1},
      {"logical_xor", [](const Tensor& x, const Tensor& y) { return x.logical_xor(y); },
       [b](DType, double x, double y) { return b((x != 0) != (y != 0)); }, all_dtypes, -1, 2, -1, 2, Out::boolean, 1},
  };
  for (const Binary& op : ops) check_binary(op, rng);
}

TEST_CASE("integer ops: bitwise, floor division, modulo and power wrap like two's complement", "[math]") {
  std::mt19937_64 rng(4);
  std::vector<DType> int_bool = int_dtypes;
  int_bool.push_back(DType::bool_);
  auto bit = [](DType d, double x, double y, int op) {
    __int128 a = __int128(x), c = __int128(y);
    return wrap(d, op == 0 ? a & c : op == 1 ? a | c : a ^ c);
  };
  // divisors include 0 (x // 0 = 0, x % 0 = x) and -1
  const std::vector<Binary> ops = {
      {"&", [](const Tensor& x, const Tensor& y) { return x & y; },
       [bit](DType d, double x, double y) { return bit(d, x, y, 0); }, int_bool, -100, 100, -100, 100, Out::same},
      {"|", [](const Tensor& x, const Tensor& y) { return x | y; },
       [bit](DType d, double x, double y) { return bit(d, x, y, 1); }, int_bool, -100, 100, -100, 100, Out::same},
      {"^", [](const Tensor& x, const Tensor& y) { return x ^ y; },
       [bit](DType d, double x, double y) { return bit(d, x, y, 2); }, int_bool, -100, 100, -100, 100, Out::same},
      {"idiv", [](const Tensor& x, const Tensor& y) { return x.idiv(y); }, idiv_ref, int_dtypes, -100, 100, -5, 5,
       Out::same},
      {"%", [](const Tensor& x, const Tensor& y) { return x % y; }, mod_ref, int_dtypes, -100, 100, -5, 5, Out::same},
      {"pow", [](const Tensor& x, const Tensor& y) { return x.pow(y); }, int_pow_ref, int_dtypes, -5, 6, -2, 10,
       Out::same},
  };
  for (const Binary& op : ops) check_binary(op, rng);
}

TEST_CASE("float pow is C's pow: NaN for a negative base and a fractional exponent", "[math]") {
  std::mt19937_64 rng(5);
  check_binary({"pow", [](const Tensor& x, const Tensor& y) { return x.pow(y); },
                [](DType, double x, double y) { return std::pow(x, y); }, float_dtypes, -2, 2, -2, 3,
                Out::floating}, // (1/64) ** -2 still fits f16
               rng);
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor x = Tensor::from_vector<float>({-2, -8, 0, 3, 1.5f}).to(dev);
    check_close(x.pow(2), {5}, {4, 64, 0, 9, 2.25}, 1e-6, 1e-6);
    check_close(x.pow(-1), {5}, {-0.5, -0.125, INFINITY, 1 / 3., 1 / 1.5}, 1e-6, 1e-6);
    check_close(x.pow(0.5), {5}, {NAN, NAN, 0, std::sqrt(3), std::sqrt(1.5)}, 1e-6, 1e-6);
    Tensor i = Tensor::from_vector<int32_t>({-3, 2, 7}).to(dev);
    CHECK(i.pow(3).dtype() == DType::i32);
    check_close(i.pow(3), {3}, {-27, 8, 343}, 0);
    check_close(i.pow(0.5), {3}, {NAN, std::sqrt(2), std::sqrt(7)}, 1e-6, 1e-6); // a fraction promotes to f32
  }
}

TEST_CASE("a float exponent makes an integer or bool base float, whole values too, as a Python float", "[math]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    for (DType d : {DType::i8, DType::i32, DType::i64, DType::u8}) {
      Tensor i = Tensor::from_vector<int32_t>({1, 2, 3, 4}).cast(d).to(dev);
      INFO(uops::name(d));
      CHECK(i.pow(-1.0).dtype() == DType::f32);
      check_close(i.pow(-1.0), {4}, {1, 0.5, 1 / 3., 0.25}, 1e-7, 1e-7); // not [1, 0, 0, 0]
      CHECK(i.pow(2.0).dtype() == DType::f32);
      check_close(i.pow(2.0), {4}, {1, 4, 9, 16}, 0);
      CHECK(i.pow(2).dtype() == d); // an integer exponent keeps the integer dtype, exactly
      check_close(i.pow(2), {4}, {1, 4, 9, 16}, 0);
      if (uops::is_signed(d)) check_close(i.pow(-1), {4}, {1, 0, 0, 0}, 0); // unsigned: -1 wraps to the max
    }
    Tensor b = Tensor::from_vector<bool>({true, false}).to(dev);
    CHECK(b.pow(2.0).dtype() == DType::f32);
    check_close(b.pow(2.0), {2}, {1, 0}, 0);
    CHECK(b.pow(3).dtype() == DType::i32);
    check_close(b.pow(0), {2}, {1, 1}, 0);
    Tensor h = Tensor::from_vector<float>({2, 3}).cast(DType::f16).to(dev); // floats keep their dtype either way
    CHECK(h.pow(2).dtype() == DType::f16);
    CHECK(h.pow(-1.0).dtype() == DType::f16);
    check_close(h.pow(3), {2}, {8, 27}, 0);
  }
}

TEST_CASE("division edge cases: by zero and MIN // -1 are defined, not traps", "[math]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    // i8: every pair of these, including -128 // -1, which overflows and wraps to -128
    std::vector<double> a = {-128, -127, -7, -1, 0, 1, 7, 127}, b = {-128, -3, -1, 0, 1, 3, 127};
    Tensor x = tensor_of(a, {8, 1}, DType::i8, dev), y = tensor_of(b, {1, 7}, DType::i8, dev);
    std::vector<double> q, r;
    for (double u : a)
      for (double v : b) q.push_back(idiv_ref(DType::i8, u, v)), r.push_back(mod_ref(DType::i8, u, v));
    check_close(x.idiv(y), {8, 7}, q, 0);
    check_close(x % y, {8, 7}, r, 0);
    CHECK(x.idiv(y).to_vector<int8_t>()[0 * 7 + 2] == -128); // -128 // -1
    for (DType d : {DType::i64, DType::u32}) {
      Tensor n = tensor_of({5, 0, 9}, {3}, d, dev), zero = tensor_of({0, 0, 0}, {3}, d, dev);
      check_close(n.idiv(zero), {3}, {0, 0, 0}, 0);
      check_close(n % zero, {3}, {5, 0, 9}, 0);
      check_close(n % 4, {3}, {1, 0, 1}, 0);
    }
  }
}

TEST_CASE("comparisons with NaN are false except ne; maximum propagates NaN; signs of zero from abs and round",
          "[math]") {
  for (DType d : float_dtypes)
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(uops::name(d) << " on " << dev->name);
      Tensor x = tensor_of({NAN, NAN, 1, -0.0}, {4}, d, dev), y = tensor_of({NAN, 1, NAN, 0}, {4}, d, dev);
      check_close(x < y, {4}, {0, 0, 0, 0}, 0);
      check_close(x <= y, {4}, {0, 0, 0, 1}, 0);
      check_close(x > y, {4}, {0, 0, 0, 0}, 0);
      check_close(x >= y, {4}, {0, 0, 0, 1}, 0);
      check_close(x.eq(y), {4}, {0, 0, 0, 1}, 0);
      check_close(x.ne(y), {4}, {1, 1, 1, 0}, 0);
      check_close(x.maximum(y), {4}, {NAN, NAN, NAN, 0}, 0);
      check_close(x.minimum(y), {4}, {NAN, NAN, NAN, -0.0}, 0);
      std::vector<double> a = tensor_of({-0.0, -INFINITY}, {2}, d, dev).abs().to_vector<double>();
      CHECK(!std::signbit(a[0]));
      CHECK(a[1] == INFINITY);
      std::vector<double> r = tensor_of({-0.4, -0.5, 0.25, -0.0}, {4}, d, dev).round().to_vector<double>();
      CHECK((std::signbit(r[0]) && std::signbit(r[1]) && !std::signbit(r[2]) && std::signbit(r[3])));
    }
}

TEST_CASE("mixed dtypes promote: bool < integers < floats; a scalar takes the tensor's dtype", "[math]") {
  struct Case {
    DType a, b, out;
  };
  // i8 with u8 needs i16; u64 with a signed dtype has no integer home: f64 (as numpy)
  const Case cases[] = {{DType::i8, DType::u8, DType::i16},    {DType::i32, DType::f16, DType::f16},
                        {DType::f16, DType::bf16, DType::f32}, {DType::bool_, DType::i32, DType::i32},
                        {DType::u64, DType::i8, DType::f64},   {DType::u16, DType::u32, DType::u32}};
  for (const Case& c : cases)
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(uops::name(c.a) << " with " << uops::name(c.b) << " on " << dev->name);
      Tensor x = tensor_of({0, 1, 1}, {3}, c.a, dev), y = tensor_of({1, 0, 1}, {3}, c.b, dev);
      CHECK(x.maximum(y).dtype() == c.out);
      check_close(x.maximum(y), {3}, {1, 1, 1}, 0);
      check_close(x < y, {3}, {1, 0, 0}, 0);
      check_close(y >= x, {3}, {1, 0, 1}, 0);
    }
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor i = Tensor::from_vector<int32_t>({1, 2, 3}).to(dev);
    CHECK((i < 2).dtype() == DType::bool_);
    check_close(i < 2, {3}, {1, 0, 0}, 0);
    check_close(i <= 1.5, {3}, {1, 0, 0}, 0); // compared in f32
    check_close(2 > i, {3}, {1, 0, 0}, 0);
    check_close(2 >= i, {3}, {1, 1, 0}, 0);
    check_close(1.5 < i, {3}, {0, 1, 1}, 0);
    check_close(2.5 <= i, {3}, {0, 0, 1}, 0);
    check_close(i > 2.5, {3}, {0, 0, 1}, 0);
    check_close(i >= 3, {3}, {0, 0, 1}, 0);
  }
}

TEST_CASE("where broadcasts its three operands, promotes the two values and tests a non-bool condition != 0",
          "[math]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor c = tensor_of({0, -3, 2}, {3, 1}, DType::i32, dev).flip({0}); // 2, -3, 0
    Tensor a = tensor_of({0.5, 1.5, 2.5, 3.5}, {1, 4}, DType::f16, dev);
    Tensor b = tensor_of({-7}, {}, DType::i8, dev);
    Tensor w = c.where(a, b);
    CHECK(w.dtype() == DType::f16);
    check_close(w, {3, 4}, {0.5, 1.5, 2.5, 3.5, 0.5, 1.5, 2.5, 3.5, -7, -7, -7, -7}, 0);
  }
}

TEST_CASE("cast converts values as C does; bitcast keeps the bits", "[math]") {
  for (DType d : all_dtypes)
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(uops::name(d) << " on " << dev->name);
      // from f32 (see tensor_of) to d: floats keep these exactly, integers truncate toward zero, bool is != 0
      std::vector<double> v = is_uint(d) || d == DType::bool_ ? std::vector<double>{0, 0.5, 1, 3.25}
                                                              : std::vector<double>{-2.75, -1, 0, 0.5, 1, 3.25};
      std::vector<double> expected;
      for (double x : v) expected.push_back(d == DType::bool_ ? x != 0 : is_fp(d) ? x : std::trunc(x));
      Tensor t = Tensor::from_vector(std::vector<float>(v.begin(), v.end())).to(dev).flip({0}).cast(d).flip({0});
      CHECK(t.dtype() == d);
      check_close(t, {int64_t(v.size())}, expected, 0);
      check_close(t.cast(DType::f64), {int64_t(v.size())}, expected, 0); // and back, exactly
    }
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor f = Tensor::from_vector<float>({1, -2, 0.5f}).to(dev).flip({0});
    std::vector<double> bits;
    for (float x : {0.5f, -2.0f, 1.0f}) bits.push_back(double(std::bit_cast<uint32_t>(x)));
    check_close(f.bitcast(DType::u32), {3}, bits, 0);
    check_close(f.bitcast(DType::i32).bitcast(DType::f32), {3}, {0.5, -2, 1}, 0);
    check_close(tensor_of({1, -2, 0.5}, {3}, DType::f16, dev).bitcast(DType::u16), {3}, {0x3C00, 0xC000, 0x3800}, 0);
    check_close(tensor_of({1, -2}, {2}, DType::bf16, dev).bitcast(DType::i16), {2}, {0x3F80, -16384}, 0);
    CHECK(Tensor::from_vector<double>({1}).to(dev).bitcast(DType::u64).to_vector<uint64_t>()[0] == 0x3FF0000000000000);
    check_close(tensor_of({200, 5}, {2}, DType::u8, dev).bitcast(DType::i8), {2}, {-56, 5}, 0);
  }
}

TEST_CASE("elementwise errors are TensorErrors naming the op", "[math]") {
  using testing::fails;
  Tensor f = Tensor::ones({2, 3}), i = Tensor::ones({2, 3}, DType::i32), b = Tensor::ones({3}, DType::bool_);
  fails([&] { f.maximum(Tensor::ones({4})); }, "maximum: cannot broadcast (2,3) with (4,)");
  fails([&] { f.gt(Tensor::ones({2, 2})); }, "gt: cannot broadcast (2,3) with (2,2)");
  fails([&] { f.logical_and(Tensor::ones({5})); }, "logical_and: cannot broadcast");
  fails([&] { f.idiv(i); }, "idiv: needs integer tensors, got f32");
  fails([&] { b % b; }, "mod: needs integer tensors, got bool");
  fails([&] { f& i; }, "bitwise_and: needs integer or bool tensors, got f32");
  fails([&] { b.pow(b); }, "pow: not defined on bool");
  fails([&] { -b; }, "neg: not defined on bool");
  fails([&] { f.bitcast(DType::i16); }, "bitcast: f32 (32 bits) and i16 (16 bits) differ in width");
  fails([&] { b.bitcast(DType::u8); }, "bitcast: bool (1 bits) and u8 (8 bits) differ in width");
}
