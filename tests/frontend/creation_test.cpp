// Creating tensors (from host data, linspace, eye, full_like) and printing them, on CPU and INTERP, against naive
// references on the host.
#include "tests/frontend/check.h"
#include <functional>

using namespace patgrad;
using patgrad::testing::check_close;
using testing::fails;

namespace {

const DType all_dtypes[] = {DType::bool_, DType::i8,  DType::i16, DType::i32,  DType::i64, DType::u8, DType::u16,
                            DType::u32,   DType::u64, DType::f16, DType::bf16, DType::f32, DType::f64};

// Reads every element back through a kernel on dev (a flip: the data moves through index arithmetic).
std::vector<double> through(const Tensor& t, const runtime::Target* dev) {
  Shape all(size_t(t.ndim()));
  for (size_t i = 0; i < all.size(); i++) all[i] = int64_t(i);
  std::vector<double> v = t.to(dev).flip(all).to_vector<double>();
  return std::vector<double>(v.rbegin(), v.rend());
}

} // namespace

TEST_CASE("from_vector and from_data hold every dtype exactly, f16 and bf16 given as raw bits", "[create]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    CHECK(through(Tensor::from_vector<bool>({true, false, true}), dev) == std::vector<double>{1, 0, 1});
    CHECK(through(Tensor::from_vector<int8_t>({-128, 0, 127}), dev) == std::vector<double>{-128, 0, 127});
    CHECK(through(Tensor::from_vector<int16_t>({-32768, 1, 32767}), dev) == std::vector<double>{-32768, 1, 32767});
    CHECK(through(Tensor::from_vector<int32_t>({INT32_MIN, -1, INT32_MAX}), dev) ==
          std::vector<double>{INT32_MIN, -1, INT32_MAX});
    CHECK(through(Tensor::from_vector<uint8_t>({0, 255}), dev) == std::vector<double>{0, 255});
    CHECK(through(Tensor::from_vector<uint16_t>({0, 65535}), dev) == std::vector<double>{0, 65535});
    CHECK(through(Tensor::from_vector<uint32_t>({0, UINT32_MAX}), dev) == std::vector<double>{0, UINT32_MAX});
    CHECK(through(Tensor::from_vector<float>({1.5f, -0.1f, 3e38f}), dev) ==
          std::vector<double>{1.5, double(-0.1f), double(3e38f)});
    CHECK(through(Tensor::from_vector<double>({0.1, -1e300}), dev) == std::vector<double>{0.1, -1e300});
    // 64-bit integers past 2^53 do not survive a double: read them as themselves
    std::vector<int64_t> i64 = {INT64_MIN, -1, INT64_MAX};
    CHECK(Tensor::from_vector(i64).to(dev).flip({0}).flip({0}).to_vector<int64_t>() == i64);
    std::vector<uint64_t> u64 = {0, UINT64_MAX, (uint64_t(1) << 63) + 1};
    CHECK(Tensor::from_vector(u64).to(dev).flip({0}).flip({0}).to_vector<uint64_t>() == u64);
    // raw bits: 1, -2, inf, the smallest subnormal (2^-24 for f16, 2^-133 for bf16), NaN
    const uint16_t f16[] = {0x3C00, 0xC000, 0x7C00, 0x0001, 0x7E00}, bf16[] = {0x3F80, 0xC000, 0x7F80, 0x0001, 0x7FC0};
    check_close(Tensor::from_data(f16, DType::f16, {5}).to(dev).flip({0}).flip({0}), {5},
                {1, -2, INFINITY, std::ldexp(1.0, -24), NAN}, 0);
    check_close(Tensor::from_data(bf16, DType::bf16, {5}).to(dev).flip({0}).flip({0}), {5},
                {1, -2, INFINITY, std::ldexp(1.0, -133), NAN}, 0);
    // or from f32 values, rounded to nearest even: 1 + 2^-9 is a tie in bf16 and goes down to 1
    check_close(Tensor::from_vector<float>({1.0f + 0x1p-9f, 1.0f + 0x1.8p-8f}).to(dev).cast(DType::bf16), {2},
                {1, 1 + 0x1p-7}, 0);
    Tensor empty = Tensor::from_vector<float>({}, {0, 3});
    CHECK(empty.shape() == Shape{0, 3});
    CHECK(empty.to(dev).flip({0}).to_vector<float>().empty());
  }
  fails([] { Tensor::from_vector<float>({1, 2, 3}, {2, 2}); }, "from_vector: data size does not match shape");
  fails([] { Tensor::full({2, -1}, 0); }, "full: negative dimension -1");
}

