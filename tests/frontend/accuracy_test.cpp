// Large reductions against float64: sum, mean, var, std, softmax, logsumexp and cumsum of f32 data at sizes 2^10 to
// 2^26 must stay within what pairwise summation allows, an error that grows with log2(n):
//   |got - exact| <= log2(n) * u * sum|x|, u = 2^-24 (f32's unit roundoff).
// One f32 accumulator over n elements can be off by n * u * sum|x|: a sum of ones stalls at 2^24. The exact values
// come from the same f32 inputs summed in long double.
#include "frontend/datasets.h"
#include "tests/frontend/check.h"
#include <cmath>
#include <numeric>

using namespace patgrad;
using namespace patgrad::datasets;

namespace {

constexpr double u32 = 0x1p-24;

double pairwise_bound(int64_t n, double abs_sum) { return std::log2(double(n)) * u32 * abs_sum; }

// n values uniform in [lo, hi), as f32 (host side) and as the tensor patgrad sums.
struct Data {
  std::vector<float> host;
  Tensor tensor;
};
Data data(int64_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist{float(lo), float(hi)};
  std::vector<float> v{};
  v.resize(size_t(n));
  for (float& x : v) x = dist(rng);
  return {v, Tensor::from_vector(v).realize()};
}

long double exact_sum(const std::vector<float>& v) {
  long double s = 0;
  for (float x : v) s += x;
  return s;
}
long double abs_sum(const std::vector<float>& v) {
  long double s = 0;
  for (float x : v) s += std::fabs(x);
  return s;
}

} // namespace

TEST_CASE("a sum of 2^25 ones is exact and a mean of 2e7 ones is 1, on every device", "[accuracy][big]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    CHECK(Tensor::ones({int64_t(1) << 25}).to(dev).sum().item() == 33554432.0f);
    CHECK(Tensor::ones({20000000}).to(dev).mean().item() == 1.0f);
    // from memory, not a constant the kernel could fold
    CHECK(Tensor::ones({int64_t(1) << 25}).contiguous().realize().to(dev).sum().item() == 33554432.0f);
  }
}

TEST_CASE("f32 sum, mean, var and std of 2^10 to 2^26 elements stay within the pairwise bound", "[accuracy][big]") {
  for (int log_n = 10; log_n <= 26; log_n += 4) {
    int64_t n = int64_t(1) << log_n;
    // positive data (the worst case for one accumulator: it only grows) and data around zero
    for (auto [lo, hi] : {std::pair{0.0, 1.0}, std::pair{-1.0, 1.5}}) {
      Data d = data(n, lo, hi, uint64_t(log_n));
      long double exact = exact_sum(d.host), mag = abs_sum(d.host);
      INFO("n = 2^" << log_n << ", data in [" << lo << ", " << hi << ")");
      double got = d.tensor.sum().item();
      CHECK(std::fabs(got - double(exact)) <= pairwise_bound(n, double(mag)) + std::fabs(double(exact)) * u32);
      double mean = d.tensor.mean().item();
      CHECK(std::fabs(mean - double(exact / n)) <= pairwise_bound(n, double(mag / n)) + 2 * u32 * std::fabs(mean));
      // var: the deviations from the exact mean, summed exactly; the bound is the pairwise one on their squares plus
      // what the mean's own error adds to each
      long double m = exact / n, sq = 0, dev_abs = 0;
      for (float x : d.host) sq += (x - m) * (x - m), dev_abs += std::fabs(x - m);
      long double var = sq / (n - 1);
      double var_bound = (pairwise_bound(n, double(sq)) + 2 * double(dev_abs) * pairwise_bound(n, double(mag / n)) +
                          4 * u32 * double(sq)) /
                         double(n - 1);
      double got_var = d.tensor.var().item();
      CHECK(std::fabs(got_var - double(var)) <= var_bound);
      double got_std = d.tensor.std().item();
      CHECK(std::fabs(got_std - std::sqrt(double(var))) <= var_bound / (2 * std::sqrt(double(var))) + 2 * u32);
    }
  }
}

