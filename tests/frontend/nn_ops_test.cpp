// matmul, dot, einsum, conv2d, conv_transpose2d and the pools against naive loops over host doubles.
// Float inputs are multiples of 1/8 in [-2, 2]: every product and partial sum is then exact in f32, so f32 and f64
// results must equal the reference exactly whatever the summation order; f16/bf16 accumulate in f32 and round once,
// so they are within half an ulp (relative 2^-11 and 2^-8). Only avg_pool2d divides, and rounds once more.
#include "frontend/autograd.h"
#include "lowering/lowering.h"
#include "tests/frontend/check.h"
#include <functional>
#include <map>

using namespace patgrad;
using testing::check_close;
using testing::tensor_of;

namespace {

using Values = std::vector<double>;
const DType all_dtypes[] = {DType::bool_, DType::i8,  DType::i16, DType::i32,  DType::i64, DType::u8, DType::u16,
                            DType::u32,   DType::u64, DType::f16, DType::bf16, DType::f32, DType::f64};

Values grid_values(std::mt19937_64& rng, int64_t n) {
  Values v(size_t(std::max<int64_t>(n, 0)));
  for (double& x : v) x = double(int64_t(rng() % 33) - 16) / 8;
  return v;
}

// Values every dtype holds exactly: 0/1 for bool, [0, 5] unsigned, [-5, 5] signed, grid values for floats.
Values values_for(std::mt19937_64& rng, int64_t n, DType d) {
  if (uops::is_float(d)) return grid_values(rng, n);
  Values v(static_cast<size_t>(n));
  for (double& x : v)
    x = uops::is_bool(d)       ? double(rng() % 2)
        : uops::is_unsigned(d) ? double(rng() % 6)
                               : double(int64_t(rng() % 11) - 5);
  return v;
}

// The exact result converted to d as the kernel's final cast does: integers wrap, bool is "not zero".
double to_dtype(double v, DType d) {
  auto w = int64_t(v);
  switch (d) {
  case DType::bool_: return v != 0;
  case DType::i8: return int8_t(w);
  case DType::i16: return int16_t(w);
  case DType::i32: return int32_t(w);
  case DType::u8: return uint8_t(w);
  case DType::u16: return uint16_t(w);
  case DType::u32: return uint32_t(w);
  case DType::u64: return double(uint64_t(w));
  default: return v;
  }
}

// tensor_of, but bf16 goes through f32 (exact for these values): the CPU JIT cannot cast f64 to bf16 (no
// __truncdfbf2 to link).
Tensor input_of(const Values& v, const Shape& s, DType d, const runtime::Target* dev) {
  if (d != DType::bf16) return tensor_of(v, s, d, dev);
  return tensor_of(v, s, DType::f32, dev).cast(d).realize();
}

double tolerance(DType d) { return d == DType::f16 ? 0x1p-11 : d == DType::bf16 ? 0x1p-8 : 0; }

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// The same values held transposed in memory (last two axes), then permuted back: a non-contiguous input.
Tensor transposed_input(const Values& v, const Shape& s, DType d, const runtime::Target* dev) {
  size_t n = s.size();
  if (n < 2) return tensor_of(v, s, d, dev);
  int64_t r = s[n - 2], c = s[n - 1];
  Values t(v.size());
  for (int64_t b = 0; b < numel(s) / std::max<int64_t>(r * c, 1); b++)
    for (int64_t i = 0; i < r; i++)
      for (int64_t j = 0; j < c; j++) t[size_t(b * r * c + j * r + i)] = v[size_t(b * r * c + i * c + j)];
  Shape ts = s;
  std::swap(ts[n - 1], ts[n - 2]);
  Shape order;
  for (size_t i = 0; i < n; i++) order.push_back(int64_t(i));
  std::swap(order[n - 1], order[n - 2]);
  return tensor_of(t, ts, d, dev).permute(order);
}

// numpy's matmul: 1-D operands become a row (a) or a column (b), batch axes broadcast.
std::pair<Values, Shape> matmul_ref(const Values& a, Shape as, const Values& b, Shape bs) {
  bool avec = as.size() == 1, bvec = bs.size() == 1;
  if (avec) as.insert(as.begin(), 1);
  if (bvec) bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2), batch(std::max(ab.size(), bb.size()), 1);
  for (size_t i = 1; i <= batch.size(); i++) {
    int64_t x = i <= ab.size() ? ab[ab.size() - i] : 1, y = i <= bb.size() ? bb[bb.size() - i] : 1;
    batch[batch.size() - i] = x == 1 ? y : x;
  }
  auto offset = [&](int64_t flat, const Shape& own) { // the operand's batch index of output batch index flat
    int64_t off = 0, stride = 1;
    for (size_t i = 1; i <= own.size(); i++) {
      int64_t idx = (flat / stride) % batch[batch.size() - i];
      off += (own[own.size() - i] == 1 ? 0 : idx) * numel(Shape(own.end() - i + 1, own.end()));
      stride *= batch[batch.size() - i];
    }
    return off;
  };
  Values out(size_t(numel(batch) * m * n));
  for (int64_t t = 0; t < numel(batch); t++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++)
          acc += a[size_t(offset(t, ab) * m * k + i * k + p)] * b[size_t(offset(t, bb) * k * n + p * n + j)];
        out[size_t((t * m + i) * n + j)] = acc;
      }
  Shape os = batch;
  if (!avec) os.push_back(m);
  if (!bvec) os.push_back(n);
  return {out, os};
}

