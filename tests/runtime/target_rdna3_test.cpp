// DEV=RDNA3: tensor programs rendered to gfx1100 assembly by rules (patterns/target_rdna3.pat), assembled in-process
// and run in the emulator, which checks bounds, waits and hazards as they run; each compared with INTERP, the
// reference: bit for bit where RDNA3's instructions round as the op table does, within a few ulp for its
// transcendental unit.
#include "frontend/nn.h"
#include "frontend/optim.h"
#include "tests/frontend/check.h"
#include "tests/shell.h"
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <random>

using namespace patgrad;

namespace {

Tensor random(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(size_t(uops::prod(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape).realize();
}

// f on RDNA3 against f on INTERP; ulps 0: bit for bit
void same(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
          const std::vector<Tensor>& inputs, int ulps = 0) {
  std::vector<Tensor> on_gpu, on_interp;
  for (const Tensor& t : inputs) on_gpu.push_back(t.to("RDNA3")), on_interp.push_back(t.to("INTERP"));
  Tensor got = f(on_gpu).realize(); // computed here: to() of a lazy tensor would move its computation too
  REQUIRE(got.device()->name == "RDNA3");
  std::vector<float> g = got.to("CPU").to_vector<float>(), want = f(on_interp).realize().to("CPU").to_vector<float>();
  INFO(what);
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); i++) {
    INFO(fmt::format("element {}: {} against {}", i, g[i], want[i]));
    if (std::isnan(want[i])) // a NaN's sign and payload are the hardware's choice
      CHECK(std::isnan(g[i]));
    else if (ulps == 0 || std::isinf(want[i]))
      CHECK(std::bit_cast<uint32_t>(g[i]) == std::bit_cast<uint32_t>(want[i]));
    else
      CHECK(std::abs(g[i] - want[i]) <= ulps * std::abs(std::nextafter(want[i], INFINITY) - want[i]) + 1e-30f);
  }
}

} // namespace

TEST_CASE("RDNA3: elementwise, reductions and matrix products equal INTERP", "[rdna3][target]") {
  Tensor x = random({7, 45}, 1), y = random({45, 9}, 2), z = random({7, 45}, 3);
  // 315 lanes: the last of ten waves has 27, so exec masks matter
  same("a + b * 2", [](auto& t) { return t[0] + t[1] * 2.0; }, {x, z});
  same("a - b", [](auto& t) { return t[0] - t[1]; }, {x, z});
  same("relu", [](auto& t) { return t[0].relu(); }, {x});
  same("where", [](auto& t) { return (t[0] > 0.0).where(t[0], t[1] * 3.0); }, {x, z});
  same("max with NaN and signed zeros", [](auto& t) { return t[0].maximum(t[1]); },
       {Tensor::from_vector<float>({NAN, 1, -0.0f, 0, 2, -3}), Tensor::from_vector<float>({1, NAN, 0, -0.0f, -2, 3})});
  same("sum of rows", [](auto& t) { return t[0].sum({1}); }, {x});
  same("sum of columns", [](auto& t) { return t[0].sum({0}); }, {x});
  same("sum of all", [](auto& t) { return t[0].sum(); }, {x});
  same("max of rows", [](auto& t) { return t[0].max({1}); }, {x});
  same("matmul", [](auto& t) { return t[0].matmul(t[1]); }, {x, y});
  same("transposed", [](auto& t) { return t[0].transpose(0, 1) + 1.0; }, {x});
  // the (6, 5) transpose read as (10, 3): its index divided by 5, which RDNA3 does through f32 (divide_rdna3)
  same("a reshape that divides",
       [](auto& t) {
         return t[0].transpose(0, 1).reshape({10, 3}) + 0.0;
       },
       {random({5, 6}, 5)});
  same("pooling and a padded convolution",
       [](auto& t) {
         return t[0].max_pool2d({2, 2}).conv2d(t[1], std::nullopt, {1}, {1});
       },
       {random({2, 3, 7, 15}, 6), random({4, 3, 3, 3}, 7)});
  same("integers", [](auto& t) { return ((t[0] * 10.0).cast(DType::i32) * 3 + 7).cast(DType::f32); }, {x});
}

TEST_CASE("RDNA3: the transcendental unit within a few ulp of INTERP", "[rdna3][target]") {
  Tensor x = random({5, 40}, 4);
  same(
      "exp2", [](auto& t) { return (t[0] * 4.0).exp2(); }, {x}, 2);
  same(
      "log2", [](auto& t) { return (t[0].abs() + 0.01).log2(); }, {x}, 2);
  same(
      "sqrt", [](auto& t) { return t[0].abs().sqrt(); }, {x}, 2);
  same(
      "division", [](auto& t) { return t[0] / (t[0].abs() + 0.5); }, {x}, 1);
  same("division by zero and infinity", [](auto& t) { return t[0] / t[1]; },
       {Tensor::from_vector<float>({1, -1, 0, INFINITY, 3}), Tensor::from_vector<float>({0, 0, 0, 2, INFINITY})});
  same(
      "softmax", [](auto& t) { return t[0].softmax(1); }, {x}, 8);
}

