// Reductions against naive folds over host doubles, on both devices, every dtype each op supports, shapes with
// size-1 and zero-size axes, and non-contiguous inputs. Inputs are values each dtype holds exactly (multiples of 1/8
// for floats), so sum, prod, max, min, argmax, argmin, any, all and cumsum are exact in f32 and f64 and must match
// with tolerance 0; f16 and bf16 accumulate in f32 and round once, so they are within half an ulp (relative 2^-11
// and 2^-8). The float math (mean, var, std, softmax, log_softmax, logsumexp) states its tolerance per test.
#include "lowering/lowering.h"
#include "tests/frontend/check.h"
#include <array>
#include <functional>

using namespace patgrad;
using testing::check_close;

namespace {

using Values = std::vector<double>;
const DType all_dtypes[] = {DType::bool_, DType::i8,  DType::i16, DType::i32,  DType::i64, DType::u8, DType::u16,
                            DType::u32,   DType::u64, DType::f16, DType::bf16, DType::f32, DType::f64};
const DType float_dtypes[] = {DType::f16, DType::bf16, DType::f32, DType::f64};

// testing::tensor_of, but bf16 comes from f32 (exact for these values): the CPU JIT cannot convert f64 to bf16 yet
// (the fptrunc needs __truncdfbf2, which the process does not have).
Tensor input(const Values& v, const Shape& s, DType d, const runtime::Target* dev) {
  Tensor t = Tensor::from_vector(v, s).cast(d == DType::bf16 ? DType::f32 : d).cast(d);
  return t.realize().to(dev);
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// A host array, row-major: the reference side of every check.
struct Host {
  Shape shape;
  Values v;
};

Shape unflat(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) idx[i] = flat % shape[i], flat /= shape[i];
  return idx;
}

int64_t flat_of(const Shape& idx, const Shape& shape) {
  int64_t flat = 0;
  for (size_t i = 0; i < shape.size(); i++) flat = flat * shape[i] + idx[i];
  return flat;
}

// Values every dtype holds exactly: 0/1 for bool, [0, 9] unsigned, [-9, 9] signed, multiples of 1/8 for floats.
Values random_values(std::mt19937_64& rng, int64_t n, DType d) {
  Values v(static_cast<size_t>(n));
  for (double& x : v)
    x = uops::is_bool(d)       ? double(rng() % 2)
        : uops::is_unsigned(d) ? double(rng() % 10)
        : uops::is_float(d)    ? double(int64_t(rng() % 33) - 16) / 8
                               : double(int64_t(rng() % 19) - 9);
  return v;
}

// The values stored flipped on every axis and flipped back: a non-contiguous tensor.
Tensor flipped(const Host& h, DType d, const runtime::Target* dev) {
  Values stored(h.v.size());
  Shape all;
  for (size_t k = 0; k < h.shape.size(); k++) all.push_back(int64_t(k));
  for (size_t k = 0; k < h.v.size(); k++) stored[h.v.size() - 1 - k] = h.v[k]; // every axis reversed = all reversed
  return input(stored, h.shape, d, dev).flip(all);
}

// The axes a reduction over `axes` of an n-D tensor covers: all when empty, negatives from the end.
Shape normalized(const Shape& axes, size_t n) {
  Shape out;
  for (int64_t a : axes) out.push_back(a < 0 ? a + int64_t(n) : a);
  if (axes.empty())
    for (size_t i = 0; i < n; i++) out.push_back(int64_t(i));
  return out;
}

Shape reduced_shape(const Shape& shape, const Shape& axes, bool keepdim) {
  Shape out;
  for (size_t i = 0; i < shape.size(); i++) {
    bool r = std::find(axes.begin(), axes.end(), int64_t(i)) != axes.end();
    if (!r || keepdim) out.push_back(r ? 1 : shape[i]);
  }
  return out;
}

// The output element (flat, in the keepdim shape) that input element k of shape reduces into.
size_t target(int64_t k, const Shape& shape, const Shape& axes) {
  Shape idx = unflat(k, shape);
  for (int64_t a : axes) idx[a] = 0;
  return size_t(flat_of(idx, reduced_shape(shape, axes, true)));
}

// Every output element folds the input elements that map to it, in order along the reduced axes.
Host fold(const Host& h, const Shape& axes, bool keepdim, double init, const std::function<double(double, double)>& f) {
  Values out(size_t(numel(reduced_shape(h.shape, axes, true))), init);
  for (int64_t k = 0; k < int64_t(h.v.size()); k++) {
    double& o = out[target(k, h.shape, axes)];
    o = f(o, h.v[size_t(k)]);
  }
  return {reduced_shape(h.shape, axes, keepdim), out};
}

double nan_max(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double nan_min(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }

DType sum_dtype(DType d) { return uops::is_bool(d) || (uops::is_int(d) && d != DType::u64) ? DType::i64 : d; }
double half_ulp(DType d) { return d == DType::f16 ? 0x1p-11 : d == DType::bf16 ? 0x1p-8 : 0; }

// Axes to reduce, with and without keepdim: all (none given), one from the end, a middle one that may be empty, two
// out of order. Few, because each distinct kernel compiles once on CPU.
struct Reduction {
  Shape axes;
  bool keepdim;
};
const Reduction reductions[] = {{{}, false}, {{-1}, true}, {{1}, false}, {{2, -3}, true}};

// Two of the reductions for each dtype, in turn, so that every one meets several dtypes.
std::array<Reduction, 2> reductions_for(DType d) {
  return {reductions[size_t(d) % 4], reductions[(size_t(d) + 1) % 4]};
}

using patgrad::testing::kernels;
using patgrad::testing::padded_then_fused;

template <typename F>
void check_error(F&& f, const std::string& fragment) {
  INFO("expected an error containing: " << fragment);
  try {
    f();
    FAIL("no error");
  } catch (const TensorError& e) {
    CHECK_THAT(e.what(), Catch::Contains(fragment));
  }
}

} // namespace

TEST_CASE("sum, prod, max and min fold any axes, with keepdim and negative axes, on every dtype", "[shape]") {
  std::mt19937_64 rng(21);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 4), int64_t(1 + rng() % 3)};
      Host h{s, random_values(rng, numel(s), d)};
      // prod of 1, 2 (and 1/2 for floats), negated for signed dtypes, is exact everywhere and stays small
      Host p = h;
      for (double& x : p.v)
        if (!uops::is_bool(d))
          x = std::ldexp(1, int(rng() % 2) - (uops::is_float(d) ? int(rng() % 2) : 0)) *
              (uops::is_unsigned(d) || rng() % 2 ? 1 : -1);
      Tensor t = flipped(h, d, dev), tp = flipped(p, d, dev);
      for (auto [axes, keepdim] : reductions_for(d)) {
        INFO(dev->name << " " << uops::name(d) << " shape " << s[0] << "x" << s[1] << "x" << s[2] << " axes "
                       << axes.size() << (axes.empty() ? 0 : axes[0]) << " keepdim " << keepdim);
        Shape ax = normalized(axes, 3);
        Host sum = fold(h, ax, keepdim, 0, std::plus<>()), prod = fold(p, ax, keepdim, 1, std::multiplies<>());
        Tensor ts = t.sum(axes, keepdim), tpr = tp.prod(axes, keepdim);
        CHECK((ts.dtype() == sum_dtype(d) && tpr.dtype() == sum_dtype(d)));
        check_close(ts, sum.shape, sum.v, 0, half_ulp(d));
        check_close(tpr, prod.shape, prod.v, 0, half_ulp(d));
        if (s[1] == 0 && std::find(ax.begin(), ax.end(), 1) != ax.end()) continue; // no identity: see the error test
        Host mx = fold(h, ax, keepdim, -INFINITY, nan_max), mn = fold(h, ax, keepdim, INFINITY, nan_min);
        Tensor tmx = t.max(axes, keepdim), tmn = t.min(axes, keepdim);
        CHECK((tmx.dtype() == d && tmn.dtype() == d));
        check_close(tmx, mx.shape, mx.v, 0);
        check_close(tmn, mn.shape, mn.v, 0);
      }
    }
}