struct Conv {
  Shape x, w; // input (N,C,H,W), weight
  int64_t s0, s1, p0, p1, d0, d1, groups;
  bool bias;
  int64_t op0 = 0, op1 = 0; // conv_transpose2d's output_padding
};

// Direct convolution: out[n][co][oy][ox] = bias[co] + sum x[n][g*cin+ci][oy*s-p+ky*d][...] * w[co][ci][ky][kx].
Values conv_ref(const Conv& c, const Values& x, const Values& w, const Values& bias, Shape& os) {
  int64_t n = c.x[0], h = c.x[2], wd = c.x[3], co = c.w[0], cin = c.w[1], kh = c.w[2], kw = c.w[3];
  int64_t oh = (h + 2 * c.p0 - c.d0 * (kh - 1) - 1) / c.s0 + 1, ow = (wd + 2 * c.p1 - c.d1 * (kw - 1) - 1) / c.s1 + 1;
  os = {n, co, oh, ow};
  Values out(size_t(numel(os)));
  for (int64_t b = 0; b < n; b++)
    for (int64_t o = 0; o < co; o++)
      for (int64_t y = 0; y < oh; y++)
        for (int64_t xx = 0; xx < ow; xx++) {
          double acc = c.bias ? bias[size_t(o)] : 0;
          int64_t g = o / (co / c.groups);
          for (int64_t ci = 0; ci < cin; ci++)
            for (int64_t ky = 0; ky < kh; ky++)
              for (int64_t kx = 0; kx < kw; kx++) {
                int64_t iy = y * c.s0 - c.p0 + ky * c.d0, ix = xx * c.s1 - c.p1 + kx * c.d1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += x[size_t(((b * c.x[1] + g * cin + ci) * h + iy) * wd + ix)] *
                       w[size_t(((o * cin + ci) * kh + ky) * kw + kx)];
              }
          out[size_t(((b * co + o) * oh + y) * ow + xx)] = acc;
        }
  return out;
}

// Transposed convolution as a scatter: x[n][ci][iy][ix] * w[ci][co][ky][kx] lands on out[n][g*cout+co][iy*s-p+ky*d].
Values conv_transpose_ref(const Conv& c, const Values& x, const Values& w, const Values& bias, Shape& os) {
  int64_t n = c.x[0], ci_all = c.x[1], h = c.x[2], wd = c.x[3], cout = c.w[1], kh = c.w[2], kw = c.w[3];
  int64_t oh = (h - 1) * c.s0 - 2 * c.p0 + c.d0 * (kh - 1) + c.op0 + 1,
          ow = (wd - 1) * c.s1 - 2 * c.p1 + c.d1 * (kw - 1) + c.op1 + 1;
  int64_t cin = ci_all / c.groups;
  os = {n, cout * c.groups, oh, ow};
  Values out(size_t(numel(os)));
  for (int64_t b = 0; b < n; b++)
    for (int64_t o = 0; o < os[1]; o++)
      for (int64_t i = 0; i < oh * ow; i++) out[size_t((b * os[1] + o) * oh * ow + i)] = c.bias ? bias[size_t(o)] : 0;
  for (int64_t b = 0; b < n; b++)
    for (int64_t ci = 0; ci < ci_all; ci++)
      for (int64_t iy = 0; iy < h; iy++)
        for (int64_t ix = 0; ix < wd; ix++)
          for (int64_t co = 0; co < cout; co++)
            for (int64_t ky = 0; ky < kh; ky++)
              for (int64_t kx = 0; kx < kw; kx++) {
                int64_t oy = iy * c.s0 - c.p0 + ky * c.d0, ox = ix * c.s1 - c.p1 + kx * c.d1;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                out[size_t(((b * os[1] + ci / cin * cout + co) * oh + oy) * ow + ox)] +=
                    x[size_t(((b * ci_all + ci) * h + iy) * wd + ix)] *
                    w[size_t(((ci * cout + co) * kh + ky) * kw + kx)];
              }
  return out;
}

enum class Pool { max, avg_include, avg_exclude };

// Max or mean over each window; padding is -inf for max, 0 for the mean (counted or not).
Values pool_ref(Pool kind, const Shape& xs, const Values& x, const Shape& k, const Shape& s, const Shape& p,
                const Shape& d, Shape& os) {
  int64_t h = xs[2], w = xs[3];
  int64_t oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1,
          ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
  os = {xs[0], xs[1], oh, ow};
  Values out(size_t(numel(os)));
  for (int64_t nc = 0; nc < xs[0] * xs[1]; nc++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t xx = 0; xx < ow; xx++) {
        double acc = kind == Pool::max ? -INFINITY : 0, count = 0;
        for (int64_t ky = 0; ky < k[0]; ky++)
          for (int64_t kx = 0; kx < k[1]; kx++) {
            int64_t iy = y * s[0] - p[0] + ky * d[0], ix = xx * s[1] - p[1] + kx * d[1];
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            double v = x[size_t((nc * h + iy) * w + ix)];
            acc = kind == Pool::max ? std::max(acc, v) : acc + v;
            count++;
          }
        if (kind == Pool::avg_include) acc /= double(k[0] * k[1]);
        if (kind == Pool::avg_exclude) acc /= count;
        out[size_t((nc * oh + y) * ow + xx)] = acc;
      }
  return out;
}

// The input flipped along W in memory and flipped back: a non-contiguous input with the same values.
Tensor flipped_input(const Values& v, const Shape& s, DType d, const runtime::Target* dev) {
  Values f(v.size());
  int64_t w = s.back();
  for (size_t i = 0; i < v.size(); i++) f[i] = v[size_t(int64_t(i) / w * w + (w - 1 - int64_t(i) % w))];
  return tensor_of(f, s, d, dev).flip({-1});
}

} // namespace

