// Counter-based random numbers. Each call takes a key from the global seed and the number of calls before it; an
// element's 64 random bits are splitmix64's output for the state key + index * gamma, computed by the tensor program
// from the element's index. The values depend only on the seed, the call's position and the index, so every device
// computes the same ones, and nothing but the key lives on the host.
#include "frontend/tensor_internal.h"
#include <atomic>
#include <cmath>
#include <fmt/format.h>
#include <numbers>
#include <numeric>

namespace patgrad {

using uops::Op;
using uops::UOp;

namespace {

constexpr uint64_t golden_gamma = 0x9E3779B97F4A7C15; // splitmix64's increment: 2^64 / phi, odd

// The seed and the number of calls since it was set: the one global state, because manual_seed is global in the
// API (as in PyTorch). The seed is 0 until manual_seed sets it.
struct RandomState {
  std::atomic<uint64_t> seed{0}, calls{0};
};
RandomState& random_state() {
  static RandomState s;
  return s;
}

// splitmix64's finalizer (Stafford's mix 13) on the host, for keys.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  return z ^ (z >> 31);
}

uint64_t next_key() {
  RandomState& s = random_state();
  return mix(mix(s.seed.load() + golden_gamma) + s.calls.fetch_add(1) * golden_gamma);
}

Tensor u64(uint64_t v) { return Tensor(UOp::constant(DType::u64, __int128(v)), default_device()); }

Tensor shift_right(const Tensor& x, int k) {
  Tensor by = Tensor::full(x.shape(), k, DType::u64).to(x.device());
  return Tensor::make(Op::SHR, DType::u64, {x.uop(), by.uop()}, {}, x.device(), "shift_right");
}

// The same finalizer as the host's, as tensor ops on u64.
Tensor mix(const Tensor& z) {
  Tensor a = (z ^ shift_right(z, 30)) * u64(0xBF58476D1CE4E5B9);
  Tensor b = (a ^ shift_right(a, 27)) * u64(0x94D049BB133111EB);
  return b ^ shift_right(b, 31);
}

// The flat index of every element as u64, read from a table of about sqrt(n) numbers: row * width + column over a
// width x width square, flattened and cut to n. Two loads per element instead of a table of n.
Tensor element_index(const Shape& shape) {
  int64_t n = uops::prod(shape), width = std::max<int64_t>(1, int64_t(std::sqrt(double(n))));
  while (width * width < n) width++;
  std::vector<uint64_t> table(static_cast<size_t>(width));
  std::iota(table.begin(), table.end(), 0);
  Tensor t = Tensor::from_vector(table);
  Tensor square = t.reshape({width, 1}).expand({width, width}) * u64(uint64_t(width)) + t.reshape({1, width});
  return square.reshape({width * width}).shrink({{0, n}}).reshape(shape);
}

// The key is data (a one-element buffer), not a constant: every call of one shape is then the same kernel, compiled
// once (a dropout mask each step would otherwise compile a new kernel each step).
Tensor random_bits(const Shape& shape, uint64_t key) {
  Tensor k = Tensor::from_vector(std::vector<uint64_t>{key}).reshape({});
  return mix(element_index(shape) * u64(golden_gamma) + k);
}

// The top bits of each element, as many as d's significand holds, scaled to [0, 1): every step is exact, so no value
// rounds up to 1.
Tensor unit_interval(const Tensor& bits, DType d) {
  int m = d == DType::f64 ? 53 : d == DType::f32 ? 24 : d == DType::f16 ? 11 : 8;
  DType work = d == DType::f64 ? DType::f64 : DType::f32;
  return (shift_right(bits, 64 - m).cast(work) * std::ldexp(1.0, -m)).cast(d);
}

void require_float(DType d, const char* what) {
  if (!uops::is_float(d)) throw TensorError(fmt::format("{}: needs a float dtype, got {}", what, uops::name(d)));
}

} // namespace

void Tensor::manual_seed(uint64_t seed) {
  random_state().seed = seed;
  random_state().calls = 0;
}

Tensor Tensor::rand(const Shape& shape, DType dtype) {
  require_float(dtype, "rand");
  detail::check_shape(shape, dtype, "rand");
  return unit_interval(random_bits(shape, next_key()), dtype);
}

// Box-Muller: sqrt(-2 log u1) cos(2 pi u2) with u1 in (0, 1], in f32 (f64 for f64); two streams from one key.
Tensor Tensor::randn(const Shape& shape, DType dtype) {
  require_float(dtype, "randn");
  detail::check_shape(shape, dtype, "randn");
  DType work = dtype == DType::f64 ? DType::f64 : DType::f32;
  uint64_t key = next_key();
  Tensor u1 = 1 - unit_interval(random_bits(shape, key), work);
  Tensor u2 = unit_interval(random_bits(shape, mix(key)), work);
  return ((-2 * u1.log()).sqrt() * (2 * std::numbers::pi * u2).cos()).cast(dtype);
}

// low + (high - low) * u, in f32 (f64 for f64); rounding can give high itself, as in PyTorch
Tensor Tensor::uniform(const Shape& shape, double low, double high, DType dtype) {
  require_float(dtype, "uniform");
  DType work = dtype == DType::f64 ? DType::f64 : DType::f32;
  return (rand(shape, work) * (high - low) + low).cast(dtype);
}

// low + bits % (high - low), all modulo 2^64 and then wrapped to dtype, which the range fits; the modulo's bias is
// below (high - low) / 2^64
Tensor Tensor::randint(const Shape& shape, int64_t low, int64_t high, DType dtype) {
  if (!uops::is_fixed_int(dtype))
    throw TensorError(fmt::format("randint: needs an integer dtype, got {}", uops::name(dtype)));
  if (low >= high) throw TensorError(fmt::format("randint: low ({}) must be less than high ({})", low, high));
  if (low < uops::dtype_min(dtype) || __int128(high) - 1 > uops::dtype_max(dtype))
    throw TensorError(fmt::format("randint: [{}, {}) does not fit {}", low, high, uops::name(dtype)));
  detail::check_shape(shape, dtype, "randint");
  Tensor bits = random_bits(shape, next_key());
  Tensor offset = bits.mod(u64(uint64_t(high) - uint64_t(low)));
  return (offset + u64(uint64_t(low))).cast(dtype);
}

} // namespace patgrad
