// The autograd API on Tensor: backward(), grad(), requires_grad_(), detach(), NoGrad, accumulation; and realization:
// handles share a tensor, assign() and realize_all(), memory that does not grow over a training loop.
#include "frontend/autograd.h"
#include "tests/frontend/check.h"
#include "uops/uop.h"

using namespace patgrad;
using patgrad::testing::check_close;

namespace {

Tensor leaf(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s).requires_grad_(); }

} // namespace

TEST_CASE("backward fills grad of every leaf the loss depends on", "[backward]") {
  Tensor x = leaf({1, 2, 3}, {3}), y = leaf({4, 5, 6}, {3}), unused = leaf({7}, {1});
  Tensor loss = (x * y + x * x).sum(); // d/dx = y + 2x, d/dy = x
  loss.backward();
  check_close(*x.grad(), {3}, {6, 9, 12}, 1e-6);
  check_close(*y.grad(), {3}, {1, 2, 3}, 1e-6);
  CHECK(!unused.grad());
  CHECK(x.requires_grad());
  CHECK(loss.requires_grad());
  CHECK(!Tensor::ones({3}).requires_grad());
}

TEST_CASE("reading a result does not cut it off from its leaves", "[backward]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor loss = (x * x).sum();
  CHECK(loss.to_vector<float>() == std::vector<float>{5});
  loss.backward();
  check_close(*x.grad(), {2}, {2, 4}, 1e-6);
}

TEST_CASE("gradients accumulate across backward calls until set_grad clears them", "[backward]") {
  Tensor w = leaf({2}, {1});
  (w * 3.0).sum().backward();
  (w * w).sum().backward(); // adds 2w = 4
  check_close(*w.grad(), {1}, {7}, 1e-6);
  w.set_grad(std::nullopt);
  (w * 5.0).sum().backward();
  check_close(*w.grad(), {1}, {5}, 1e-6);
}

TEST_CASE("a non-scalar needs a seed; a loss without leaves is an error", "[backward]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * x;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("non-scalar needs a seed"));
  y.backward(Tensor::from_vector(std::vector<double>{1, 10}, {2}));
  check_close(*x.grad(), {2}, {2, 40}, 1e-6);
  CHECK_THROWS_WITH(Tensor::ones({1}).sum().backward(),
                    Catch::Contains("does not depend on any tensor that requires grad"));
  CHECK_THROWS_WITH(Tensor::ones({2}, DType::i32).requires_grad_(), Catch::Contains("only float tensors"));
}

TEST_CASE("detach and NoGrad stop gradients", "[backward]") {
  Tensor x = leaf({3}, {1});
  Tensor loss = (x * x.detach()).sum(); // only the first factor carries a gradient: d/dx = x = 3
  loss.backward();
  check_close(*x.grad(), {1}, {3}, 1e-6);
  x.set_grad(std::nullopt);
  Tensor y = [&] {
    Tensor::NoGrad scope;
    return x * 2.0;
  }();
  CHECK(!y.requires_grad());
  (x + y).sum().backward(); // y is a constant here
  check_close(*x.grad(), {1}, {1}, 1e-6);
}

TEST_CASE("copies of a Tensor share it: assign and realize change every copy", "[realize]") {
  Tensor a = Tensor::ones({2});
  Tensor b = a;
  a.assign(Tensor::full({2}, 5));
  check_close(b, {2}, {5, 5}, 0);
  CHECK(b.is(a));
  CHECK_THROWS_WITH(a.assign(Tensor::ones({3})), Catch::Contains("does not match"));
  CHECK_THROWS_WITH(a.assign(Tensor::ones({2}, DType::i32)), Catch::Contains("does not match"));
  // pending assignments are realized with the next realize of anything
  Tensor c = Tensor::zeros({1}).realize();
  c.assign(c + 1.0);
  Tensor::realize_all({Tensor::ones({1}) * 3.0});
  CHECK(c.uop()->op == uops::Op::RESHAPE);
  CHECK(c.uop()->src[0]->op == uops::Op::BUFFER);
  check_close(c, {1}, {1}, 0);
}