TEST_CASE("matmul matches naive loops: 2-D, batched, broadcast batches, vectors, size 1 and 0", "[nn]") {
  std::mt19937_64 rng(1);
  std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3}, {3, 4}},    {{3}, {3, 4}},       {{2, 3}, {3}},    {{3}, {3}},
      {{1, 1}, {1, 1}},    {{0, 3}, {3, 4}},    {{3, 0}, {0, 4}}, {{2, 1, 3, 4}, {5, 4, 2}},
      {{4, 3, 2}, {2, 5}}, {{2, 5}, {3, 5, 1}}, {{3}, {2, 3, 2}}, {{2, 2, 3}, {3}},
      {{0, 2, 3}, {3, 2}}};
  for (int i = 0; i < 6; i++) { // random batched shapes, a batch axis of 1 on either side
    int64_t m = 1 + int64_t(rng() % 5), k = int64_t(rng() % 6), n = 1 + int64_t(rng() % 5), b = 1 + int64_t(rng() % 3);
    cases.push_back({{b, 1, m, k}, {rng() % 2 ? b : 1, 2, k, n}});
  }
  const DType d = DType::f32; // the other dtypes: the every-dtype tests
  for (auto dev : testing::complete_targets())
    for (const auto& [as, bs] : cases) {
      INFO(dev->name << " " << uops::name(d) << " case " << as.size() << "-d by " << bs.size() << "-d");
      Values a = grid_values(rng, numel(as)), b = grid_values(rng, numel(bs));
      auto [ref, os] = matmul_ref(a, as, b, bs);
      check_close(tensor_of(a, as, d, dev).matmul(transposed_input(b, bs, d, dev)), os, ref, 0);
    }
}

TEST_CASE("matmul on every dtype: integers wrap, bool is any of ands, f16/bf16 round once", "[nn]") {
  std::mt19937_64 rng(2);
  Shape as{2, 3, 9}, bs{9, 4};
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      INFO(dev->name << " " << uops::name(d));
      Values a = values_for(rng, numel(as), d), b = values_for(rng, numel(bs), d);
      if (uops::is_fixed_int(d) && uops::bits(d) == 8) a[0] = uops::is_signed(d) ? -100 : 200; // forces a wrap
      auto [ref, os] = matmul_ref(a, as, b, bs);
      for (double& v : ref) v = to_dtype(v, d);
      Tensor r = input_of(a, as, d, dev).matmul(input_of(b, bs, d, dev));
      CHECK(r.dtype() == d);
      check_close(r, os, ref, 0, tolerance(d));
    }
}

TEST_CASE("matmul of mixed dtypes promotes; uniform f32 values agree with f64 loops to 2e-5", "[nn]") {
  std::mt19937_64 rng(3);
  for (auto dev : testing::complete_targets()) {
    Values a = testing::random_values(rng, 16 * 24), b = testing::random_values(rng, 24 * 8);
    for (double& x : a) x = float(x); // the reference gets the inputs the kernel sees
    for (double& x : b) x = float(x);
    auto [ref, os] = matmul_ref(a, {16, 24}, b, {24, 8});
    Tensor r = tensor_of(a, {16, 24}, DType::f32, dev).matmul(tensor_of(b, {24, 8}, DType::f32, dev));
    // 24 f32 roundings, each at most 2^-24 times a partial sum (|partial| <= 96, typically ~5): 2e-5 is ample
    check_close(r, os, ref, 2e-5);
    Values ia = values_for(rng, 6, DType::i8), fb = grid_values(rng, 12), sub(6); // sub: rows 1..3, columns 0..1
    for (int64_t i = 0; i < 3; i++)
      for (int64_t j = 0; j < 2; j++) sub[size_t(i * 2 + j)] = fb[size_t((i + 1) * 3 + j)];
    Tensor mixed =
        tensor_of(ia, {2, 3}, DType::i8, dev).matmul(tensor_of(fb, {4, 3}, DType::f64, dev).shrink({{1, 4}, {0, 2}}));
    CHECK(mixed.dtype() == DType::f64);
    check_close(mixed, {2, 2}, matmul_ref(ia, {2, 3}, sub, {3, 2}).first, 0);
  }
}

TEST_CASE("a large matmul packs its right operand: two kernels, values of f64 loops", "[nn]") {
  // (64, 512) x (512, 544): the right operand copied as (544 / 32, 512, 32), then the product reads it in runs
  std::mt19937_64 rng(9);
  Values a = grid_values(rng, 64 * 512), b = grid_values(rng, 512 * 544);
  { // CPU only: the packing is the frontend's, the same for every target, and INTERP would take seconds here
    const runtime::Target* dev = testing::complete_targets()[0];
    Tensor r = tensor_of(a, {64, 512}, DType::f32, dev).matmul(tensor_of(b, {512, 544}, DType::f32, dev));
    CHECK(lowering::schedule({r.uop()}, runtime::new_buffer).kernels.size() == 2);
    auto [ref, os] = matmul_ref(a, {64, 512}, b, {512, 544});
    check_close(r, os, ref, 0); // grid values: every product and partial sum is exact in f32
    // with a bias and ReLU after it, as a layer: still the two kernels
    Tensor layer = r.add(Tensor::scalar(1.0).to(dev)).maximum(Tensor::scalar(0).to(dev));
    CHECK(lowering::schedule({layer.uop()}, runtime::new_buffer).kernels.size() == 2);
    // a Linear layer's x @ w.T packs from a smaller size: (64, 128) x (96, 128).T
    Values w = grid_values(rng, 96 * 128), wt(w.size());
    for (int64_t i = 0; i < 96; i++)
      for (int64_t j = 0; j < 128; j++) wt[size_t(j * 96 + i)] = w[size_t(i * 128 + j)];
    Values x = Values(a.begin(), a.begin() + 64 * 128);
    Tensor lin = tensor_of(x, {64, 128}, DType::f32, dev).matmul(tensor_of(w, {96, 128}, DType::f32, dev).transpose());
    CHECK(lowering::schedule({lin.uop()}, runtime::new_buffer).kernels.size() == 2);
    auto [lref, los] = matmul_ref(x, {64, 128}, wt, {128, 96});
    check_close(lin, los, lref, 0);
  }
}

