// gradcheck: an op's gradient (autograd over gradient.pat's rules) against central finite differences, in float64.
#pragma once
#include "frontend/autograd.h"
#include "tests/frontend/check.h"
#include <functional>

namespace patgrad::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// The loss is sum(f(inputs) * w) for fixed random weights w, so every output element matters.
// h and tol: 1e-6 and 1e-5 suit float64 end to end; a float32 step inside needs a wider h (its rounding steps are
// ~1e-7 relative) and a tolerance to match.
inline void gradcheck(const char* what, const Fn& f, const std::vector<Shape>& shapes, double lo = -2, double hi = 2,
                      double h = 1e-6, double tol = 1e-5, uint64_t seed = 42) {
  INFO(what);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<double>> values;
  for (const Shape& s : shapes) values.push_back(random_values(rng, uops::prod(s), lo, hi));
  auto make = [&](const std::vector<std::vector<double>>& v) {
    std::vector<Tensor> ts;
    for (size_t i = 0; i < shapes.size(); i++) ts.push_back(Tensor::from_vector(v[i], shapes[i]));
    return ts;
  };
  std::vector<Tensor> inputs = make(values);
  Tensor out = f(inputs);
  std::vector<double> w = random_values(rng, out.numel(), 0.5, 1.5);
  Tensor weights = Tensor::from_vector(w, out.shape());
  auto loss_of = [&](const std::vector<Tensor>& ts) { return (f(ts) * weights).sum(); };
  std::vector<Tensor> grads = gradients(loss_of(inputs), inputs);
  for (size_t i = 0; i < shapes.size(); i++) {
    std::vector<double> analytic = grads[i].to_vector<double>();
    REQUIRE(grads[i].shape() == shapes[i]);
    for (size_t k = 0; k < values[i].size(); k++) {
      auto plus = values, minus = values;
      plus[i][k] += h;
      minus[i][k] -= h;
      double numeric = (loss_of(make(plus)).item() - loss_of(make(minus)).item()) / (2 * h);
      INFO("input " << i << " element " << k << ": analytic " << analytic[k] << ", numeric " << numeric);
      CHECK(std::fabs(analytic[k] - numeric) <= tol + tol * std::fabs(numeric));
    }
  }
}

} // namespace patgrad::testing
