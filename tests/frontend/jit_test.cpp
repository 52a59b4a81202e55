// Capture and replay: a replayed training step computes what the uncaptured step computes, bit for bit (the same
// kernels over the same values); the function runs only until the capture; and what a replay cannot reproduce is an
// error that says so.
#include "frontend/jit.h"
#include "frontend/nn.h"
#include "frontend/optim.h"
#include "tests/frontend/check.h"

using patgrad::testing::fails;

using namespace patgrad;
namespace F = patgrad::nn::functional;

namespace {

struct Net : nn::Module {
  nn::Linear l1{6, 16};
  nn::BatchNorm1d bn{16};
  nn::Linear l2{16, 3};
  Net() { register_module("l1", l1), register_module("bn", bn), register_module("l2", l2); }
  Tensor operator()(const Tensor& x) { return l2(bn(l1(x)).relu()); }
};

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

// Batch i: the same for both runs, different for each step.
std::pair<Tensor, Tensor> batch(int i) {
  std::vector<float> x(8 * 6);
  std::vector<int64_t> y(8);
  for (size_t j = 0; j < x.size(); j++) x[j] = float((j * 7 + size_t(i) * 13) % 11) / 5 - 1;
  for (size_t j = 0; j < y.size(); j++) y[j] = int64_t((j + size_t(i)) % 3);
  return {Tensor::from_vector(x, {8, 6}), Tensor::from_vector(y)};
}

} // namespace

TEST_CASE("a replayed training step computes what the step computes", "[jit]") {
  for (bool adam : {true, false}) {
    INFO((adam ? "Adam" : "SGD with momentum"));
    Tensor::manual_seed(3);
    Net plain;
    Tensor::manual_seed(3);
    Net captured;
    auto make_opt = [&](Net& n) -> std::unique_ptr<optim::Optimizer> {
      if (adam) return std::make_unique<optim::Adam>(nn::get_parameters(n), 0.01);
      return std::make_unique<optim::SGD>(nn::get_parameters(n), 0.05, optim::SGDOptions{.momentum = 0.9});
    };
    auto opt_plain = make_opt(plain), opt_captured = make_opt(captured);
    Tensor::realize_all(nn::get_parameters(captured)); // else the first call initializes them: another graph
    auto step = [](Net& n, optim::Optimizer& opt, const std::vector<Tensor>& xy) {
      Tensor loss = F::cross_entropy(n(xy[0]), xy[1]);
      opt.zero_grad();
      loss.backward();
      opt.step();
      return std::vector<Tensor>{loss};
    };
    int ran = 0;
    Jit jit([&](const std::vector<Tensor>& xy) {
      ran++;
      return step(captured, *opt_captured, xy);
    });
    for (int i = 0; i < 7; i++) {
      auto [x, y] = batch(i);
      double expected = step(plain, *opt_plain, {x, y})[0].item();
      std::vector<Tensor> got = jit({x, y});
      REQUIRE(got.size() == 1);
      CHECK(got[0].item() == expected);
      if (i == 4) opt_plain->set_lr(opt_plain->lr() / 4), opt_captured->set_lr(opt_captured->lr() / 4);
    }
    CHECK(jit.captured());
    CHECK(ran == (adam ? 2 : 3)); // SGD's first step starts its momentum at the gradient: another graph too
    CHECK(jit.kernels() > 10);
    auto p = nn::get_parameters(plain), c = nn::get_parameters(captured);
    REQUIRE(p.size() == c.size());
    for (size_t i = 0; i < p.size(); i++) CHECK(values(p[i]) == values(c[i]));
    CHECK(values(*plain.bn.running_mean) == values(*captured.bn.running_mean));
    CHECK(values(*plain.bn.running_var) == values(*captured.bn.running_var));
  }
}

TEST_CASE("a replay's results are new tensors, and it runs on the arguments it is given", "[jit]") {
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2, 3});
  Jit jit([&](const std::vector<Tensor>& a) { return std::vector<Tensor>{(a[0] * w).sum(), a[0] + 1}; });
  std::vector<std::vector<Tensor>> out;
  for (int i = 0; i < 4; i++) out.push_back(jit({Tensor::full({3}, double(i))}));
  CHECK(jit.captured());
  for (int i = 0; i < 4; i++) {
    CHECK(out[size_t(i)][0].item() == 6.0 * i);
    CHECK(values(out[size_t(i)][1]) == std::vector<float>(3, float(i + 1)));
  }
}

TEST_CASE("what a replay cannot reproduce is an error", "[jit]") {
  SECTION("arguments of another shape or dtype") {
    Jit jit([](const std::vector<Tensor>& a) { return std::vector<Tensor>{a[0] * 2}; });
    jit({Tensor::ones({4, 2})});
    jit({Tensor::ones({4, 2})});
    REQUIRE(jit.captured());
    fails([&] { jit({Tensor::ones({3, 2})}); }, "argument 0 is (3,2) f32 on CPU; the captured step took (4,2)");
    fails([&] { jit({Tensor::ones({4, 2}, DType::f64)}); }, "argument 0 is (4,2) f64");
    fails([&] { jit({Tensor::ones({4, 2}), Tensor::ones({1})}); }, "called with 2 arguments; the captured step took 1");
    jit.reset();
    jit({Tensor::ones({3, 2})});
    CHECK(values(jit({Tensor::ones({3, 2})})[0]) == std::vector<float>(6, 2));
    CHECK(jit.captured());
  }
  SECTION("random numbers drawn inside the function") {
    Jit jit([](const std::vector<Tensor>& a) { return std::vector<Tensor>{a[0] + Tensor::rand({4})}; });
    jit({Tensor::ones({4})});
    fails([&] { jit({Tensor::ones({4})}); }, "reads host data made into a tensor inside the function");
    CHECK(!jit.captured());
  }
  SECTION("a function that builds another graph on every call") {
    int n = 1;
    Jit jit([&](const std::vector<Tensor>& a) {
      int64_t rows = n;
      n *= 2;
      return std::vector<Tensor>{a[0].reshape({rows, -1}).sum({1})};
    });
    Tensor x = Tensor::ones({8});
    for (int i = 1; i < Jit::max_warmup_calls; i++) jit({x});
    fails([&] { jit({x}); }, "ran other kernels on each of its first");
  }
  SECTION("an argument assigned, an argument twice, a jit inside a captured function") {
    Jit assigns([](const std::vector<Tensor>& a) {
      Tensor t = a[0];
      t.assign(t + 1);
      return std::vector<Tensor>{t};
    });
    fails([&] { assigns({Tensor::ones({2}).realize()}); }, "assigns one of its arguments");
    Tensor x = Tensor::ones({2}).realize();
    Jit twice([](const std::vector<Tensor>& a) { return std::vector<Tensor>{a[0] + a[1]}; });
    fails([&] { twice({x, x}); }, "arguments 0 and 1 are the same buffer");
    Jit inner([](const std::vector<Tensor>& a) { return std::vector<Tensor>{a[0] + 1}; });
    Jit outer([&](const std::vector<Tensor>& a) { return inner(a); });
    fails([&] { outer({x}); }, "captures do not nest");
  }
}
