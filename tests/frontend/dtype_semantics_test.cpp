// Results that once depended on the width of an accumulator or on the device: integer and bool sums go into i64
// (u64 stays u64), and float to int conversion saturates (NaN gives 0) on every device, as the op table's CAST says.
#include "tests/frontend/check.h"
#include "uops/ops.h"

using namespace patgrad;

TEST_CASE("integer and bool sums and products accumulate in i64 and do not wrap at 32 bits", "[dtype]") {
  for (const runtime::Target* dev : runtime::targets()) {
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
      for (const runtime::Target* dev : runtime::targets()) {
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
