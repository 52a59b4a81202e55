// Shared by the tensor tests: random host data, and comparing a tensor with values a naive reference computed on
// the host (plain loops, no patgrad code) within a stated tolerance, on each device.
#pragma once
#include "frontend/tensor.h"
#include "lowering/lowering.h"
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <random>

namespace patgrad::testing {

// The targets that run every op of every dtype (runtime::Target::complete), which the tensor tests run on.
inline std::vector<const runtime::Target*> complete_targets() {
  std::vector<const runtime::Target*> out;
  for (const runtime::Target* t : runtime::targets())
    if (t->complete()) out.push_back(t);
  return out;
}

// Uniform values in [lo, hi), as doubles (convert to the dtype under test yourself).
inline std::vector<double> random_values(std::mt19937_64& rng, int64_t n, double lo = -2, double hi = 2) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(size_t(std::max<int64_t>(n, 0)));
  for (double& x : v) x = dist(rng);
  return v;
}

// A tensor of dtype d holding values (converted as a C cast would), on device dev.
inline Tensor tensor_of(const std::vector<double>& values, const Shape& shape, DType d, const runtime::Target* dev) {
  return Tensor::from_vector(values, shape).cast(d).realize().to(dev);
}

// Each element equal within atol + rtol * |expected|; NaN matches NaN, infinities match exactly.
inline void check_close(const Tensor& got, const Shape& shape, const std::vector<double>& expected, double atol,
                        double rtol = 0) {
  REQUIRE(got.shape() == shape);
  std::vector<double> v = got.to_vector<double>();
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); i++) {
    INFO("element " << i << " of " << v.size() << ": got " << v[i] << ", expected " << expected[i]);
    if (std::isnan(expected[i]))
      CHECK(std::isnan(v[i]));
    else if (std::isinf(expected[i]))
      CHECK(v[i] == expected[i]);
    else
      CHECK(std::fabs(v[i] - expected[i]) <= atol + rtol * std::fabs(expected[i]));
  }
}

// f throws a TensorError whose message contains fragment.
inline void fails(const std::function<void()>& f, const std::string& fragment) {
  INFO("expected: " << fragment);
  try {
    f();
    FAIL("no TensorError");
  } catch (const TensorError& e) {
    CHECK_THAT(e.what(), Catch::Contains(fragment));
  }
}

// How many kernels realizing t takes.
inline size_t kernels(const Tensor& t) { return lowering::schedule({t.uop()}, runtime::new_buffer).kernels.size(); }

// Whether t schedules to a kernel for its padded input (a PAD that is broadcast: realized so that its gates run once
// per element) and then one kernel for everything else.
inline bool padded_then_fused(const Tensor& t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  return s.kernels.size() == 2 && s.kernels[0].node->op == uops::Op::PAD;
}

} // namespace patgrad::testing
