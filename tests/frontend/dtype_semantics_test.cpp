// Results that once depended on the width of an accumulator or on the device: integer and bool sums go into i64
// (u64 stays u64), and float to int conversion saturates (NaN gives 0) on every device, as the op table's CAST says.
#include "tests/frontend/check.h"
#include "uops/ops.h"

using namespace patgrad;

TEST_CASE("integer and bool sums and products accumulate in i64 and do not wrap at 32 bits", "[dtype]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    // from memory, not a constant the kernel could fold
    Tensor big = Tensor::full({3}, 2e9, DType::i32).contiguous().realize().to(dev).sum();
    CHECK(big.dtype() == DType::i64);
    CHECK(big.item() == 6000000000);
    CHECK(Tensor::full({3}, 70000, DType::i32).to(dev).prod().item() == int64_t(70000) * 70000 * 70000);
    CHECK(Tensor::full({2}, 4e9, DType::u32).contiguous().realize().to(dev).sum().item() == 8000000000);
    CHECK(Tensor::full({3}, 1, DType::bool_).contiguous().realize().to(dev).sum().dtype() == DType::i64);
    CHECK(Tensor::full({2}, 1e19, DType::u64).to(dev).sum().dtype() == DType::u64);
    CHECK(Tensor::full({2}, 100, DType::i8).to(dev).max().dtype() == DType::i8);
    CHECK(Tensor::full({5}, 1, DType::i16).to(dev).cumsum(0).dtype() == DType::i64);
  }
  // long sums on the CPU only (INTERP takes a second per few million elements): 3e7 bytes of 200 and 2^32 trues,
  // expanded constants that take no memory, sum past 2^32
  Tensor bytes = Tensor::full({1}, 200, DType::u8).expand({30000000}).sum();
  CHECK(bytes.dtype() == DType::i64);
  CHECK(bytes.item() == 6000000000);
  CHECK(Tensor::full({1}, 1, DType::bool_).expand({int64_t(1) << 32}).sum().item() == double(int64_t(1) << 32));
}

TEST_CASE("float to int casts saturate and NaN gives 0, the same on CPU, INTERP and the op table", "[dtype]") {
  const std::vector<double> values = {-1.0, 300.0, NAN, INFINITY, -INFINITY, 2.75, -2.75, 1e10, -1e10, 127.5, -0.5};
  for (DType from : {DType::f16, DType::bf16, DType::f32, DType::f64})
    for (DType to : {DType::u8, DType::i8, DType::i16, DType::u16, DType::i32, DType::u32, DType::i64, DType::u64}) {
      // the source values as the source dtype holds them, and what the op table says each converts to
      Tensor src = Tensor::from_vector(values).cast(from == DType::bf16 ? DType::f32 : from).cast(from).realize();
      std::vector<double> held = src.to_vector<double>();
      std::vector<__int128> want;
      for (double h : held) {
        const uops::Value arg[] = {uops::Value{0, h}};
        want.push_back(uops::as_wide(to, *uops::eval(uops::Op::CAST, to, from, arg)));
      }
      for (const runtime::Target* dev : testing::complete_targets()) {
        INFO(uops::name(from) << " to " << uops::name(to) << " on " << dev->name);
        std::vector<double> got = src.to(dev).cast(to).cast(DType::f64).to_vector<double>();
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); i++) {
          INFO(held[i] << " converts to " << got[i] << ", the op table says " << double(want[i]));
          CHECK(got[i] == double(want[i]));
        }
      }
    }
  // the case, spelled out
  Tensor t = Tensor::from_vector(std::vector<float>{-1.0f, 300.0f}).cast(DType::u8);
  CHECK(t.to_vector<uint8_t>() == std::vector<uint8_t>{0, 255});
}

TEST_CASE("conversions to bf16 round once, to nearest even, from every dtype: CPU, INTERP and the op table agree",
          "[dtype]") {
  // values next to a tie of bf16 (8 significant bits), where rounding twice to nearest (through f32) goes wrong
  const double tie = 1 + std::ldexp(1.0, -8);
  const std::vector<double> floats = {tie - std::ldexp(1.0, -30),
                                      tie + std::ldexp(1.0, -30),
                                      tie,
                                      -tie + std::ldexp(1.0, -30),
                                      1 + 3 * std::ldexp(1.0, -8),
                                      3.4e38,
                                      -3.4e38,
                                      1e-40,
                                      -1e-41,
                                      0.0,
                                      1.0 / 3};
  const int64_t t60 = (int64_t(1) << 60) + (int64_t(1) << 52); // a tie of bf16 at 2^60
  const std::vector<int64_t> i64s = {t60, t60 + 1, t60 - 1, -t60 - 1, INT64_MAX, INT64_MIN, (int64_t(1) << 53) + 1,
                                     255, -257};
  const std::vector<uint64_t> u64s = {UINT64_MAX, (uint64_t(1) << 63) + (uint64_t(1) << 55) + 1, uint64_t(t60) - 1, 0};
  const std::vector<int32_t> i32s = {(1 << 30) + (1 << 22), (1 << 30) + (1 << 22) + 1, INT32_MAX, INT32_MIN, -383};
  const std::vector<uint32_t> u32s = {UINT32_MAX, (1u << 31) + (1u << 23), (1u << 31) + (1u << 23) + 1};
  const std::vector<int16_t> i16s = {32767, -32768, 257, 259};
  std::vector<Tensor> sources = {Tensor::from_vector(floats),
                                 Tensor::from_vector(floats).cast(DType::f32),
                                 Tensor::from_vector(floats).cast(DType::f16),
                                 Tensor::from_vector(i64s),
                                 Tensor::from_vector(u64s),
                                 Tensor::from_vector(i32s),
                                 Tensor::from_vector(u32s),
                                 Tensor::from_vector(i16s)};
  for (Tensor& src : sources) {
    src = src.realize();
    DType from = src.dtype();
    std::vector<double> want;
    for (int64_t i = 0; i < src.numel(); i++) {
      // the source value exactly, as the op table holds it
      Tensor one = src.shrink({{i, i + 1}});
      uops::Value v =
          uops::is_float(from)
              ? uops::Value{0, one.cast(DType::f64).item()}
              : uops::int_value(from, from == DType::u64 ? __int128(one.to_vector<uint64_t>()[0])
                                                         : __int128(one.cast(DType::i64).to_vector<int64_t>()[0]));
      const uops::Value arg[] = {v};
      want.push_back(uops::eval(uops::Op::CAST, DType::bf16, from, arg)->f);
    }
    for (const runtime::Target* dev : testing::complete_targets()) {
      INFO(uops::name(from) << " to bf16 on " << dev->name);
      std::vector<double> got = src.to(dev).cast(DType::bf16).cast(DType::f64).to_vector<double>();
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); i++) {
        INFO("element " << i << ": " << got[i] << ", the op table says " << want[i]);
        CHECK(got[i] == want[i]);
      }
    }
  }
}
