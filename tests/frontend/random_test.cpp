// Random tensors: reproducible from the seed, the same on CPU and INTERP (the tensor program computes the bits), equal
// to a host model of the generator, and distributed as they should be.
#include "tests/frontend/check.h"
#include <functional>
#include <numeric>

using namespace patgrad;
using testing::fails;

namespace {

// The generator, written out on the host: splitmix64 (Steele, Lea and Flood) over key + index * gamma, where a
// call's key mixes the seed with the number of calls since manual_seed.
constexpr uint64_t gamma = 0x9E3779B97F4A7C15;
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  return z ^ (z >> 31);
}
uint64_t key(uint64_t seed, uint64_t call) { return mix(mix(seed + gamma) + call * gamma); }
uint64_t bits(uint64_t key, uint64_t index) { return mix(key + index * gamma); }

struct Stats {
  double mean = 0, var = 0, lo = INFINITY, hi = -INFINITY;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x, s.lo = std::min(s.lo, x), s.hi = std::max(s.hi, x);
  s.mean /= double(v.size());
  for (double x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= double(v.size() - 1);
  return s;
}

// The same lazy tensor run on each device gives the same bits.
template <typename T>
void same_on_devices(const Tensor& t) {
  std::vector<T> cpu = t.to("CPU").to_vector<T>(), interp = t.to("INTERP").to_vector<T>();
  REQUIRE(cpu.size() == interp.size());
  CHECK((cpu.empty() || std::memcmp(cpu.data(), interp.data(), cpu.size() * sizeof(T)) == 0));
}

} // namespace

TEST_CASE("rand equals the host model of the generator, bit for bit, on both devices", "[random]") {
  Tensor::manual_seed(42);
  Tensor a = Tensor::rand({3, 5}), b = Tensor::rand({7}, DType::f64),
         c = Tensor::randint({4, 4}, -10, 1000, DType::i64);
  std::vector<double> ea, eb, ec;
  for (uint64_t i = 0; i < 15; i++) ea.push_back(double(bits(key(42, 0), i) >> 40) * 0x1p-24);
  for (uint64_t i = 0; i < 7; i++) eb.push_back(double(bits(key(42, 1), i) >> 11) * 0x1p-53);
  for (uint64_t i = 0; i < 16; i++) ec.push_back(-10 + double(bits(key(42, 2), i) % 1010));
  for (const runtime::Target* dev : testing::complete_targets()) {
    testing::check_close(a.to(dev), {3, 5}, ea, 0);
    testing::check_close(b.to(dev), {7}, eb, 0);
    testing::check_close(c.to(dev), {4, 4}, ec, 0);
  }
}

TEST_CASE("manual_seed makes the sequence of calls reproducible; each call and each seed differs", "[random]") {
  Tensor::manual_seed(7);
  std::vector<float> first = Tensor::rand({64}).to_vector<float>(), second = Tensor::rand({64}).to_vector<float>();
  Tensor::manual_seed(7);
  CHECK(Tensor::rand({64}).to_vector<float>() == first);
  CHECK(Tensor::rand({64}).to_vector<float>() == second);
  CHECK(first != second);
  Tensor::manual_seed(8);
  CHECK(Tensor::rand({64}).to_vector<float>() != first);
  // a larger tensor of the same call starts with the same values: an element depends on its index, not the shape
  Tensor::manual_seed(7);
  std::vector<float> wide = Tensor::rand({8, 16}).to_vector<float>();
  CHECK(std::vector<float>(wide.begin(), wide.begin() + 64) == first);
}

