// One training step of tinygrad's MNIST example model, the yardstick of issue 11: conv 1->32 5x5, conv 32->32 5x5,
// batch norm, max pool, conv 32->64 3x3, conv 64->64 3x3, batch norm, max pool, linear 576->10 (ReLU after each
// conv), batch 512, Adam, random data of MNIST's shape; about 55 GFLOP a step. Prints the first step (it compiles
// every kernel), the steady step and images per second, then the steady step replayed from a capture (jit.h) beside
// it, each with the share of its time spent outside kernels; DEBUG=2 prints each kernel's time.
//   build/bench/bench_mnist_step [--steps N] [--batch B]
#include "examples/models.h"
#include "frontend/jit.h"
#include "frontend/nn.h"
#include "frontend/optim.h"
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <string>

using namespace patgrad;
namespace F = patgrad::nn::functional;

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

} // namespace

int main(int argc, char** argv) {
  int steps = 5;
  int64_t batch = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--steps")
      steps = std::stoi(argv[i + 1]);
    else if (a == "--batch")
      batch = std::stoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_mnist_step [--steps N] [--batch B]\n");
      return 2;
    }
  }
  Tensor::manual_seed(0);
  examples::MnistNet model;
  optim::Adam opt(nn::get_parameters(model), 1e-3);
  Tensor x = Tensor::randn({batch, 1, 28, 28}).realize(), y = Tensor::randint({batch}, 0, 10, DType::i64).realize();
  auto train = [&](const std::vector<Tensor>& xy) {
    Tensor loss = F::cross_entropy(model(xy[0]), xy[1]);
    opt.zero_grad();
    loss.backward();
    opt.step();
    return std::vector<Tensor>{loss};
  };
  auto step = [&] { train({x, y})[0].item(); };
  runtime::RunStats before = Tensor::run_stats();
  auto t0 = Clock::now();
  step();
  double first = ms(t0, Clock::now());
  runtime::RunStats s0 = Tensor::run_stats();
  fmt::print("first step: {:.0f} ms (schedule {:.0f}, compile {:.0f}, run {:.0f} ms; {} kernels)\n", first,
             s0.schedule_ms - before.schedule_ms, s0.compile_ms - before.compile_ms, s0.run_ms - before.run_ms,
             s0.kernels - before.kernels);
  auto start = Clock::now();
  for (int i = 0; i < steps; i++) step();
  double total = ms(start, Clock::now()) / steps;
  runtime::RunStats s1 = Tensor::run_stats();
  double run = (s1.run_ms - s0.run_ms) / steps;
  fmt::print(
      "steady step (batch {}, mean of {}): {:.1f} ms (run {:.1f} ms, {:.1f}% outside kernels); {:.0f} images/s\n",
      batch, steps, total, run, 100 * (1 - run / total), double(batch) * 1000 / total);

  Jit jit(train);
  auto jit_step = [&] { jit({x, y})[0].item(); };
  t0 = Clock::now();
  while (!jit.captured()) jit_step();
  double capture = ms(t0, Clock::now());
  runtime::RunStats s2 = Tensor::run_stats();
  start = Clock::now();
  for (int i = 0; i < steps; i++) jit_step();
  double replayed = ms(start, Clock::now()) / steps;
  run = (Tensor::run_stats().run_ms - s2.run_ms) / steps;
  fmt::print("replayed step (capture {:.0f} ms, {} kernels): {:.1f} ms (run {:.1f} ms, {:.1f}% outside kernels); "
             "{:.2f}x the steady step\n",
             capture, jit.kernels(), replayed, run, 100 * (1 - run / replayed), total / replayed);
  return 0;
}