TEST_CASE("empty sums are 0 and products 1; max and min propagate NaN and are exact at the limits", "[shape]") {
  for (auto dev : testing::complete_targets()) {
    Tensor e = input({}, {2, 0, 3}, DType::f32, dev);
    check_close(e.sum(), {}, {0}, 0);
    check_close(e.sum({1}), {2, 3}, Values(6, 0), 0);
    check_close(e.prod({1}, true), {2, 1, 3}, Values(6, 1), 0);
    check_close(e.max({0}), {0, 3}, {}, 0); // the reduced axis is not empty: an empty result
    check_close(input({}, {0}, DType::i8, dev).sum(), {}, {0}, 0);
    Tensor n = input({1, NAN, -3, 2}, {2, 2}, DType::f32, dev);
    check_close(n.max({1}), {2}, {NAN, 2}, 0);
    check_close(n.min({0}), {2}, {-3, NAN}, 0);
    std::vector<float> z = input({0.0, -0.0}, {2}, DType::f32, dev).min().to_vector<float>();
    CHECK(std::signbit(z[0])); // min(+0, -0) is -0
    Tensor i8 = Tensor::from_vector<int8_t>({-128, 127, 0}).to(dev);
    CHECK((i8.min().item() == -128 && i8.max().item() == 127));
    Tensor i64 = Tensor::from_vector<int64_t>({INT64_MIN, INT64_MAX}).to(dev);
    CHECK((i64.min().to_vector<int64_t>()[0] == INT64_MIN && i64.max().to_vector<int64_t>()[0] == INT64_MAX));
    Tensor u64 = Tensor::from_vector<uint64_t>({UINT64_MAX, 0, 5}).to(dev);
    CHECK((u64.min().to_vector<uint64_t>()[0] == 0 && u64.max().to_vector<uint64_t>()[0] == UINT64_MAX));
    Tensor b = Tensor::from_vector<bool>({true, false}).to(dev);
    CHECK((b.min().to_vector<bool>()[0] == false && b.max().to_vector<bool>()[0] == true));
    Tensor scalar = input({4}, {}, DType::f32, dev);
    check_close(scalar.sum({0}), {}, {4}, 0); // a scalar has axis 0 (and -1) and reduces nothing, as PyTorch
    check_close(scalar.max({-1}, true), {}, {4}, 0);
  }
}

