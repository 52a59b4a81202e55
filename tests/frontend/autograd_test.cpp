// gradcheck: each op's gradient (a rule of gradient.pat) against central finite differences, in float64.
#include "frontend/autograd.h"
#include "tests/frontend/gradcheck.h"
#include <functional>

using namespace patgrad;
using patgrad::testing::gradcheck;
using patgrad::testing::random_values;

TEST_CASE("gradients of elementwise ops match finite differences", "[autograd]") {
  gradcheck("add", [](auto& x) { return x[0] + x[1]; }, {{2, 3}, {2, 3}});
  gradcheck("sub with broadcast", [](auto& x) { return x[0] - x[1]; }, {{2, 3}, {3}});
  gradcheck("mul", [](auto& x) { return x[0] * x[1]; }, {{2, 3}, {2, 3}});
  gradcheck("div", [](auto& x) { return x[0] / (x[1] * x[1] + 1.0); }, {{4}, {4}});
  gradcheck("neg", [](auto& x) { return -x[0]; }, {{3}});
  gradcheck("reciprocal", [](auto& x) { return (x[0] * x[0] + 0.5).reciprocal(); }, {{4}});
  gradcheck(
      "sqrt", [](auto& x) { return x[0].sqrt(); }, {{4}}, 0.5, 3);
  gradcheck("exp2", [](auto& x) { return x[0].exp2(); }, {{4}});
  gradcheck(
      "log2", [](auto& x) { return x[0].log2(); }, {{4}}, 0.5, 3);
  gradcheck("sin", [](auto& x) { return x[0].sin(); }, {{5}});
  gradcheck("maximum", [](auto& x) { return x[0].maximum(x[1]); }, {{6}, {6}});
  gradcheck("minimum", [](auto& x) { return x[0].minimum(x[1]); }, {{6}, {6}});
  gradcheck("where", [](auto& x) { return x[0].lt(x[1]).where(x[0] * 2.0, x[1] * 3.0); }, {{6}, {6}});
  gradcheck(
      "cast to f32 and back", [](auto& x) { return x[0].cast(DType::f32).cast(DType::f64) * x[0]; }, {{3}}, -2, 2, 1e-2,
      1e-4);
}

TEST_CASE("gradients of movement ops and reductions match finite differences", "[autograd]") {
  gradcheck("reshape", [](auto& x) { return x[0].reshape({3, 2}) * x[1]; }, {{2, 3}, {3, 2}});
  gradcheck("permute", [](auto& x) { return x[0].permute({1, 0}) * x[1]; }, {{2, 3}, {3, 2}});
  gradcheck("expand", [](auto& x) { return x[0].reshape({2, 1}).expand({2, 3}) * x[1]; }, {{2}, {2, 3}});
  gradcheck("pad", [](auto& x) { return x[0].pad({{1, 2}, {0, 1}}); }, {{2, 3}});
  gradcheck("shrink", [](auto& x) { return x[0].shrink({{1, 2}, {0, 2}}); }, {{2, 3}});
  gradcheck("flip", [](auto& x) { return x[0].flip({0}) * x[1]; }, {{4}, {4}});
  gradcheck("sum", [](auto& x) { return x[0].sum({1}); }, {{2, 3}});
  gradcheck("max reduce", [](auto& x) { return x[0].max({0}); }, {{3, 2}});
  gradcheck("matmul as broadcast and sum",
            [](auto& x) {
              return (x[0].reshape({2, 3, 1}).expand({2, 3, 4}) * x[1].reshape({1, 3, 4}).expand({2, 3, 4})).sum({1});
            },
            {{2, 3}, {3, 4}});
}

TEST_CASE("gradients of a shared input add up, and of unused inputs are zero", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3});
  Tensor y = Tensor::from_vector<double>({4, 5, 6});
  std::vector<Tensor> g = gradients((x * x + x).sum(), {x, y});
  CHECK(g[0].to_vector<double>() == std::vector<double>{3, 5, 7});
  CHECK(g[1].to_vector<double>() == std::vector<double>{0, 0, 0});
}

TEST_CASE("asking for the gradient of a non-scalar without a seed is an error", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3});
  CHECK_THROWS_WITH(gradients(x * 2.0, {x}), Catch::Contains("a non-scalar needs a seed"));
  Tensor seed = Tensor::from_vector<double>({1, 0, 2});
  CHECK(gradients(x * 2.0, {x}, &seed)[0].to_vector<double>() == std::vector<double>{2, 0, 4});
}