TEST_CASE("softmax and logsumexp over 2^20 and 2^24 elements: the denominator within the pairwise bound",
          "[accuracy]") {
  for (int log_n : {20, 24}) {
    int64_t n = int64_t(1) << log_n;
    Data d = data(n, -4, 4, uint64_t(log_n) + 100);
    float mx = *std::max_element(d.host.begin(), d.host.end());
    // exp in f32 is within a few ulp of the exact exponential: the denominator's error is the sum's plus that
    long double denom = 0;
    for (float x : d.host) denom += std::exp((long double)(x - mx));
    double bound = pairwise_bound(n, double(denom)) + 4 * u32 * double(denom);
    INFO("n = 2^" << log_n);
    double lse = d.tensor.logsumexp({0}).item();
    CHECK(std::fabs(lse - double(mx + std::log(denom))) <= bound / double(denom) + 2 * u32 * std::fabs(lse));
    std::vector<float> p = d.tensor.softmax(0).to_vector<float>();
    long double total = std::accumulate(p.begin(), p.end(), (long double)0);
    CHECK(std::fabs(double(total) - 1.0) <= 2 * bound / double(denom) + 1e-6);
    for (size_t i : {size_t(0), size_t(n / 2), size_t(n - 1)}) {
      double want = double(std::exp((long double)(d.host[i] - mx)) / denom);
      CHECK(std::fabs(p[i] - want) <= want * (2 * bound / double(denom) + 8 * u32));
    }
  }
}

TEST_CASE("cumsum of 2^10 to 2^24 elements: every prefix within the pairwise bound", "[accuracy]") {
  for (int log_n = 10; log_n <= 24; log_n += 7) {
    int64_t n = int64_t(1) << log_n;
    Data d = data(n, 0, 1, uint64_t(log_n) + 200);
    std::vector<float> got = d.tensor.cumsum(0).to_vector<float>();
    REQUIRE(int64_t(got.size()) == n);
    long double exact = 0;
    int64_t bad = 0, first_bad = -1;
    for (int64_t i = 0; i < n; i++) {
      exact += d.host[size_t(i)]; // positive data: the prefix is its own absolute sum
      double bound = pairwise_bound(std::max<int64_t>(i + 1, 2), double(exact)) + u32 * double(exact);
      if (std::fabs(got[size_t(i)] - double(exact)) > bound && bad++ == 0) first_bad = i;
    }
    INFO("n = 2^" << log_n << ": " << bad << " prefixes out of bounds, the first at " << first_bad);
    CHECK(bad == 0);
  }
}

TEST_CASE("the mean and std of Fashion-MNIST's 47M training pixels match float64", "[accuracy]") {
  // the issue that found the stall: 0.2995 and 0.3027 where float64 gives 0.2860 and 0.3530
  FashionMnistOptions raw;
  raw.format = ImageFormat::u8;
  std::vector<uint8_t> bytes = fashion_mnist(Split::train, raw).images.to_vector<uint8_t>();
  int64_t n = int64_t(bytes.size());
  long double sum = 0, sq = 0, dev_abs = 0;
  for (uint8_t b : bytes) sum += float(b / 255.0f); // the f32 pixels patgrad sums
  long double mean = sum / n;
  for (uint8_t b : bytes) {
    long double d = float(b / 255.0f) - mean;
    sq += d * d, dev_abs += std::fabs(d);
  }
  double var = double(sq / (n - 1));
  double var_bound =
      (pairwise_bound(n, double(sq)) + 2 * double(dev_abs) * pairwise_bound(n, double(mean)) + 4 * u32 * double(sq)) /
      double(n - 1);
  FashionMnistOptions unit;
  unit.format = ImageFormat::f32_unit;
  Tensor x = fashion_mnist(Split::train, unit).images;
  CHECK(std::fabs(x.mean().item() - double(mean)) <= pairwise_bound(n, double(mean)) + 2 * u32 * double(mean));
  CHECK(std::fabs(x.std().item() - std::sqrt(var)) <= var_bound / (2 * std::sqrt(var)) + 2 * u32);
}
