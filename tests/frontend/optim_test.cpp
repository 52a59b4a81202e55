// Optimizers: steps on known gradients against PyTorch's formulas written out here in double, the schedules' values,
// and small models that must train (one of them on Fashion-MNIST).
#include "frontend/datasets.h"
#include "frontend/nn.h"
#include "frontend/optim.h"
#include "tests/frontend/check.h"
#include <numbers>

using namespace patgrad;
using namespace patgrad::optim;
namespace F = patgrad::nn::functional;
using patgrad::testing::check_close;

namespace {

Tensor param(const std::vector<double>& v) {
  Tensor p = Tensor::from_vector(v);
  p.requires_grad_();
  return p;
}

} // namespace

TEST_CASE("SGD steps as PyTorch's formula: plain, weight decay, momentum, dampening, nesterov", "[optim]") {
  std::vector<double> p0 = {1, -2, 3}, g1 = {0.5, 0.25, -1}, g2 = {-0.5, 1, 2};
  struct Case {
    double momentum, dampening, wd;
    bool nesterov;
  };
  for (Case c : {Case{0, 0, 0, false}, Case{0, 0, 0.1, false}, Case{0.9, 0, 0, false}, Case{0.9, 0.3, 0.01, false},
                 Case{0.8, 0, 0.05, true}}) {
    INFO("momentum " << c.momentum << " dampening " << c.dampening << " weight_decay " << c.wd << " nesterov "
                     << c.nesterov);
    const double lr = 0.1;
    Tensor p = param(p0);
    SGD opt({p}, lr, {.momentum = c.momentum, .dampening = c.dampening, .weight_decay = c.wd, .nesterov = c.nesterov});
    std::vector<double> expected = p0, buf(3);
    for (int step = 0; step < 2; step++) {
      const std::vector<double>& g = step == 0 ? g1 : g2;
      p.set_grad(Tensor::from_vector(g));
      opt.step();
      for (size_t i = 0; i < 3; i++) {
        double d = g[i] + c.wd * expected[i];
        if (c.momentum != 0) {
          buf[i] = step == 0 ? d : c.momentum * buf[i] + (1 - c.dampening) * d;
          d = c.nesterov ? d + c.momentum * buf[i] : buf[i];
        }
        expected[i] -= lr * d;
      }
      check_close(p, {3}, expected, 1e-15, 1e-15);
    }
  }
}