TEST_CASE("mean, var and std match double references; integers give f32", "[shape]") {
  // f32: relative 1e-5 (a sum, a division and a square root, each rounding by 2^-24) plus 1e-6 absolute for
  // variances near 0; f64: relative 1e-12; f16, bf16: the f32 result rounded once, so half an ulp more.
  std::mt19937_64 rng(22);
  for (auto dev : testing::complete_targets())
    for (DType d : {DType::bool_, DType::i16, DType::f16, DType::bf16, DType::f32, DType::f64}) {
      Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 4), int64_t(1 + rng() % 4)};
      Host h{s, random_values(rng, numel(s), d)};
      Tensor t = flipped(h, d, dev);
      DType out = uops::is_float(d) ? d : DType::f32;
      double rtol = d == DType::f64 ? 1e-12 : 1e-5 + half_ulp(d), atol = d == DType::f64 ? 1e-12 : 1e-6;
      for (size_t r : {size_t(d) % 4, (size_t(d) + 2) % 4}) {
        const Shape& axes = reductions[r].axes;
        double correction = double(r % 3);
        INFO(dev->name << " " << uops::name(d) << " shape " << s[0] << "x" << s[1] << "x" << s[2] << " axes "
                       << axes.size() << " correction " << correction);
        Shape ax = normalized(axes, 3);
        double n = 1;
        for (int64_t a : ax) n *= double(s[a]);
        Host mean = fold(h, ax, true, 0, std::plus<>()), var = mean;
        for (double& x : mean.v) x /= n;
        var.v.assign(var.v.size(), 0);
        for (int64_t k = 0; k < numel(s); k++) { // squared deviations from each output's mean
          size_t o = target(k, s, ax);
          var.v[o] += (h.v[size_t(k)] - mean.v[o]) * (h.v[size_t(k)] - mean.v[o]);
        }
        Host sd = var;
        for (size_t i = 0; i < var.v.size(); i++)
          var.v[i] /= std::max(0.0, n - correction), sd.v[i] = std::sqrt(var.v[i]);
        Tensor tm = t.mean(axes, true), tv = t.var(axes, true, correction), tsd = t.std(axes, true, correction);
        CHECK((tm.dtype() == out && tv.dtype() == out && tsd.dtype() == out));
        check_close(tm, mean.shape, mean.v, atol, rtol);
        check_close(tv, mean.shape, var.v, atol, rtol);
        check_close(tsd, mean.shape, sd.v, atol, rtol);
        check_close(t.var(axes, false, correction), reduced_shape(s, ax, false), var.v, atol, rtol);
      }
    }
}

