// Large f32 reductions against long double: random shapes (sizes that are not powers of two included) with 2^10 to
// 2^22 elements per output, random axes, positive or mixed-sign data; sum, mean, var, std, logsumexp, softmax and
// cumsum. Each output must be within what pairwise summation allows, log2(n) * u * sum|terms| (u = 2^-24), plus a
// few roundings for the elementwise math around the sum. One f32 accumulator misses this bound from about 2^16
// elements on.
#include "tests/fuzz/large_reductions.h"
#include <cmath>
#include <fmt/format.h>
#include <random>

namespace patgrad::tensor_fuzz {
namespace {

constexpr double u32 = 0x1p-24;
constexpr const char* kOps[] = {"sum", "mean", "var", "std", "logsumexp", "softmax", "cumsum"};

double pairwise(double n, double abs_sum) { return std::log2(std::max(n, 2.0)) * u32 * abs_sum; }

// The flat indices of the elements that reduce into each output: outputs in row-major order of the kept axes.
std::vector<std::vector<int64_t>> groups_of(const Shape& shape, const Shape& axes) {
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : axes) reduced[size_t(a)] = true;
  int64_t outputs = 1;
  for (size_t j = 0; j < shape.size(); j++)
    if (!reduced[j]) outputs *= shape[j];
  std::vector<std::vector<int64_t>> groups(static_cast<size_t>(outputs));
  for (int64_t k = 0; k < total; k++) {
    int64_t rest = k, out = 0, stride = 1;
    for (size_t j = shape.size(); j-- > 0;) {
      int64_t i = rest % shape[j];
      rest /= shape[j];
      if (!reduced[j]) out += i * stride, stride *= shape[j];
    }
    groups[size_t(out)].push_back(k);
  }
  return groups;
}

} // namespace

std::string large_reduction(uint64_t seed, std::string_view dev, std::string& listing) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  std::string op = kOps[uniform(0, std::size(kOps) - 1)];
  bool one_axis = op == "softmax" || op == "cumsum";
  int64_t n = int64_t(1) << uniform(10, op == "cumsum" ? 20 : 22), ndim = uniform(1, 3);
  // reduced axes whose sizes multiply to about n, and kept axes of 1 to 5
  Shape shape(size_t(ndim), 1), axes;
  int64_t reduced_axes = one_axis ? 1 : uniform(1, ndim), left = n;
  std::vector<int64_t> order(static_cast<size_t>(ndim));
  for (int64_t j = 0; j < ndim; j++) order[size_t(j)] = j;
  std::shuffle(order.begin(), order.end(), rng);
  for (int64_t j = 0; j < ndim; j++) {
    int64_t a = order[size_t(j)];
    if (j < reduced_axes) {
      int64_t size = j == reduced_axes - 1 ? left : uniform(2, int64_t(std::sqrt(double(left))) + 2);
      size = std::max<int64_t>(1, size + uniform(-3, 3)); // not a power of two
      shape[size_t(a)] = size;
      left = std::max<int64_t>(1, left / size);
      axes.push_back(a);
    } else
      shape[size_t(a)] = uniform(1, 5);
  }
  std::sort(axes.begin(), axes.end());
  double lo = uniform(0, 1) ? 0.0 : -1.0, hi = 1.0;
  listing = fmt::format("large reduction (seed {}): {} over axes {} of a {} f32 tensor uniform in [{}, {})\n", seed, op,
                        str(axes, "{", "}"), str(shape, "(", ")"), lo, hi);
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<float> host(static_cast<size_t>(total));
  std::uniform_real_distribution<float> dist{float(lo), float(hi)};
  for (float& x : host) x = dist(rng);
  Tensor x = Tensor::from_vector(host, shape).to(dev);
  Tensor r = op == "sum"         ? x.sum(axes)
             : op == "mean"      ? x.mean(axes)
             : op == "var"       ? x.var(axes)
             : op == "std"       ? x.std(axes)
             : op == "logsumexp" ? x.logsumexp(axes)
             : op == "softmax"   ? x.softmax(axes[0])
                                 : x.cumsum(axes[0]);
  std::vector<float> got = r.to_vector<float>();
  std::vector<std::vector<int64_t>> groups = groups_of(shape, axes);
  // softmax and cumsum keep the shape: their outputs are read through the same groups
  auto fail = [&](int64_t at, double g, long double want, double bound) {
    return fmt::format("element {}: got {}, expected {} (bound {})", at, g, double(want), bound);
  };
  size_t next = 0;
  for (const auto& group : groups) {
    double m = double(group.size());
    long double sum = 0, abs = 0;
    for (int64_t k : group) sum += host[size_t(k)], abs += std::fabs(host[size_t(k)]);
    if (op == "sum" || op == "mean") {
      double scale = op == "mean" ? m : 1, g = got[next++];
      long double want = sum / scale;
      double bound = pairwise(m, double(abs)) / scale + 2 * u32 * std::fabs(double(want));
      if (std::fabs(g - double(want)) > bound) return fail(int64_t(next - 1), g, want, bound);
    } else if (op == "var" || op == "std") {
      long double mean = sum / m, sq = 0, dev_abs = 0;
      for (int64_t k : group) {
        long double d = host[size_t(k)] - mean;
        sq += d * d, dev_abs += std::fabs(d);
      }
      long double var = sq / (m - 1);
      double var_bound =
          (pairwise(m, double(sq)) + 2 * double(dev_abs) * pairwise(m, double(abs / m)) + 4 * u32 * double(sq)) /
          (m - 1);
      double g = got[next++];
      long double want = op == "var" ? var : std::sqrt(var);
      double bound = op == "var" ? var_bound : var_bound / (2 * std::sqrt(double(var))) + 2 * u32 * double(want);
      if (std::fabs(g - double(want)) > bound) return fail(int64_t(next - 1), g, want, bound);
    } else if (op == "logsumexp" || op == "softmax") {
      float mx = -INFINITY;
      for (int64_t k : group) mx = std::max(mx, host[size_t(k)]);
      long double denom = 0;
      for (int64_t k : group) denom += std::exp((long double)(host[size_t(k)] - mx));
      double rel = (pairwise(m, double(denom)) + 4 * u32 * double(denom)) / double(denom);
      if (op == "logsumexp") {
        long double want = mx + std::log(denom);
        double g = got[next++], bound = rel + 2 * u32 * std::fabs(double(want));
        if (std::fabs(g - double(want)) > bound) return fail(int64_t(next - 1), g, want, bound);
      } else
        for (int64_t k : group) {
          long double want = std::exp((long double)(host[size_t(k)] - mx)) / denom;
          double g = got[size_t(k)], bound = double(want) * (2 * rel + 8 * u32);
          if (std::fabs(g - double(want)) > bound) return fail(k, g, want, bound);
        }
    } else { // cumsum: each prefix
      long double prefix = 0, prefix_abs = 0;
      int64_t i = 0;
      for (int64_t k : group) {
        prefix += host[size_t(k)], prefix_abs += std::fabs(host[size_t(k)]);
        double g = got[size_t(k)], bound = pairwise(double(++i), double(prefix_abs)) + u32 * std::fabs(double(prefix));
        if (std::fabs(g - double(prefix)) > bound) return fail(k, g, prefix, bound);
      }
    }
  }
  return "";
}

} // namespace patgrad::tensor_fuzz