TEST_CASE("Adam and AdamW step as PyTorch's formulas", "[optim]") {
  std::vector<double> p0 = {1, -2, 3, 0.5}, g1 = {0.5, 0.25, -1, 0}, g2 = {-0.5, 1, 2, 3}, g3 = {1, 1, -3, 0.1};
  for (bool decoupled : {false, true})
    for (double wd : {0.0, 0.1})
      for (bool amsgrad : {false, true}) {
        INFO((decoupled ? "AdamW" : "Adam") << " weight_decay " << wd << " amsgrad " << amsgrad);
        const double lr = 0.01, b1 = 0.8, b2 = 0.9, eps = 1e-6;
        Tensor p = param(p0);
        AdamOptions o{.beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd, .amsgrad = amsgrad};
        std::unique_ptr<Optimizer> opt = decoupled ? std::unique_ptr<Optimizer>(new AdamW({p}, lr, o))
                                                   : std::make_unique<Adam>(std::vector{p}, lr, o);
        std::vector<double> e = p0, m(4), v(4), vmax(4);
        int t = 0;
        for (const auto& g : {g1, g2, g3}) {
          t++;
          p.set_grad(Tensor::from_vector(g));
          opt->step();
          for (size_t i = 0; i < 4; i++) {
            double gi = g[i];
            if (decoupled)
              e[i] *= 1 - lr * wd;
            else
              gi += wd * e[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            vmax[i] = std::max(vmax[i], v[i]);
            double denom = std::sqrt(amsgrad ? vmax[i] : v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
            e[i] -= lr / (1 - std::pow(b1, t)) * m[i] / denom;
          }
          check_close(p, {4}, e, 1e-14, 1e-13);
        }
      }
}

TEST_CASE("AdamW's defaults are PyTorch's: weight decay 1e-2", "[optim]") {
  Tensor p = param({2});
  AdamW opt({p});
  CHECK(opt.lr() == 1e-3);
  p.set_grad(Tensor::from_vector<double>({0}));
  opt.step(); // a zero gradient leaves only the decay: 2 * (1 - 1e-3 * 1e-2)
  check_close(p, {1}, {2 * (1 - 1e-5)}, 1e-15);
  // options that leave weight_decay unset keep that default; Adam's is 0
  Tensor q = param({2}), r = param({2});
  AdamW w({q}, 0.1, {.beta1 = 0.5});
  Adam a({r}, 0.1, {.beta1 = 0.5});
  for (Tensor* t : {&q, &r}) t->set_grad(Tensor::from_vector<double>({0}));
  w.step();
  a.step();
  check_close(q, {1}, {2 * (1 - 1e-3)}, 1e-15);
  check_close(r, {1}, {2}, 0);
}

TEST_CASE("zero_grad empties gradients and step leaves parameters without one alone", "[optim]") {
  Tensor a = param({1, 2}), b = param({3});
  SGD opt({a, b}, 0.5);
  (a * a).sum().backward();
  REQUIRE(a.grad());
  CHECK(!b.grad());
  opt.step();
  check_close(a, {2}, {0, 0}, 0); // a - 0.5 * 2a
  check_close(b, {1}, {3}, 0);
  opt.zero_grad();
  CHECK(!a.grad());
  CHECK_THROWS_WITH(SGD({}, 0.1), Catch::Contains("parameter list is empty"));
  CHECK_THROWS_WITH(SGD({a, a}, 0.1), Catch::Contains("parameters 0 and 1 are the same tensor"));
  CHECK_THROWS_WITH(SGD({a}, -1), Catch::Contains("learning rate -1 is not >= 0"));
  CHECK_THROWS_WITH(SGD({a}, 0.1, {.nesterov = true}), Catch::Contains("nesterov needs a momentum"));
}

TEST_CASE("schedules set PyTorch's learning rates, and steps use them", "[optim]") {
  Tensor p = param({0});
  SGD opt({p}, 1.0);
  StepLR step(opt, 3, 0.5);
  std::vector<double> got;
  for (int e = 0; e < 7; e++) {
    got.push_back(opt.lr());
    step.step();
  }
  CHECK(got == std::vector<double>{1, 1, 1, 0.5, 0.5, 0.5, 0.25});

  SGD opt2({p}, 0.1);
  CosineAnnealingLR cos(opt2, 4, 0.01);
  for (int e = 0; e <= 4; e++) {
    CHECK(opt2.lr() == Approx(0.01 + 0.09 * (1 + std::cos(std::numbers::pi * e / 4)) / 2).margin(1e-15));
    cos.step();
  }

  SGD opt3({p}, 0.3);
  LinearLR warm(opt3, 0.1, 1.0, 3);
  std::vector<double> w;
  for (int e = 0; e < 5; e++) {
    w.push_back(opt3.lr());
    warm.step();
  }
  for (size_t i = 0; i < 5; i++) CHECK(w[i] == Approx(0.3 * (0.1 + 0.9 * double(std::min<size_t>(i, 3)) / 3)));

  // the step after a change of lr uses the new one
  Tensor q = param({1});
  SGD o({q}, 0.1);
  StepLR s(o, 1, 0.5);
  for (double lr : {0.1, 0.05, 0.025}) {
    double before = q.item();
    q.set_grad(Tensor::from_vector<double>({1}));
    o.step();
    CHECK(q.item() == Approx(before - lr).margin(1e-15));
    s.step();
  }
}

TEST_CASE("SGD with momentum fits a line", "[optim]") {
  Tensor::manual_seed(2);
  nn::Linear model(1, 1);
  SGD opt(model.parameters(), 0.1, {.momentum = 0.9});
  Tensor x = Tensor::linspace(-1, 1, 32).reshape({32, 1});
  Tensor y = x * 3.0 - 2.0;
  double loss = 0;
  for (int i = 0; i < 200; i++) {
    opt.zero_grad();
    Tensor l = F::mse_loss(model(x), y);
    l.backward();
    opt.step();
    loss = l.item();
  }
  CHECK(loss < 1e-6);
  CHECK(model.weight.item() == Approx(3).margin(1e-3));
  CHECK(model.bias->item() == Approx(-2).margin(1e-3));
}

TEST_CASE("Adam trains an MLP on Fashion-MNIST above 80% test accuracy in 150 steps", "[optim]") {
  Tensor::manual_seed(0);
  datasets::FashionMnistOptions o{.format = datasets::ImageFormat::f32_normal};
  datasets::Dataset train = datasets::fashion_mnist(datasets::Split::train, o);
  datasets::Dataset test = datasets::fashion_mnist(datasets::Split::test, o);
  struct MLP : nn::Module {
    nn::Linear fc1{784, 64}, fc2{64, 10};
    MLP() {
      register_module("fc1", fc1);
      register_module("fc2", fc2);
    }
    Tensor operator()(const Tensor& x) { return fc2(fc1(x.reshape({x.shape()[0], 784})).relu()); }
  } model;
  AdamW opt(model.parameters(), 3e-3);
  datasets::DataLoader loader({train.images, train.labels}, {.batch_size = 128, .shuffle = true, .seed = 1});
  int step = 0;
  double first = 0, last = 0;
  for (std::vector<Tensor> b : loader) {
    opt.zero_grad();
    Tensor loss = F::cross_entropy(model(b[0]), b[1]);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
    if (++step == 150) break;
  }
  CHECK(first > 1.5); // about log(10) at the start
  CHECK(last < 0.8);
  Tensor x = test.images.shrink({{0, 2000}, {0, 28}, {0, 28}});
  Tensor y = test.labels.shrink({{0, 2000}});
  double accuracy = model(x).argmax(1).eq(y).cast(DType::f32).mean().item();
  CHECK(accuracy > 0.8);
}