TEST_CASE("argmax and argmin give the first extreme, NaN counting as extreme, as i64", "[shape]") {
  std::mt19937_64 rng(23);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      int64_t axis = int64_t(d) % 2 - 1; // -1 or 0, in turn
      Shape s{int64_t(1 + rng() % 3), int64_t(1 + rng() % 4), int64_t(rng() % 4)};
      Host h{s, random_values(rng, numel(s), d)};
      for (double& x : h.v) x = uops::is_bool(d) ? x : std::fmod(x, 3); // few values: many ties
      if (uops::is_float(d) && !h.v.empty()) h.v[rng() % h.v.size()] = NAN;
      Tensor t = flipped(h, d, dev);
      int64_t a = axis < 0 ? axis + 3 : axis;
      INFO(dev->name << " " << uops::name(d) << " axis " << axis);
      if (s[a] == 0) {
        check_error([&] { t.argmax(axis); }, "argmax: cannot reduce axis 2 of (");
        continue;
      }
      for (bool largest : {true, false}) {
        // the first position along the axis that no later one beats strictly; a NaN beats everything
        Shape kept = reduced_shape(s, {a}, true);
        Values arg(size_t(numel(kept))), best(arg.size());
        std::vector<bool> found(arg.size(), false);
        for (int64_t k = 0; k < numel(s); k++) {
          size_t o = target(k, s, {a});
          double x = h.v[size_t(k)];
          bool beats = std::isnan(x) ? !std::isnan(best[o]) : largest ? x > best[o] : x < best[o];
          if (!found[o] || beats) found[o] = true, best[o] = x, arg[o] = double(unflat(k, s)[a]);
        }
        Tensor got = largest ? t.argmax(axis, true) : t.argmin(axis, true);
        CHECK(got.dtype() == DType::i64);
        check_close(got, kept, arg, 0);
      }
    }
  for (auto dev : testing::complete_targets()) {
    Tensor t = input({3, 9, 1, 9, 1}, {5}, DType::i32, dev);
    check_close(t.argmax(), {}, {1}, 0);
    check_close(t.reshape({1, 5}).argmax(1), {1}, {1}, 0);
    check_close(t.reshape({5, 1}).argmin(0, true), {1, 1}, {2}, 0);
    check_close(t.argmin(), {}, {2}, 0);
    check_close(input({0, 5, 5, 2, 7, 7}, {2, 3}, DType::f32, dev).flip({1}).argmax(), {}, {3},
                0); // [5,5,0,7,7,2] flattened
    check_close(input({5}, {}, DType::f32, dev).argmax(0), {}, {0}, 0);
  }
}

TEST_CASE("any and all are bool folds with false and true for zero elements", "[shape]") {
  std::mt19937_64 rng(24);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 4), 2};
      Host h{s, random_values(rng, numel(s), d)};
      for (double& x : h.v) x = rng() % 3 ? std::abs(x) + (uops::is_bool(d) ? 0 : 1) : 0; // mostly nonzero
      if (uops::is_bool(d))
        for (double& x : h.v) x = x != 0;
      if (uops::is_float(d) && !h.v.empty()) h.v[0] = NAN; // NaN is true, as in C and PyTorch
      Tensor t = flipped(h, d, dev);
      for (auto [axes, keepdim] : reductions_for(d)) {
        INFO(dev->name << " " << uops::name(d) << " axes " << axes.size() << " keepdim " << keepdim);
        Shape ax = normalized(axes, 3);
        Host any =
            fold(h, ax, keepdim, 0, [](double a, double x) { return double(a != 0 || x != 0 || std::isnan(x)); });
        Host all =
            fold(h, ax, keepdim, 1, [](double a, double x) { return double(a != 0 && (x != 0 || std::isnan(x))); });
        Tensor ta = t.any(axes, keepdim), tl = t.all(axes, keepdim);
        CHECK((ta.dtype() == DType::bool_ && tl.dtype() == DType::bool_));
        check_close(ta, any.shape, any.v, 0);
        check_close(tl, all.shape, all.v, 0);
      }
    }
}