TEST_CASE("matmul, bias add and relu schedule to one kernel", "[nn]") {
  std::mt19937_64 rng(4);
  for (auto dev : testing::complete_targets()) {
    Values a = grid_values(rng, 5 * 7), w = grid_values(rng, 7 * 3), bias = grid_values(rng, 3);
    Tensor x = tensor_of(a, {5, 7}, DType::f32, dev), y = tensor_of(w, {7, 3}, DType::f32, dev);
    Tensor t = x.matmul(y).add(tensor_of(bias, {3}, DType::f32, dev)).maximum(Tensor::scalar(0).to(dev));
    CHECK(lowering::schedule({t.uop()}, runtime::new_buffer).kernels.size() == 1);
    auto [ref, os] = matmul_ref(a, {5, 7}, w, {7, 3});
    for (size_t i = 0; i < ref.size(); i++) ref[i] = std::max(0.0, ref[i] + bias[i % 3]);
    check_close(t, os, ref, 0);
  }
}

TEST_CASE("conv2d with bias and relu, and each pool, schedule to their padded input and one kernel", "[nn]") {
  Tensor x = Tensor::zeros({2, 4, 9, 9}).contiguous().realize(), w = Tensor::zeros({6, 2, 3, 3}).contiguous().realize();
  Tensor b = Tensor::zeros({6}).contiguous().realize();
  Tensor conv = x.conv2d(w, b, {2}, {1}, {1}, 2).maximum(Tensor::scalar(0));
  for (const Tensor& t : {conv, x.max_pool2d({3}, {2}, {1}), x.avg_pool2d({2}, {1}, {1}, Tensor::PadCount::exclude),
                          x.conv_transpose2d(Tensor::zeros({4, 3, 3, 3}).contiguous().realize(), std::nullopt, {2})})
    CHECK(testing::padded_then_fused(t));
  // without padding: one kernel
  CHECK(testing::kernels(x.conv2d(w, b, {2}, {0}, {1}, 2).maximum(Tensor::scalar(0))) == 1);
}

TEST_CASE("conv2d's gradients are convolutions: no buffer holds the input's windows", "[nn]") {
  // the derivative of the window view would realize (n, cin, oh, ow, kh, kw) = 28800 elements and sum it back
  Tensor x = Tensor::randn({4, 8, 12, 12}).realize(), w = Tensor::randn({16, 8, 3, 3}).realize();
  Tensor loss = x.conv2d(w).relu().sum();
  std::vector<Tensor> g = gradients(loss, {x, w});
  lowering::Schedule s = lowering::schedule({g[0].uop(), g[1].uop()}, runtime::new_buffer);
  REQUIRE(!s.kernels.empty());
  for (const lowering::Kernel& k : s.kernels) {
    INFO(k.name);
    CHECK(std::get<uops::Ints>(k.buffers[0]->arg)[1] <= 4 * 16 * 14 * 14); // at most the output's gradient, padded
  }
}

TEST_CASE("dot is matmul, as in tinygrad and PyTorch: batch axes pair up instead of numpy's outer product", "[nn]") {
  std::mt19937_64 rng(5);
  for (auto dev : testing::complete_targets()) {
    Values a = grid_values(rng, 2 * 4 * 6), b = grid_values(rng, 2 * 6 * 5), v = grid_values(rng, 6);
    Tensor ta = tensor_of(a, {2, 4, 6}, DType::f64, dev), tb = tensor_of(b, {2, 6, 5}, DType::f64, dev);
    Values ref(2 * 4 * 5); // dot(a, b)[i, j, m] = sum_l a[i, j, l] * b[i, l, m]; numpy's dot gives (2, 4, 2, 5)
    for (int64_t i = 0; i < 2; i++)
      for (int64_t j = 0; j < 4; j++)
        for (int64_t m = 0; m < 5; m++)
          for (int64_t l = 0; l < 6; l++)
            ref[size_t((i * 4 + j) * 5 + m)] += a[size_t((i * 4 + j) * 6 + l)] * b[size_t((i * 6 + l) * 5 + m)];
    check_close(ta.dot(tb), {2, 4, 5}, ref, 0);
    CHECK(ta.dot(tb).to_vector<double>() == ta.matmul(tb).to_vector<double>());
    Values first(2 * 4 * 5); // batch axes broadcast: o's first matrix against both of a's
    for (int64_t i = 0; i < 2; i++)
      for (int64_t j = 0; j < 4; j++)
        for (int64_t m = 0; m < 5; m++)
          for (int64_t l = 0; l < 6; l++)
            first[size_t((i * 4 + j) * 5 + m)] += a[size_t((i * 4 + j) * 6 + l)] * b[size_t(l * 5 + m)];
    check_close(ta.dot(tb.shrink({{0, 1}, {0, 6}, {0, 5}})), {2, 4, 5}, first, 0);
    Values av(8); // a vector on the right contracts the last axis
    for (int64_t ij = 0; ij < 8; ij++)
      for (int64_t l = 0; l < 6; l++) av[size_t(ij)] += a[size_t(ij * 6 + l)] * v[size_t(l)];
    check_close(ta.dot(tensor_of(v, {6}, DType::f64, dev)), {2, 4}, av, 0);
    check_close(tensor_of(v, {6}, DType::f64, dev).dot(tensor_of(v, {6}, DType::f64, dev)), {},
                {v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3] + v[4] * v[4] + v[5] * v[5]}, 0);
  }
}