TEST_CASE("linspace steps from both ends like PyTorch, in every float dtype and truncated for integers", "[create]") {
  struct Case {
    double start, stop;
    int64_t steps;
  };
  const Case cases[] = {{0, 1, 5},     {-3, 7, 11}, {1, -1, 4}, {2, 2, 3},
                        {0.1, 0.9, 7}, {5, 9, 1},   {5, 9, 0},  {0, 100, 1000}};
  // one rounding of the exact value to the dtype: half an ulp
  const std::pair<DType, double> dtypes[] = {
      {DType::f64, 0x1p-53}, {DType::f32, 0x1p-24}, {DType::f16, 0x1p-11}, {DType::bf16, 0x1p-8}, {DType::i32, 0}};
  for (const Case& c : cases)
    for (auto [d, rtol] : dtypes)
      for (const runtime::Target* dev : testing::complete_targets()) {
        INFO("linspace(" << c.start << ", " << c.stop << ", " << c.steps << ") in " << uops::name(d) << " on "
                         << dev->name);
        std::vector<double> expected;
        double step = c.steps > 1 ? (c.stop - c.start) / double(c.steps - 1) : 0;
        for (int64_t i = 0; i < c.steps; i++) {
          bool first_half = i < c.steps / 2 || c.steps == 1; // one step is start
          double v = first_half ? c.start + step * double(i) : c.stop - step * double(c.steps - 1 - i);
          expected.push_back(d == DType::i32 ? std::trunc(v) : v);
        }
        Tensor t = Tensor::linspace(c.start, c.stop, c.steps, d).to(dev);
        CHECK(t.dtype() == d);
        check_close(t * 1, {c.steps}, expected, 0, rtol);
        if (c.steps > 1 && d == DType::f64) CHECK(t.to_vector<double>().back() == c.stop);
      }
  fails([] { Tensor::linspace(0, 1, -1); }, "linspace: steps must be non-negative, got -1");
}

TEST_CASE("linspace of one step is start and of none is empty, as numpy", "[create]") {
  for (const runtime::Target* dev : testing::complete_targets()) { // numpy.linspace's values
    check_close(Tensor::linspace(5, 10, 1).to(dev), {1}, {5}, 0);
    check_close(Tensor::linspace(10, 5, 1).to(dev), {1}, {10}, 0);
    check_close(Tensor::linspace(-2.5, 10, 1, DType::i32).to(dev), {1}, {-2}, 0);
    check_close(Tensor::linspace(5, 10, 0).to(dev), {0}, {}, 0);
    check_close(Tensor::linspace(5, 10, 2).to(dev), {2}, {5, 10}, 0);
    check_close(Tensor::linspace(5, 10, 3).to(dev), {3}, {5, 7.5, 10}, 0);
  }
}

TEST_CASE("eye has ones on the diagonal of any n x m, in every dtype", "[create]") {
  const std::pair<int64_t, int64_t> sizes[] = {{0, 0}, {1, 1}, {3, -1}, {2, 5}, {5, 2}, {4, 0}, {0, 3}};
  auto check = [](int64_t n, int64_t m, DType d) {
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO("eye(" << n << ", " << m << ") of " << uops::name(d) << " on " << dev->name);
      int64_t cols = m < 0 ? n : m;
      std::vector<double> expected;
      for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < cols; j++) expected.push_back(i == j);
      Tensor e = Tensor::eye(n, m, d).to(dev);
      CHECK(e.dtype() == d);
      check_close(e, {n, cols}, expected, 0);
    }
  };
  // every size in f32, every dtype in some size (the construction does not depend on the dtype)
  for (auto [n, m] : sizes) check(n, m, DType::f32);
  for (size_t i = 0; i < std::size(all_dtypes); i++)
    check(sizes[i % 5 + 1].first, sizes[i % 5 + 1].second, all_dtypes[i]);
  fails([] { Tensor::eye(-2); }, "eye: negative dimension -2");
}