TEST_CASE("cumsum runs a prefix sum along an axis in one kernel after its padded input, in sum's dtype", "[shape]") {
  std::mt19937_64 rng(25);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes)
      for (int64_t axis : {1, -1}) {
        Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 6), int64_t(1 + rng() % 5)};
        Host h{s, random_values(rng, numel(s), d)};
        int64_t a = axis < 0 ? axis + 3 : axis;
        Values expected(h.v.size());
        for (int64_t k = 0; k < numel(s); k++) {
          Shape idx = unflat(k, s);
          if (idx[a] == 0)
            expected[size_t(k)] = h.v[size_t(k)];
          else {
            idx[a]--;
            expected[size_t(k)] = expected[size_t(flat_of(idx, s))] + h.v[size_t(k)];
          }
        }
        INFO(dev->name << " " << uops::name(d) << " axis " << axis << " shape " << s[0] << "x" << s[1] << "x" << s[2]);
        Tensor c = flipped(h, d, dev).cumsum(axis);
        CHECK(c.dtype() == sum_dtype(d));
        CHECK((s[a] < 2 ? kernels(c) == 1 : padded_then_fused(c)));
        check_close(c, s, expected, 0, half_ulp(d));
      }
  for (auto dev : testing::complete_targets()) check_close(input({2}, {}, DType::i8, dev).cumsum(0), {}, {2}, 0);
}

TEST_CASE("softmax, log_softmax and logsumexp are stable and match double references", "[shape]") {
  // f32: 1e-5 relative plus 1e-6 absolute (exp2 and log2 of arguments rounded to 2^-24, over a few kernels); f64:
  // 1e-12; f16, bf16 round the f32 result once: half an ulp more, and 1e-4 / 1e-3 absolute for values that flush
  // toward zero; integers and bool compute in f32.
  std::mt19937_64 rng(26);
  for (auto dev : testing::complete_targets())
    for (DType d : {DType::f16, DType::bf16, DType::f32, DType::f64, DType::i32, DType::bool_}) {
      Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 5), int64_t(1 + rng() % 4)};
      for (double scale : {1.0, 300.0}) { // 300: exp(x) alone overflows, the max must be subtracted first
        Values v = testing::random_values(rng, numel(s), -2 * scale, 2 * scale);
        if (uops::is_float(d) && numel(s) > 1) v[1] = -INFINITY;
        Tensor t = flipped({s, v}, d, dev);
        Host h{s, t.to_vector<double>()}; // the values the dtype holds
        DType out = uops::is_float(d) ? d : DType::f32;
        double rtol = d == DType::f64 ? 1e-12 : 1e-5 + half_ulp(d);
        double atol = d == DType::f64 ? 1e-12 : d == DType::f16 ? 1e-4 : d == DType::bf16 ? 1e-3 : 1e-6;
        for (int64_t axis : {1, -1}) {
          INFO(dev->name << " " << uops::name(d) << " scale " << scale << " axis " << axis);
          int64_t a = axis < 0 ? axis + 3 : axis;
          Host m = fold(h, {a}, true, -INFINITY, nan_max);
          Host lse = m;
          for (double& x : lse.v) x = 0;
          for (int64_t k = 0; k < numel(s); k++) {
            size_t o = target(k, s, {a});
            lse.v[o] += std::exp(h.v[size_t(k)] - m.v[o]);
          }
          for (size_t o = 0; o < lse.v.size(); o++)
            lse.v[o] = std::isinf(m.v[o]) ? m.v[o] : m.v[o] + std::log(lse.v[o]);
          Values soft(h.v.size()), logsoft(h.v.size());
          for (int64_t k = 0; k < numel(s); k++) {
            double l = lse.v[target(k, s, {a})];
            logsoft[size_t(k)] = h.v[size_t(k)] - l;
            soft[size_t(k)] = std::exp(h.v[size_t(k)] - l);
          }
          Tensor ts = t.softmax(axis), tl = t.log_softmax(axis), te = t.logsumexp({axis});
          CHECK((ts.dtype() == out && tl.dtype() == out && te.dtype() == out));
          check_close(ts, s, soft, atol, rtol);
          check_close(tl, s, logsoft, atol, rtol);
          check_close(te, reduced_shape(s, {a}, false), lse.v, atol, rtol);
          check_close(t.logsumexp({axis}, true), m.shape, lse.v, atol, rtol);
        }
      }
    }
  for (auto dev :
       testing::complete_targets()) { // over a zero-size axis logsumexp is log(0) = -inf; all -inf gives -inf, not NaN
    check_close(input({}, {2, 0}, DType::f32, dev).logsumexp({1}), {2}, {-INFINITY, -INFINITY}, 0);
    check_close(input({-INFINITY, -INFINITY}, {2}, DType::f32, dev).logsumexp(), {}, {-INFINITY}, 0);
    check_close(input({INFINITY, 1}, {2}, DType::f32, dev).logsumexp(), {}, {INFINITY}, 0);
  }
}