TEST_CASE("every random op gives the same bits on CPU and INTERP, for every dtype", "[random]") {
  Tensor::manual_seed(3);
  const Shape shape = {5, 1, 7};
  for (DType d : {DType::f16, DType::bf16, DType::f32, DType::f64}) {
    INFO(uops::name(d));
    for (const Tensor& t : {Tensor::rand(shape, d), Tensor::randn(shape, d), Tensor::uniform(shape, -2, 3, d)}) {
      CHECK(t.dtype() == d);
      CHECK(t.shape() == shape);
      same_on_devices<double>(t);
    }
  }
  same_on_devices<int8_t>(Tensor::randint(shape, -128, 128, DType::i8));
  same_on_devices<int16_t>(Tensor::randint(shape, -5, 5, DType::i16));
  same_on_devices<int32_t>(Tensor::randint(shape, 0, 1 << 30, DType::i32));
  same_on_devices<int64_t>(Tensor::randint(shape, INT64_MIN, INT64_MAX, DType::i64));
  same_on_devices<uint8_t>(Tensor::randint(shape, 0, 256, DType::u8));
  same_on_devices<uint16_t>(Tensor::randint(shape, 100, 200, DType::u16));
  same_on_devices<uint32_t>(Tensor::randint(shape, 0, 3, DType::u32));
  same_on_devices<uint64_t>(Tensor::randint(shape, 0, INT64_MAX, DType::u64));
  for (const Shape& s : {Shape{}, Shape{0}, Shape{3, 0, 2}, Shape{1}}) {
    CHECK(Tensor::rand(s).shape() == s);
    same_on_devices<float>(Tensor::randn(s));
  }
}

// Bounds below are more than 5 standard deviations of the estimate for n = 100000 (CPU only: the previous test shows
// INTERP gives the same bits).
TEST_CASE("rand, uniform, randn and randint have the right range, moments and spread", "[random]") {
  Tensor::manual_seed(11);
  const int64_t n = 100000;
  for (DType d : {DType::f16, DType::bf16, DType::f32, DType::f64}) {
    INFO(uops::name(d));
    std::vector<double> u = Tensor::rand({n}, d).to("CPU").to_vector<double>();
    Stats s = stats(u);
    CHECK(s.lo >= 0);
    CHECK(s.hi < 1);                            // the top bits, scaled exactly: never rounds up to 1
    CHECK(std::fabs(s.mean - 0.5) < 0.005);     // sd of the mean: 0.0009
    CHECK(std::fabs(s.var - 1.0 / 12) < 0.002); // sd of the variance: about 0.0003
    std::vector<int64_t> bins(10);
    for (double x : u) bins[size_t(x * 10)]++;
    for (int64_t c : bins) CHECK(std::abs(c - n / 10) < n / 200); // sd of a bin: 95
    std::vector<double> g = Tensor::randn({n}, d).to("CPU").to_vector<double>();
    Stats t = stats(g);
    CHECK(std::fabs(t.mean) < 0.02);    // sd: 0.0032
    CHECK(std::fabs(t.var - 1) < 0.03); // sd: 0.0045
    CHECK(std::fabs(t.lo) < 6.5);
    CHECK(std::fabs(t.hi) < 6.5);
    double within = double(std::count_if(g.begin(), g.end(), [](double x) { return std::fabs(x) < 1; })) / double(n);
    CHECK(std::fabs(within - 0.6827) < 0.01); // sd: 0.0015
    Stats w = stats(Tensor::uniform({n}, -3, 5, d).to("CPU").to_vector<double>());
    CHECK(w.lo >= -3);
    CHECK(w.hi <= 5);
    CHECK(std::fabs(w.mean - 1) < 0.05);
  }
  std::vector<int64_t> counts(7);
  for (int8_t x : Tensor::randint({n}, -3, 4, DType::i8).to("CPU").to_vector<int8_t>()) {
    REQUIRE(x >= -3);
    REQUIRE(x < 4);
    counts[size_t(x + 3)]++;
  }
  for (int64_t c : counts) CHECK(std::abs(c - n / 7) < n / 100); // every value, each about n / 7 (sd: 111)
}

TEST_CASE("random ops reject bad dtypes, ranges and shapes", "[random]") {
  fails([] { Tensor::rand({2}, DType::i32); }, "rand: needs a float dtype, got i32");
  fails([] { Tensor::randn({2}, DType::bool_); }, "randn: needs a float dtype, got bool");
  fails([] { Tensor::uniform({2}, 0, 1, DType::u8); }, "uniform: needs a float dtype, got u8");
  fails([] { Tensor::randint({2}, 0, 5, DType::f32); }, "randint: needs an integer dtype, got f32");
  fails([] { Tensor::randint({2}, 5, 5); }, "randint: low (5) must be less than high (5)");
  fails([] { Tensor::randint({2}, 0, 300, DType::u8); }, "randint: [0, 300) does not fit u8");
  fails([] { Tensor::randint({2}, -1, 3, DType::u16); }, "randint: [-1, 3) does not fit u16");
  fails([] { Tensor::rand({2, -3}); }, "rand: negative dimension -3");
}
