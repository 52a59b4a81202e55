#include "frontend/tensor.h"
#include <catch2/catch.hpp>

using namespace patgrad;

TEST_CASE("smoke: elementwise, broadcast, reduce on CPU and INTERP", "[smoke]") {
  for (const runtime::Target* dev : runtime::targets()) {
    if (!dev->complete()) continue; // RDNA3 has its own tests (tests/runtime/target_rdna3_test.cpp)
    Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).to(dev);
    Tensor b = Tensor::from_vector<float>({10, 20, 30}, {3}).to(dev);
    CHECK((a + b).to_vector<float>() == std::vector<float>{11, 22, 33, 14, 25, 36});
    CHECK(a.sum({1}).to_vector<float>() == std::vector<float>{6, 15});
    CHECK(a.sum().item() == 21);
    CHECK(a.max({0}).to_vector<float>() == std::vector<float>{4, 5, 6});
    CHECK(a.permute({1, 0}).to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
    CHECK(a.pad({{1, 0}, {0, 1}}).to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0});
    CHECK(a.shrink({{0, 2}, {1, 3}}).flip({1}).to_vector<float>() == std::vector<float>{3, 2, 6, 5});
    // a @ a.T as broadcast multiply and reduce: one kernel
    Tensor m = (a.reshape({2, 1, 3}).expand({2, 2, 3}) * a.reshape({1, 2, 3}).expand({2, 2, 3})).sum({2});
    CHECK(m.to_vector<float>() == std::vector<float>{14, 32, 32, 77});
    Tensor sm = (a - a.max({1}, true));
    CHECK(sm.to_vector<float>() == std::vector<float>{-2, -1, 0, -2, -1, 0});
    CHECK(Tensor::arange(5).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 3, 4});
    Tensor i = Tensor::from_vector<int32_t>({-7, 7, -8, 9}).to(dev);
    CHECK((i / 2).to_vector<float>() == std::vector<float>{-3.5, 3.5, -4, 4.5});
  }
}