TEST_CASE("softmax compiles to three kernels: the max, the sum, the result", "[shape]") {
  Tensor x = Tensor::arange(0, 24, 1, DType::f32).reshape({2, 3, 4}).realize();
  for (const Tensor& t : {x, x.transpose(0, 2).flip({1}), x.cast(DType::f16)}) {
    CHECK(kernels(t.softmax(1)) == 3);
    CHECK(kernels(t.log_softmax(-1)) == 3);
    CHECK(kernels(t.logsumexp({0})) == 2);
    CHECK(kernels(t.var({1})) == 2);
    CHECK(kernels(t.argmax(1)) == 2);
    CHECK(kernels(t.mean({0, 2})) == 1);
  }
}

TEST_CASE("reductions reject bad axes and empty max, min, argmax and argmin with the op's name", "[shape]") {
  Tensor t = Tensor::zeros({2, 3});
  Tensor e = Tensor::zeros({2, 0});
  check_error([&] { t.sum({2}); }, "sum: axis 2 is out of range for (2,3)");
  check_error([&] { t.prod({-3}); }, "prod: axis -3 is out of range for (2,3)");
  check_error([&] { t.max({0, -2}); }, "max: axis 0 appears twice");
  check_error([&] { t.mean({1, 1}); }, "mean: axis 1 appears twice");
  check_error([&] { t.var({5}); }, "var: axis 5 is out of range for (2,3)");
  check_error([&] { t.std({5}); }, "std: axis 5 is out of range for (2,3)");
  check_error([&] { t.any({2}); }, "any: axis 2 is out of range for (2,3)");
  check_error([&] { t.all({2}); }, "all: axis 2 is out of range for (2,3)");
  check_error([&] { t.cumsum(2); }, "cumsum: axis 2 is out of range for (2,3)");
  check_error([&] { t.softmax(2); }, "softmax: axis 2 is out of range for (2,3)");
  check_error([&] { t.log_softmax(-3); }, "log_softmax: axis -3 is out of range for (2,3)");
  check_error([&] { t.logsumexp({2}); }, "logsumexp: axis 2 is out of range for (2,3)");
  check_error([&] { t.argmax(2); }, "argmax: axis 2 is out of range for (2,3)");
  check_error([&] { t.argmin(-3); }, "argmin: axis -3 is out of range for (2,3)");
  check_error([&] { e.max(); }, "max: cannot reduce axis 1 of (2,0): it has no elements");
  check_error([&] { e.min({1}); }, "min: cannot reduce axis 1 of (2,0): it has no elements");
  check_error([&] { e.argmax(1); }, "argmax: cannot reduce axis 1 of (2,0): it has no elements");
  check_error([&] { e.argmin(); }, "argmin: cannot reduce axis 0 of (0,): it has no elements");
}

TEST_CASE("two reductions of the same values over different ranges in one kernel keep their accumulators apart",
          "[reduce]") {
  // t1 and its reshaped copy become two REDUCEs of one loaded value, each over its own loop: each must read its own
  // accumulator (found by fuzz_tensors --seed 4072: INTERP read the other one)
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor t0 = Tensor::from_vector<int16_t>({-13267, 8, 7, 6, -1010}, {1, 1, 5}).to(dev);
    Tensor t1 = t0.sum({0});
    Tensor same = t1.eq(t1.flip({}).reshape({5}));
    CHECK(same.to_vector<bool>() == std::vector<bool>(5, true));
    Tensor twice = t1 + t0.sum({1}).reshape({1, 5}); // different axes, same values: 2 * t0
    CHECK(twice.to_vector<int64_t>() == std::vector<int64_t>{-26534, 16, 14, 12, -2020});
  }
}