TEST_CASE("full_like, zeros_like and ones_like take the shape and device, and the dtype unless given", "[create]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor t = Tensor::from_vector<int16_t>({1, 2, 3, 4, 5, 6}, {2, 3}).to(dev).permute({1, 0}); // not contiguous
    Tensor f = Tensor::full_like(t, -7);
    CHECK(f.dtype() == DType::i16);
    CHECK(f.device() == dev);
    check_close(f, {3, 2}, std::vector<double>(6, -7), 0);
    Tensor z = Tensor::zeros_like(t, DType::f16), o = Tensor::ones_like(t, DType::bool_);
    CHECK(z.dtype() == DType::f16);
    CHECK(o.dtype() == DType::bool_);
    check_close(z, {3, 2}, std::vector<double>(6, 0), 0);
    check_close(o, {3, 2}, std::vector<double>(6, 1), 0);
    check_close(Tensor::full_like(Tensor::zeros({0, 4}), 2.5).to(dev), {0, 4}, {}, 0);
    check_close(Tensor::full_like(Tensor::scalar(1, DType::f64), 2.5).to(dev), {}, {2.5}, 0);
  }
}

TEST_CASE("str prints like PyTorch: nested brackets, aligned elements, dtype", "[create]") {
  const std::pair<Tensor, std::string> cases[] = {
      {Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}), "tensor([[1., 2.], [3., 4.]], dtype=f32)"},
      {Tensor::from_vector<float>({1.5f, -2.25f}), "tensor([ 1.5000, -2.2500], dtype=f32)"},
      {Tensor::from_vector<double>({1e-5, 1}), "tensor([1.0000e-05, 1.0000e+00], dtype=f64)"},
      {Tensor::from_vector<float>({1, 2000}), "tensor([1.0000e+00, 2.0000e+03], dtype=f32)"},
      {Tensor::from_vector<float>({NAN, INFINITY, -1}), "tensor([nan, inf, -1.], dtype=f32)"},
      {Tensor::from_vector<int32_t>({1, -20, 300, 4}, {2, 2}), "tensor([[  1, -20], [300,   4]], dtype=i32)"},
      {Tensor::from_vector<uint64_t>({UINT64_MAX, 0}),
       "tensor([18446744073709551615,                    0], dtype=u64)"},
      {Tensor::from_vector<bool>({true, false}), "tensor([ True, False], dtype=bool)"},
      {Tensor::scalar(3.5, DType::f64), "tensor(3.5000, dtype=f64)"},
      {Tensor::from_vector<float>({0.1f}).cast(DType::f16), "tensor([0.1000], dtype=f16)"},
      {Tensor::zeros({0}), "tensor([], dtype=f32)"},
      {Tensor::zeros({0, 3}, DType::i8), "tensor([], size=(0,3), dtype=i8)"},
      {Tensor::ones({1, 2, 1}, DType::u8), "tensor([[[1], [1]]], dtype=u8)"},
      // over 1000 elements: the first and last 3 of each axis
      {Tensor::arange(2000), "tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=i32)"},
      {Tensor::arange(1010).reshape({505, 2}), "tensor([[   0,    1], [   2,    3], [   4,    5], ..., [1004, 1005], "
                                               "[1006, 1007], [1008, 1009]], dtype=i32)"},
  };
  for (const auto& [t, text] : cases) CHECK(t.str() == text);
  CHECK(Tensor::from_vector<float>({1, 2}).to("INTERP").str() == "tensor([1., 2.], dtype=f32, device=INTERP)");
}