TEST_CASE("realize_all computes shared work once and later realizes reuse it", "[realize]") {
  Tensor x = Tensor::rand({64, 64}).realize();
  Tensor h = (x.matmul(x)).relu(); // the matmul is a reduction both consumers broadcast
  Tensor a = h.sum({1}), b = h.max({1});
  lowering::Schedule together = lowering::schedule({a.uop(), b.uop()}, runtime::new_buffer);
  CHECK(together.kernels.size() == 3); // the matmul, reduced again, is realized once; relu fuses into both reductions
  Tensor::realize_all({a, b});
  std::vector<float> sa = a.to_vector<float>(), sb = b.to_vector<float>();
  // a node realized on the way is not computed again: x @ x is realized as part of s below, then (x @ x).sum() loads it
  Tensor m = x.matmul(x);
  Tensor s = (m * 2.0).sum({1});
  s.realize();
  Tensor again = m.sum();
  int64_t before = Tensor::run_stats().kernels;
  again.realize();
  CHECK(Tensor::run_stats().kernels - before == 1); // the sum; m's buffer is loaded
  check_close(again, {}, {s.sum().item() / 2}, 1e-2, 1e-5);
  std::vector<float> xs = x.to_vector<float>();
  for (int i = 0; i < 64; i += 21) { // a spot check of the shared realize against a host reference
    double sum = 0, mx = 0;
    for (int j = 0; j < 64; j++) {
      double v = 0;
      for (int k = 0; k < 64; k++) v += double(xs[size_t(i * 64 + k)]) * xs[size_t(k * 64 + j)];
      sum += std::max(v, 0.0), mx = std::max(mx, v);
    }
    CHECK(std::fabs(sa[size_t(i)] - sum) <= 1e-3 * sum);
    CHECK(std::fabs(sb[size_t(i)] - mx) <= 1e-3 * mx);
  }
}

TEST_CASE("a training loop does not grow: buffers and nodes after step 200 equal those after step 20", "[memory]") {
  Tensor::manual_seed(3);
  Tensor x = Tensor::randn({32, 8}).realize(), target = Tensor::randn({32, 2}).realize();
  Tensor w1 = (Tensor::randn({8, 16}) * 0.3).requires_grad_(), b1 = Tensor::zeros({16}).requires_grad_();
  Tensor w2 = (Tensor::randn({16, 2}) * 0.3).requires_grad_(), b2 = Tensor::zeros({2}).requires_grad_();
  std::vector<Tensor> params{w1, b1, w2, b2};
  size_t buffers20 = 0, uops20 = 0, buffers200 = 0, uops200 = 0;
  double first = 0, last = 0;
  for (int step = 1; step <= 200; step++) {
    Tensor noise = Tensor::rand({32, 16}) > 0.1; // a dropout mask: a random kernel each step
    Tensor h = (x.matmul(w1) + b1).relu() * noise.cast(DType::f32) / 0.9;
    Tensor loss = ((h.matmul(w2) + b2 - target).pow(2.0)).mean();
    for (Tensor& p : params) p.set_grad(std::nullopt);
    loss.backward();
    {
      Tensor::NoGrad scope;
      for (Tensor& p : params) p.assign(p - *p.grad() * 0.05);
    }
    Tensor::realize_all(params);
    double l = loss.item();
    if (step == 1) first = l;
    last = l;
    if (step == 20) buffers20 = runtime::live_buffers(), uops20 = uops::live_uops();
    if (step == 200) buffers200 = runtime::live_buffers(), uops200 = uops::live_uops();
  }
  CHECK(buffers200 == buffers20);
  CHECK(uops200 == uops20);
  CHECK(last < 0.6 * first); // and it learned
}