TEST_CASE("RDNA3: random numbers and integer sums (64-bit integers in VGPR pairs) equal INTERP", "[rdna3][target]") {
  // the generator's 64-bit hashes, shifts and the u64 to f32 conversion; randn adds log2, sqrt and sin
  for (const char* kind : {"rand", "randn"}) {
    std::vector<std::vector<float>> got;
    for (const char* dev : {"RDNA3", "INTERP"}) {
      Tensor::manual_seed(11);
      Tensor r = std::string(kind) == "rand" ? Tensor::rand({5, 41}) : Tensor::randn({5, 41});
      got.push_back(r.to(dev).realize().to("CPU").to_vector<float>());
    }
    INFO(kind);
    REQUIRE(got[0].size() == got[1].size());
    // v_sin_f32 takes revolutions: x / 2pi rounded to f32 moves a result near zero by ~1e-7 absolute
    for (size_t i = 0; i < got[0].size(); i++)
      CHECK(std::abs(got[0][i] - got[1][i]) <= 1e-6f * std::max(1.0f, std::abs(got[1][i])));
  }
  std::vector<int32_t> values;
  for (int i = 0; i < 300; i++) values.push_back((i * 7919) % 2001 - 1000);
  Tensor x = Tensor::from_vector<int32_t>(values).realize();
  CHECK(x.to("RDNA3").sum().realize().to("CPU").to_vector<int64_t>() ==
        x.to("INTERP").sum().realize().to("CPU").to_vector<int64_t>()); // into i64
  Tensor big = Tensor::from_vector<int64_t>({int64_t(1) << 40, -(int64_t(1) << 33), 12345678901234}).realize();
  Tensor wide = Tensor::from_vector<int64_t>({-5, (int64_t(1) << 62) + 12345, -(int64_t(1) << 40) - 1, 0}).realize();
  CHECK(wide.to("RDNA3").cast(DType::f32).realize().to("CPU").to_vector<float>() ==
        wide.to("INTERP").cast(DType::f32).realize().to("CPU").to_vector<float>()); // rounded once, signed
  CHECK((big.to("RDNA3") * 3 + 1).realize().to("CPU").to_vector<int64_t>() ==
        std::vector<int64_t>{3 * (int64_t(1) << 40) + 1, -3 * (int64_t(1) << 33) + 1, 3 * int64_t(12345678901234) + 1});
}

TEST_CASE("RDNA3: f64 arithmetic, compares and conversions equal INTERP", "[rdna3][target]") {
  std::vector<double> a{1.5, -2.25, 1e300, 3.0000000001, 0, -7}, b{0.1, 4, -1e-300, 3, -0.0, 2.5};
  auto f = [&](const char* dev) {
    Tensor x = Tensor::from_vector<double>(a).to(dev), y = Tensor::from_vector<double>(b).to(dev);
    Tensor r = (x * y + x - y * 0.375 + (x < y).cast(DType::f64) + x.cast(DType::f32).cast(DType::f64));
    return std::pair{r.realize().to("CPU").to_vector<double>(),
                     (x.maximum(y) + 1.0).cast(DType::f32).realize().to("CPU").to_vector<float>()};
  };
  auto [got, got32] = f("RDNA3");
  auto [want, want32] = f("INTERP");
  CHECK(got == want);
  CHECK(got32 == want32);
}

TEST_CASE("RDNA3: an MLP's training steps (Adam, cross entropy) give the CPU's losses", "[rdna3][target][big]") {
  // every kernel on RDNA3: random initialization, matmuls, relu, log-softmax, i64 labels, Adam's f64 step counts
  auto losses = [](const char* dev) {
    testing::ScopedEnv env("DEV", dev);
    Tensor::manual_seed(5);
    nn::Linear l1(64, 16), l2(16, 10);
    std::vector<Tensor> params = nn::get_parameters(l1), second = nn::get_parameters(l2);
    params.insert(params.end(), second.begin(), second.end());
    optim::Adam opt(params, 1e-2);
    std::vector<int64_t> labels; // randint takes a u64 modulo, which RDNA3 does not have yet
    for (int i = 0; i < 32; i++) labels.push_back((i * 7) % 10);
    Tensor x = Tensor::randn({32, 64}).realize(), y = Tensor::from_vector<int64_t>(labels);
    std::vector<double> out;
    for (int step = 0; step < 3; step++) {
      Tensor loss = nn::functional::cross_entropy(l2(l1(x).relu()), y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      REQUIRE(loss.device()->name == dev);
      out.push_back(loss.item());
    }
    return out;
  };
  std::vector<double> gpu = losses("RDNA3"), cpu = losses("CPU");
  REQUIRE(gpu.size() == cpu.size());
  for (size_t i = 0; i < gpu.size(); i++) CHECK(gpu[i] == Approx(cpu[i]).epsilon(1e-5));
  CHECK(gpu.back() < gpu.front()); // it learns
}

TEST_CASE("RDNA3: what it has no instruction for is an error naming the op and dtype", "[rdna3][target]") {
  Tensor d = Tensor::from_vector<uint64_t>({7, 9, 30}).to("RDNA3");
  CHECK_THROWS_WITH((d % 10).realize(), Catch::Contains("RDNA3: no instruction for CMOD of u64"));
}