namespace {

// einsum by brute force: every assignment of the indices, products added into the output's element.
Values einsum_ref(const std::string& spec, const Values& a, const Shape& as, const Values& b, const Shape& bs,
                  Shape& os) {
  size_t comma = spec.find(','), arrow = spec.find("->");
  std::string ia = spec.substr(0, comma), ib = spec.substr(comma + 1, arrow - comma - 1), io = spec.substr(arrow + 2);
  std::string letters = ia + ib;
  std::map<char, int64_t> size;
  for (size_t i = 0; i < ia.size(); i++) size[ia[i]] = as[i];
  for (size_t i = 0; i < ib.size(); i++) size[ib[i]] = bs[i];
  os.clear();
  for (char c : io) os.push_back(size[c]);
  Values out(size_t(numel(os)));
  std::vector<char> keys;
  for (auto [c, n] : size) keys.push_back(c);
  std::map<char, int64_t> at;
  auto flat = [&](const std::string& idx) {
    int64_t f = 0;
    for (char c : idx) f = f * size[c] + at[c];
    return size_t(f);
  };
  std::function<void(size_t)> walk = [&](size_t i) {
    if (i == keys.size()) {
      out[flat(io)] += a[flat(ia)] * b[flat(ib)];
      return;
    }
    for (at[keys[i]] = 0; at[keys[i]] < size[keys[i]]; at[keys[i]]++) walk(i + 1);
  };
  walk(0);
  return out;
}

} // namespace

TEST_CASE("einsum of two operands matches brute force, implicit output is numpy's", "[nn]") {
  std::mt19937_64 rng(6);
  struct Case {
    std::string spec;
    Shape as, bs;
  };
  std::vector<Case> cases = {{"ij,jk->ik", {2, 3}, {3, 4}},
                             {"bij,bjk->bik", {2, 2, 3}, {2, 3, 2}},
                             {"ij,kj->ki", {3, 4}, {2, 4}},
                             {"i,j->ij", {3}, {4}},
                             {"ij,ij->", {2, 3}, {2, 3}},
                             {"ij,j->i", {0, 3}, {3}},
                             {"abc,cd->db", {2, 1, 3}, {3, 2}},
                             {"ik,jk->", {2, 0}, {3, 0}},
                             {",ij->ji", {}, {2, 3}}};
  for (auto dev : testing::complete_targets())
    for (const Case& c : cases) {
      INFO(dev->name << " " << c.spec);
      Values a = grid_values(rng, numel(c.as)), b = grid_values(rng, numel(c.bs));
      Shape os;
      Values ref = einsum_ref(c.spec, a, c.as, b, c.bs, os);
      check_close(
          Tensor::einsum(c.spec, tensor_of(a, c.as, DType::f32, dev), transposed_input(b, c.bs, DType::f32, dev)), os,
          ref, 0);
    }
  // implicit: "ij,jk" is "ij,jk->ik"; "ba,ca" sums a and orders b, c alphabetically
  Values a = grid_values(rng, 6), b = grid_values(rng, 12);
  Shape os;
  check_close(Tensor::einsum("ij,jk", tensor_of(a, {2, 3}, DType::f64, testing::complete_targets()[0]),
                             tensor_of(b, {3, 4}, DType::f64, testing::complete_targets()[0])),
              {2, 4}, einsum_ref("ij,jk->ik", a, {2, 3}, b, {3, 4}, os), 0);
  check_close(Tensor::einsum("ba,ca", tensor_of(a, {2, 3}, DType::f64, testing::complete_targets()[0]),
                             tensor_of(b, {4, 3}, DType::f64, testing::complete_targets()[0])),
              {2, 4}, einsum_ref("ba,ca->bc", a, {2, 3}, b, {4, 3}, os), 0);
}