TEST_CASE("gradients of the Tensor API's composite ops match finite differences", "[autograd]") {
  gradcheck("exp", [](auto& x) { return x[0].exp(); }, {{4}});
  gradcheck(
      "log", [](auto& x) { return x[0].log(); }, {{4}}, 0.5, 3);
  gradcheck("tanh", [](auto& x) { return x[0].tanh(); }, {{5}});
  gradcheck("sigmoid", [](auto& x) { return x[0].sigmoid(); }, {{5}});
  gradcheck("relu", [](auto& x) { return x[0].relu(); }, {{6}});
  gradcheck("leaky_relu", [](auto& x) { return x[0].leaky_relu(0.1); }, {{6}});
  gradcheck("gelu", [](auto& x) { return x[0].gelu(); }, {{6}});
  gradcheck("silu", [](auto& x) { return x[0].silu(); }, {{6}});
  gradcheck("softplus", [](auto& x) { return x[0].softplus(2); }, {{6}});
  gradcheck("abs", [](auto& x) { return x[0].abs(); }, {{6}});
  gradcheck("cos and tan", [](auto& x) { return x[0].cos() + (x[0] * 0.3).tan(); }, {{5}});
  gradcheck(
      "rsqrt", [](auto& x) { return x[0].rsqrt(); }, {{4}}, 0.5, 3);
  gradcheck(
      "pow", [](auto& x) { return x[0].pow(x[1]); }, {{4}, {4}}, 0.5, 2);
  gradcheck("pow by a constant", [](auto& x) { return x[0].pow(3.0); }, {{4}});
  gradcheck("clip", [](auto& x) { return x[0].clip(-1, 1); }, {{6}});
  gradcheck("mean", [](auto& x) { return x[0].mean({1}); }, {{2, 3}});
  gradcheck("var and std", [](auto& x) { return x[0].var({1}) + x[0].std({0}, false).sum(); }, {{3, 4}});
  gradcheck("min reduce", [](auto& x) { return x[0].min({1}); }, {{3, 4}});
  gradcheck(
      "prod", [](auto& x) { return x[0].prod({1}); }, {{2, 3}}, 0.5, 2);
  gradcheck("softmax", [](auto& x) { return x[0].softmax(-1); }, {{2, 5}});
  gradcheck("log_softmax", [](auto& x) { return x[0].log_softmax(0); }, {{4, 3}});
  gradcheck("logsumexp", [](auto& x) { return x[0].logsumexp({1}); }, {{2, 5}});
  gradcheck("cumsum", [](auto& x) { return x[0].cumsum(1); }, {{2, 4}});
  gradcheck("matmul", [](auto& x) { return x[0].matmul(x[1]); }, {{2, 3, 4}, {4, 5}});
  gradcheck("einsum", [](auto& x) { return Tensor::einsum("ij,jk->ik", x[0], x[1]); }, {{2, 3}, {3, 2}});
  gradcheck("conv2d", [](auto& x) { return x[0].conv2d(x[1], x[2], {1}, {1}); }, {{2, 2, 5, 5}, {3, 2, 3, 3}, {3}});
  gradcheck("conv2d stride, dilation, groups",
            [](auto& x) { return x[0].conv2d(x[1], std::nullopt, {2}, {1}, {2}, 2); }, {{1, 4, 7, 6}, {4, 2, 2, 3}});
  gradcheck("conv_transpose2d", [](auto& x) { return x[0].conv_transpose2d(x[1], x[2], {2}, {1}); },
            {{1, 2, 3, 3}, {2, 3, 3, 3}, {3}});
  // conv2d's gradients are convolutions (convolve_backward): rows that no window reaches, uneven strides and pads,
  // dilation, groups, an unbatched input, and the negative pads of conv_transpose2d's own convolution
  gradcheck("conv2d with rows no window reaches",
            [](auto& x) {
              return x[0].conv2d(x[1], std::nullopt, {2, 3}, {0, 1});
            },
            {{2, 3, 8, 7}, {2, 3, 3, 2}});
  gradcheck("conv2d unbatched, dilated, padded", [](auto& x) { return x[0].conv2d(x[1], std::nullopt, {1}, {2}, {2}); },
            {{2, 5, 6}, {3, 2, 2, 2}});
  gradcheck("conv_transpose2d output_padding, dilation, groups",
            [](auto& x) { return x[0].conv_transpose2d(x[1], std::nullopt, {2}, {2}, {1}, {2}, 2); },
            {{1, 4, 3, 3}, {4, 1, 2, 3}});
  gradcheck("conv2d of a conv2d", [](auto& x) { return x[0].conv2d(x[1], std::nullopt, {1}, {1}).relu().conv2d(x[2]); },
            {{1, 2, 5, 5}, {2, 2, 3, 3}, {1, 2, 2, 2}});
  gradcheck("max_pool2d", [](auto& x) { return x[0].max_pool2d({2, 2}); }, {{1, 2, 4, 4}});
  gradcheck("max_pool2d overlapping", [](auto& x) { return x[0].max_pool2d({3, 3}, {1}, {1}); }, {{1, 1, 4, 5}});
  gradcheck("avg_pool2d", [](auto& x) { return x[0].avg_pool2d({2, 3}, {1, 2}, {1}); }, {{1, 2, 4, 5}});
  gradcheck("slice and gather",
            [](auto& x) {
              Tensor idx = Tensor::from_vector<int32_t>({2, 0, 1, 1}, {2, 2});
              return x[0].slice({Tensor::Slice(1, std::nullopt), Tensor::Slice({}, {}, -1)}).gather(0, idx);
            },
            {{4, 2}});
  gradcheck("cat and stack",
            [](auto& x) {
              return Tensor::cat({x[0], x[1] * 2.0}, 1).sum() + Tensor::stack({x[0], x[0]}).sum();
            },
            {{2, 2}, {2, 3}});
  gradcheck("contiguous", [](auto& x) { return x[0].contiguous() * x[0]; }, {{3}}); // detach: backward_test.cpp
}
