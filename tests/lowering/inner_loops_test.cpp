// No division or modulo in the innermost loop of any kernel of two real training steps (issue 11): the MNIST example's
// model (examples/models.h, as bench/bench_mnist_step.cpp runs it: batch 512) and fashion_mnist cnn's (batch 128).
// Convolutions, pooling and their gradients reach every movement op the index pass lowers; what divides inside an
// innermost loop runs once per element of the kernel's hottest loop. The kernels are lowered for CPU, not run.
#include "examples/models.h"
#include "frontend/autograd.h"
#include "frontend/nn.h"
#include "lowering/lowering.h"
#include "rewriter/rewriter.h"
#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace patgrad;
using uops::Op;
using uops::UOp;
namespace F = patgrad::nn::functional;

namespace {

bool divides(Op op) { return op == Op::IDIV || op == Op::MOD || op == Op::CDIV || op == Op::CMOD; }

// Each division or modulo that a linear program computes inside an innermost loop (a RANGE with no RANGE between it
// and the END that closes it), as "kernel: op".
std::vector<std::string> divisions_in_inner_loops(const lowering::Kernel& k) {
  auto lowered = lowering::lower_kernel(k, "CPU", rewriter::builtin_library());
  if (!lowered) FAIL(k.name << ": " << llvm::toString(lowered.takeError()));
  const std::vector<UOp>& program = lowered->program;
  struct Open {
    const uops::Node* range;
    size_t start;
    bool inner = true;
  };
  std::vector<Open> open;
  std::vector<std::string> found;
  for (size_t i = 0; i < program.size(); i++) {
    const UOp& u = program[i];
    if (u->op == Op::RANGE) {
      if (!open.empty()) open.back().inner = false;
      open.push_back({u.get(), i});
    }
    if (u->op != Op::END) continue;
    for (size_t s = 1; s < u->src.size(); s++)
      while (!open.empty()) {
        Open o = open.back();
        open.pop_back();
        if (o.inner)
          for (size_t j = o.start; j < i; j++)
            if (divides(program[j]->op))
              found.push_back(fmt::format("{} ({}): {}", k.name, lowered->opts, uops::sexpr(program[j])));
        if (o.range == u->src[s].get()) break;
      }
  }
  return found;
}

void check_step(const Tensor& loss, const std::vector<Tensor>& params) {
  std::vector<Tensor> grads = gradients(loss, params);
  std::vector<UOp> roots{loss.uop()};
  for (const Tensor& g : grads) roots.push_back(g.uop());
  lowering::Schedule s = lowering::schedule(roots, runtime::new_buffer);
  REQUIRE(s.kernels.size() > 20);
  std::vector<std::string> found;
  for (const lowering::Kernel& k : s.kernels)
    for (std::string& d : divisions_in_inner_loops(k)) found.push_back(std::move(d));
  INFO(fmt::format("{}", fmt::join(found, "\n")));
  CHECK(found.empty());
}

} // namespace

TEST_CASE("no kernel of MNIST's training step divides in its innermost loop", "[lowering][inner]") {
  Tensor::manual_seed(0);
  examples::MnistNet model;
  Tensor x = Tensor::randn({512, 1, 28, 28}).realize(), y = Tensor::randint({512}, 0, 10, DType::i64).realize();
  check_step(F::cross_entropy(model(x), y), nn::get_parameters(model));
}

TEST_CASE("no kernel of fashion_mnist cnn's training step divides in its innermost loop", "[lowering][inner]") {
  Tensor::manual_seed(0);
  examples::Cnn model;
  Tensor x = Tensor::randn({128, 1, 28, 28}).realize(), y = Tensor::randint({128}, 0, 10, DType::i64).realize();
  check_step(F::cross_entropy(model(x), y), nn::get_parameters(model));
}