TEST_CASE("conv2d matches direct loops: stride, padding, dilation, groups, bias, size 1 and 0", "[nn]") {
  std::mt19937_64 rng(7);
  // input, weight, stride, padding, dilation, groups, bias
  std::vector<Conv> cases = {{{1, 1, 3, 3}, {1, 1, 1, 1}, 1, 1, 0, 0, 1, 1, 1, false},
                             {{2, 3, 5, 6}, {4, 3, 3, 3}, 1, 1, 1, 1, 1, 1, 1, true},
                             {{1, 4, 7, 6}, {6, 2, 3, 2}, 2, 1, 1, 0, 1, 2, 2, true},
                             {{2, 2, 6, 7}, {2, 1, 2, 3}, 3, 2, 0, 1, 2, 1, 2, false},
                             {{1, 3, 4, 4}, {3, 1, 3, 3}, 1, 2, 1, 1, 1, 1, 3, true},
                             {{0, 2, 4, 4}, {3, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 1, true},
                             {{2, 2, 4, 4}, {0, 2, 3, 3}, 1, 1, 0, 0, 1, 1, 1, false},
                             {{1, 0, 4, 4}, {2, 0, 3, 3}, 1, 1, 1, 1, 1, 1, 1, true},
                             {{1, 2, 1, 1}, {2, 2, 1, 1}, 2, 2, 0, 0, 1, 1, 1, true},
                             {{1, 1, 2, 2}, {1, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 1, false},
                             {{1, 1, 0, 3}, {2, 1, 1, 1}, 1, 1, 1, 0, 1, 1, 1, true}};
  for (int i = 0; i < 4; i++) { // random configurations that fit
    int64_t g = 1 + int64_t(rng() % 2), cin = 1 + int64_t(rng() % 2), k = 1 + int64_t(rng() % 3);
    int64_t d = 1 + int64_t(rng() % 2), p = int64_t(rng() % 2), s = 1 + int64_t(rng() % 3);
    int64_t h = d * (k - 1) + 1 + int64_t(rng() % 4), n = 1 + int64_t(rng() % 2), co = g * (1 + int64_t(rng() % 2));
    bool bias = rng() % 2 == 0;
    cases.push_back({{n, g * cin, h, h + 1}, {co, cin, k, k}, s, s, p, p, d, d, g, bias});
  }
  const DType d = DType::f32; // the other dtypes: the every-dtype tests
  for (auto dev : testing::complete_targets())
    for (const Conv& c : cases) {
      INFO(dev->name << " " << uops::name(d) << " input (" << c.x[0] << "," << c.x[1] << "," << c.x[2] << "," << c.x[3]
                     << ") weight (" << c.w[0] << "," << c.w[1] << "," << c.w[2] << "," << c.w[3] << ") groups "
                     << c.groups);
      Values x = values_for(rng, numel(c.x), d), w = values_for(rng, numel(c.w), d), bias = values_for(rng, c.w[0], d);
      Shape os;
      Values ref = conv_ref(c, x, w, bias, os);
      std::optional<Tensor> b;
      if (c.bias) b = tensor_of(bias, {c.w[0]}, d, dev);
      Tensor r = flipped_input(x, c.x, d, dev)
                     .conv2d(tensor_of(w, c.w, d, dev), b, {c.s0, c.s1}, {c.p0, c.p1}, {c.d0, c.d1}, c.groups);
      CHECK(r.dtype() == d);
      check_close(r, os, ref, 0);
    }
}

TEST_CASE("conv2d and conv_transpose2d take an unbatched (C,H,W) input and one value for both axes", "[nn]") {
  std::mt19937_64 rng(8);
  Conv c{{1, 2, 5, 5}, {3, 2, 3, 3}, 2, 2, 1, 1, 1, 1, 1, false};
  Values x = grid_values(rng, numel(c.x)), w = grid_values(rng, numel(c.w));
  Shape os;
  Values ref = conv_ref(c, x, w, {}, os);
  Tensor r = tensor_of(x, {2, 5, 5}, DType::f32, testing::complete_targets()[0])
                 .conv2d(tensor_of(w, c.w, DType::f32, testing::complete_targets()[0]), std::nullopt, {2}, {1});
  check_close(r, {os[1], os[2], os[3]}, ref, 0);
  Conv t{{1, 2, 3, 3}, {2, 2, 2, 2}, 2, 2, 1, 1, 1, 1, 1, false, 1, 1};
  ref = conv_transpose_ref(t, x, w, {}, os);
  r = tensor_of(Values(x.begin(), x.begin() + 18), {2, 3, 3}, DType::f32, testing::complete_targets()[0])
          .conv_transpose2d(
              tensor_of(Values(w.begin(), w.begin() + 16), t.w, DType::f32, testing::complete_targets()[0]),
              std::nullopt, {2}, {1}, {1});
  check_close(r, {os[1], os[2], os[3]}, ref, 0);
}

TEST_CASE("conv_transpose2d matches a scatter loop: stride, padding, output_padding, dilation, groups", "[nn]") {
  std::mt19937_64 rng(9);
  // input, weight (in, out / groups, kh, kw), stride, padding, dilation, groups, bias, output_padding
  std::vector<Conv> cases = {{{1, 1, 3, 3}, {1, 1, 1, 1}, 1, 1, 0, 0, 1, 1, 1, false},
                             {{2, 2, 3, 4}, {2, 3, 3, 3}, 1, 1, 0, 0, 1, 1, 1, true},
                             {{1, 2, 3, 3}, {2, 2, 3, 3}, 2, 2, 1, 1, 1, 1, 1, true, 1, 1},
                             {{1, 4, 2, 3}, {4, 1, 2, 3}, 3, 2, 1, 0, 2, 1, 2, false, 2, 1},
                             {{1, 2, 4, 4}, {2, 2, 3, 3}, 1, 1, 2, 2, 1, 1, 2, true},
                             {{0, 2, 2, 2}, {2, 1, 2, 2}, 2, 2, 0, 0, 1, 1, 1, true},
                             {{1, 1, 1, 1}, {1, 1, 1, 1}, 5, 5, 2, 2, 1, 1, 1, true, 4, 4},
                             {{1, 3, 3, 2}, {3, 2, 2, 2}, 2, 1, 1, 0, 3, 2, 3, true, 2, 1}};
  const DType d = DType::f32; // the other dtypes: the every-dtype tests
  for (auto dev : testing::complete_targets())
    for (const Conv& c : cases) {
      INFO(dev->name << " " << uops::name(d) << " input (" << c.x[0] << "," << c.x[1] << "," << c.x[2] << "," << c.x[3]
                     << ") stride " << c.s0 << "," << c.s1 << " groups " << c.groups);
      Values x = grid_values(rng, numel(c.x)), w = grid_values(rng, numel(c.w)),
             bias = grid_values(rng, c.w[1] * c.groups);
      Shape os;
      Values ref = conv_transpose_ref(c, x, w, bias, os);
      std::optional<Tensor> b;
      if (c.bias) b = tensor_of(bias, {os[1]}, d, dev);
      Tensor r = transposed_input(x, c.x, d, dev)
                     .conv_transpose2d(tensor_of(w, c.w, d, dev), b, {c.s0, c.s1}, {c.p0, c.p1}, {c.op0, c.op1},
                                       {c.d0, c.d1}, c.groups);
      check_close(r, os, ref, 0);
    }
}

TEST_CASE("max_pool2d and avg_pool2d match window loops", "[nn]") {
  std::mt19937_64 rng(10);
  struct Case {
    Shape x, k, s, p, d;
  };
  std::vector<Case> cases = {
      {{1, 1, 4, 4}, {2, 2}, {2, 2}, {0, 0}, {1, 1}}, {{2, 3, 5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}},
      {{1, 2, 7, 5}, {3, 2}, {2, 3}, {1, 0}, {2, 1}}, {{1, 1, 5, 5}, {2, 2}, {1, 1}, {1, 0}, {1, 1}},
      {{0, 2, 4, 4}, {2, 2}, {2, 2}, {0, 0}, {1, 1}}, {{1, 1, 1, 1}, {1, 1}, {1, 1}, {0, 0}, {1, 1}},
      {{1, 2, 6, 6}, {4, 4}, {3, 2}, {2, 1}, {1, 1}}};
  const DType d = DType::f32; // the other dtypes: the every-dtype tests
  for (auto dev : testing::complete_targets())
    for (const Case& c : cases) {
      INFO(dev->name << " " << uops::name(d) << " kernel " << c.k[0] << "x" << c.k[1]);
      Values x = values_for(rng, numel(c.x), d);
      Tensor t = flipped_input(x, c.x, d, dev);
      bool dilated = c.d[0] != 1 || c.d[1] != 1;
      Shape os;
      Values ref = pool_ref(Pool::max, c.x, x, c.k, c.s, c.p, c.d, os);
      Tensor m = t.max_pool2d(c.k, c.s, c.p, c.d);
      CHECK(m.dtype() == d);
      check_close(m, os, ref, 0);
      if (dilated) continue; // avg_pool2d has no dilation, as PyTorch
      DType avg = uops::is_float(d) ? d : DType::f32;
      double rtol = avg == DType::f32 ? 1e-6 : 1e-14; // one division after an exact sum
      Tensor inc = t.avg_pool2d(c.k, c.s, c.p), exc = t.avg_pool2d(c.k, c.s, c.p, Tensor::PadCount::exclude);
      CHECK(inc.dtype() == avg);
      check_close(inc, os, pool_ref(Pool::avg_include, c.x, x, c.k, c.s, c.p, c.d, os), 0, rtol);
      check_close(exc, os, pool_ref(Pool::avg_exclude, c.x, x, c.k, c.s, c.p, c.d, os), 0, rtol);
    }
  // the default stride is the kernel; bool max is "any"
  Values x = values_for(rng, 16, DType::bool_);
  Shape os;
  Values ref = pool_ref(Pool::max, {1, 1, 4, 4}, x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, os);
  check_close(tensor_of(x, {1, 1, 4, 4}, DType::bool_, testing::complete_targets()[0]).max_pool2d({2}), os, ref, 0);
}

TEST_CASE("conv2d, conv_transpose2d and the pools on every dtype: integers wrap, avg_pool2d of integers is f32",
          "[nn]") {
  std::mt19937_64 rng(11);
  Conv c{{1, 2, 4, 5}, {2, 2, 3, 2}, 2, 1, 1, 0, 1, 2, 1, false},
      t{{1, 2, 3, 2}, {2, 2, 2, 2}, 2, 1, 1, 0, 1, 1, 1, false};
  Shape k{3, 2}, s{1, 2}, p{1, 1}, one{1, 1};
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      INFO(dev->name << " " << uops::name(d));
      Values x = values_for(rng, numel(c.x), d), w = values_for(rng, numel(c.w), d),
             tw = values_for(rng, numel(t.w), d);
      Tensor in = input_of(x, c.x, d, dev);
      Shape os;
      Values ref = pool_ref(Pool::max, c.x, x, k, s, p, one, os);
      check_close(in.max_pool2d(k, s, p), os, ref, 0);
      // an exact sum, then the division's rounding (f16/bf16: one more, of the sum to f16/bf16); integers give f32
      double rtol = tolerance(d) > 0 ? 2 * tolerance(d) : d == DType::f64 ? 1e-15 : 1e-6;
      ref = pool_ref(Pool::avg_exclude, c.x, x, k, s, p, one, os);
      check_close(in.avg_pool2d(k, s, p, Tensor::PadCount::exclude), os, ref, 0, rtol);
      if (uops::is_bool(d)) {
        CHECK_THROWS_WITH(in.conv2d(in), Catch::Matchers::Contains("conv2d: not defined on bool"));
        continue;
      }
      ref = conv_ref(c, x, w, {}, os);
      for (double& v : ref) v = to_dtype(v, d);
      Tensor r = in.conv2d(input_of(w, c.w, d, dev), std::nullopt, {c.s0, c.s1}, {c.p0, c.p1}, {c.d0, c.d1});
      CHECK(r.dtype() == d);
      check_close(r, os, ref, 0, tolerance(d));
      Values tx(x.begin(), x.begin() + numel(t.x));
      ref = conv_transpose_ref(t, tx, tw, {}, os);
      for (double& v : ref) v = to_dtype(v, d);
      Tensor tr = input_of(tx, t.x, d, dev)
                      .conv_transpose2d(input_of(tw, t.w, d, dev), std::nullopt, {t.s0, t.s1}, {t.p0, t.p1});
      check_close(tr, os, ref, 0, tolerance(d));
    }
}

TEST_CASE("bad shapes and arguments raise TensorError naming the op", "[nn]") {
  Tensor m43 = Tensor::zeros({4, 3}), x = Tensor::zeros({1, 4, 5, 5}), w = Tensor::zeros({6, 2, 3, 3});
  std::vector<std::pair<std::function<Tensor()>, std::string>> cases = {
      {[&] { return m43.matmul(m43); }, "matmul: cannot multiply (4,3) by (4,3)"},
      {[&] {
         return Tensor::zeros({2, 3, 4}).matmul(Tensor::zeros({3, 4, 5}));
       },
       "matmul: cannot broadcast the batch"},
      {[&] { return Tensor::scalar(1).matmul(m43); }, "matmul: cannot multiply () by (4,3): a 0-d operand"},
      {[&] { return Tensor::zeros({3}).matmul(Tensor::zeros({4})); }, "matmul: cannot multiply (3,) by (4,)"},
      {[&] { return m43.dot(m43); }, "dot: cannot multiply (4,3) by (4,3)"},
      {[&] { return Tensor::scalar(2).dot(m43); }, "dot: cannot multiply () by (4,3): a 0-d operand"},
      {[&] {
         return Tensor::ones({2, 4, 3}).dot(Tensor::ones({3, 3, 5}));
       },
       "dot: cannot broadcast the batch dimensions of (2,4,3) and (3,3,5)"},
      {[&] { return Tensor::einsum("ij->i", m43, m43); }, "needs exactly two operands"},
      {[&] { return Tensor::einsum("ij,jk,kl->il", m43, m43); }, "needs exactly two operands"},
      {[&] { return Tensor::einsum("ii,ij->j", m43, m43); }, "index 'i' repeats in operand 0"},
      {[&] { return Tensor::einsum("ij,jk->ik", m43, m43); }, "index 'j' has size 3 in operand 0 and 4 in operand 1"},
      {[&] { return Tensor::einsum("ijk,jk->i", m43, m43); }, "operand 0 has 3 indices 'ijk' for shape (4,3)"},
      {[&] { return Tensor::einsum("ij,ij->z", m43, m43); }, "output index 'z' is in no operand"},
      {[&] { return Tensor::einsum("ij,ij->ii", m43, m43); }, "output index 'i' repeats"},
      {[&] { return Tensor::einsum("...j,ij->i", m43, m43); }, "unexpected '.'"},
      {[&] { return x.conv2d(w, std::nullopt, {1}, {0}, {1}, 3); },
       "conv2d: weight (6,2,3,3) with groups=3 does not fit input (1,4,5,5)"},
      {[&] { return x.conv2d(w, std::nullopt, {1}, {0}, {1}, 0); }, "with groups=0 does not fit"},
      {[&] {
         return x.conv2d(Tensor::zeros({6, 4, 3, 3}), Tensor::zeros({5}));
       },
       "conv2d: bias (5,) does not match 6 output channels"},
      {[&] {
         return x.conv2d(Tensor::zeros({6, 4, 7, 7}));
       },
       "conv2d: the padded input (5,5) is smaller than the dilated kernel (7,7)"},
      {[&] {
         return x.conv2d(Tensor::zeros({6, 4, 3, 3}), std::nullopt, {0});
       },
       "conv2d: stride (0,) must be at least 1"},
      {[&] {
         return x.conv2d(Tensor::zeros({6, 4, 3, 3}), std::nullopt, {1, 1, 1});
       },
       "conv2d: stride needs one value or two"},
      {[&] { return m43.conv2d(w); }, "conv2d: needs a (N,C,H,W) or (C,H,W) input"},
      {[&] {
         return x.conv_transpose2d(Tensor::zeros({4, 2, 3, 3}), std::nullopt, {2}, {0}, {2});
       },
       "output_padding (2,2) must be smaller than stride"},
      {[&] {
         return x.conv_transpose2d(Tensor::zeros({3, 2, 3, 3}));
       },
       "conv_transpose2d: weight (3,2,3,3) with groups=1 does not fit"},
      {[&] { return x.max_pool2d({2}, {}, {2}); }, "max_pool2d: padding (2,2) must be at most half the kernel (2,2)"},
      {[&] { return x.max_pool2d({6}); },
       "max_pool2d: the padded input (5,5) is smaller than the dilated kernel (6,6)"},
      {[&] { return x.max_pool2d({3}, {}, {0}, {3}); }, "smaller than the dilated kernel (7,7)"},
      {[&] { return m43.avg_pool2d({2}); }, "avg_pool2d: input must be (N,C,H,W) or (C,H,W), got (4,3)"},
      {[&] { return x.avg_pool2d({}); }, "avg_pool2d: kernel needs one value or two"}};
  for (const auto& [make, fragment] : cases) {
    INFO(fragment);
    CHECK_THROWS_WITH(make(), Catch::Matchers::Contains(fragment));
  }
}
