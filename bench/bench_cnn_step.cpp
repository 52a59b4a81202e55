// One training step of the Fashion-MNIST CNN of examples/models.h (batch 128, Adam): time per step, and
// where it goes: building the graph and autograd on the host, scheduling (tensor graph to kernels, lowering new
// kernels), compiling (new kernels only: the first step) and running kernels. Also the slowest kernels of a step.
//   build/bench/bench_cnn_step [--steps N] [--batch B]
#include "examples/models.h"
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
  int steps = 20;
  int64_t batch = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--steps")
      steps = std::stoi(argv[i + 1]);
    else if (a == "--batch")
      batch = std::stoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_cnn_step [--steps N] [--batch B]\n");
      return 2;
    }
  }
  Tensor::manual_seed(0);
  examples::Cnn model;
  optim::Adam opt(nn::get_parameters(model), 1e-3);
  Tensor x = Tensor::randn({batch, 1, 28, 28}).realize(), y = Tensor::randint({batch}, 0, 10, DType::i64).realize();
  auto step = [&] {
    Tensor loss = F::cross_entropy(model(x), y);
    opt.zero_grad();
    loss.backward();
    auto built = Clock::now();
    opt.step();
    loss.item();
    return built;
  };
  runtime::RunStats before = Tensor::run_stats();
  auto t0 = Clock::now();
  step();
  double first = ms(t0, Clock::now());
  runtime::RunStats s0 = Tensor::run_stats();
  fmt::print(
      "first step (compiles every kernel): {:.1f} ms: schedule {:.1f}, compile {:.1f}, run {:.1f} ms, {} kernels\n",
      first, s0.schedule_ms - before.schedule_ms, s0.compile_ms - before.compile_ms, s0.run_ms - before.run_ms,
      s0.kernels - before.kernels);
  double host = 0;
  auto start = Clock::now();
  for (int i = 0; i < steps; i++) {
    auto t = Clock::now();
    host += ms(t, step());
  }
  double total = ms(start, Clock::now()) / steps;
  runtime::RunStats s1 = Tensor::run_stats();
  auto per = [&](double a, double b) { return (a - b) / steps; };
  double sched = per(s1.schedule_ms, s0.schedule_ms), comp = per(s1.compile_ms, s0.compile_ms),
         run = per(s1.run_ms, s0.run_ms);
  fmt::print("step (batch {}, mean of {}): {:.1f} ms = graph+autograd {:.1f} + schedule {:.1f} + compile {:.1f} + run "
             "{:.1f} + other {:.1f} ms; {:.0f} kernels/step; {:.0f} images/s\n",
             batch, steps, total, host / steps, sched, comp, run, total - host / steps - sched - comp - run,
             double(s1.kernels - s0.kernels) / steps, double(batch) * 1000 / total);
  return 0;
}
