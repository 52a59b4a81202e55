// Limits of sizes: shapes whose element count or byte size does not fit in int64 are refused when the tensor is made
// (they used to wrap: 2^64 elements counted as 0), memory that cannot be had is an OutOfMemory the caller can catch,
// and zero-size tensors go through every op.
#include "frontend/nn.h"
#include "tests/frontend/check.h"
#include "tests/shell.h"
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

using namespace patgrad;
using testing::check_close;
using testing::fails;

namespace {

constexpr int64_t two_32 = int64_t(1) << 32;

// 2^50 bytes: more than the 2^47 bytes of a user address space, so no allocator can give it, whatever the overcommit
// policy; a request this large fails at once and touches nothing.
const Shape huge = {int64_t(1) << 18, int64_t(1) << 30}; // of f32

struct Run {
  std::string out; // standard output and standard error together
  int code;
};

// The patgrad command with its standard input from a file.
Run run_patgrad(const std::string& args, const std::string& input) {
  std::filesystem::path in =
      std::filesystem::temp_directory_path() / ("patgrad-limits-test-" + std::to_string(getpid()) + ".in");
  std::ofstream(in) << input;
  Run r;
  r.code = testing::shell(PATGRAD_BINARY " " + args + " < " + in.string(), &r.out);
  std::filesystem::remove(in);
  return r;
}

} // namespace

TEST_CASE("a shape whose element count does not fit in int64 is an error when the tensor is made", "[limits]") {
  fails([] { Tensor::rand({int64_t(1) << 62, 4}); }, "rand: (4611686018427387904,4) has more than 2^63-1 elements");
  fails([] { Tensor::ones({two_32, two_32, 4}); }, "has more than 2^63-1 elements");
  fails([] { Tensor::zeros({two_32, two_32, 4}).sum(); }, "has more than 2^63-1 elements");
  fails([] { Tensor::randn({two_32, two_32}); }, "randn: (4294967296,4294967296) has more than 2^63-1 elements");
  fails([] { Tensor::randint({two_32, two_32}, 0, 5); }, "randint:");
  fails([] { Tensor::empty({two_32, two_32}); }, "empty: (4294967296,4294967296) has more than 2^63-1 elements");
  fails([] { Tensor::from_data(nullptr, DType::u8, {two_32, two_32}); }, "from_data:");
  // a product that wraps to the right count must not pass for it: 274177 * 67280421310721 is 2^64 + 1, which wraps
  // to 1; 2^32 * 2^32 * 0 is 0 honestly
  fails(
      [] {
        Tensor::ones({1}).reshape({274177, 67280421310721});
      },
      "reshape: (274177,67280421310721) has more than 2^63-1 elements");
  CHECK(Tensor::ones({two_32, two_32, 0}).sum().item() == 0);
  // movement ops that make new sizes: expand, reshape, pad
  Tensor big = Tensor::ones({two_32, 1});
  fails([&] { big.expand({two_32, two_32}); }, "expand: EXPAND to (4294967296,4294967296) has more than 2^63-1");
  fails(
      [&] {
        Tensor::ones({int64_t(1) << 62}, DType::bool_).reshape({-1, 1}).expand({-1, 8});
      },
      "more than 2^63-1 elements");
  fails([&] { Tensor::ones({4}).pad({{INT64_MAX - 2, 4}}); }, "pad: PAD (9223372036854775805,4) of (4,) has more");
  fails(
      [&] {
        Tensor::ones({two_32}).pad({{0, 0}}).reshape({1, two_32}).expand({two_32 * 2, two_32});
      },
      "more than 2^63-1 elements");
}

TEST_CASE("a shape whose byte size does not fit in int64 is an error when the tensor is made", "[limits]") {
  // 2^61 elements fit; 2^61 f64 are 2^64 bytes, and a cast to a wider dtype is caught as well as a creation
  int64_t n = int64_t(1) << 61;
  fails([&] { Tensor::zeros({n}, DType::f64); }, "full: (2305843009213693952,) of f64 has more than 2^63-1 bytes");
  fails([&] { Tensor::rand({n / 2, 2}, DType::f64); }, "has more than 2^63-1 bytes");
  Tensor bytes = Tensor::zeros({n}, DType::u8);
  CHECK(bytes.numel() == n);
  fails([&] { bytes.cast(DType::f32); }, "cast: (2305843009213693952,) of f32 has more than 2^63-1 bytes");
  fails([] { Tensor::arange(0, 1e30); }, "arange: 0 to 1e+30 by 1 is not a countable number of elements");
  fails([] { Tensor::arange(0, NAN); }, "arange:");
}

TEST_CASE("negative sizes are errors in every creation and movement op", "[limits]") {
  fails([] { Tensor::ones({2, -1}); }, "full: negative dimension -1 in (2,-1)");
  fails([] { Tensor::empty({-5}); }, "empty: negative dimension -5");
  fails([] { Tensor::rand({-1, 2}); }, "rand: negative dimension -1");
  fails([] { Tensor::randn({3, -2}); }, "randn: negative dimension -2");
  fails([] { Tensor::from_data(nullptr, DType::f32, {-1}); }, "from_data: negative dimension -1");
  fails([] { Tensor::ones({4}).reshape({-2, -2}); }, "reshape: negative size in (-2,-2)");
  fails([] { Tensor::ones({1}).expand({-3}); }, "expand: cannot expand (1,) to (-3,)");
  fails([] { Tensor::ones({2}).pad({{-1, 0}}); }, "pad: negative padding (-1, 0) for (2,)");
}

TEST_CASE("running out of memory is an OutOfMemory naming the bytes, and nothing stays allocated", "[limits]") {
  size_t live = runtime::live_buffers();
  try {
    Tensor::empty(huge);
    FAIL("no OutOfMemory");
  } catch (const OutOfMemory& e) {
    CHECK_THAT(e.what(), Catch::Contains("empty: out of memory: cannot allocate 1125899906842624 bytes (1048576.0 GiB) "
                                         "for 281474976710656 elements of f32"));
  }
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor lazy = Tensor::ones(huge).to(dev) + 1; // made: only realizing needs the memory
    CHECK_THROWS_WITH(lazy.realize(),
                      Catch::Contains("realize: out of memory: cannot allocate 1125899906842624 bytes"));
    CHECK_THROWS_AS(lazy.realize(), OutOfMemory);
    CHECK_THROWS_AS(Tensor::from_data(nullptr, DType::u8, {int64_t(1) << 50}), OutOfMemory);
    // an OutOfMemory is a TensorError: a caller that handles those handles it too
    CHECK_THROWS_AS(Tensor::ones(huge).contiguous().realize(), TensorError);
  }
  CHECK(runtime::live_buffers() == live);
  // and the process goes on: a realize after the failure works
  check_close(Tensor::ones({3}) + 1, {3}, {2, 2, 2}, 0);
}

TEST_CASE("buffers large enough to be mapped read as zeros and are freed", "[limits]") {
  // 16 Mi f32 = 64 MiB: the size where buffers come from mmap instead of malloc
  int64_t n = int64_t(1) << 24;
  size_t live = runtime::live_buffers();
  {
    Tensor t = Tensor::empty({n}, DType::i32);
    CHECK(t.sum().item() == 0);
    Tensor filled = (Tensor::empty({n}, DType::i32) + 2).realize();
    CHECK(filled.sum().item() == double(2 * n));
  }
  CHECK(runtime::live_buffers() == live);
}

TEST_CASE("zero-size tensors go through reductions, matmul, cat and nn ops", "[limits]") {
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor e = Tensor::ones({0, 3}).to(dev);
    check_close(e.sum(), {}, {0}, 0);
    check_close(e.sum({0}), {3}, {0, 0, 0}, 0);
    check_close(e.sum({1}), {0}, {}, 0);
    check_close(e.prod({0}), {3}, {1, 1, 1}, 0);
    check_close(e.mean(), {}, {NAN}, 0);
    check_close(e.any(), {}, {0}, 0);
    check_close(e.all(), {}, {1}, 0);
    check_close(e.cumsum(0), {0, 3}, {}, 0);
    check_close(Tensor::ones({0}, DType::i32).to(dev).sum(), {}, {0}, 0);
    // a zero inner dimension: a product of nothing is 0; a zero outer one: an empty result
    check_close(Tensor::ones({2, 0}).to(dev).matmul(Tensor::ones({0, 3}).to(dev)), {2, 3}, {0, 0, 0, 0, 0, 0}, 0);
    check_close(e.matmul(Tensor::ones({3, 4}).to(dev)), {0, 4}, {}, 0);
    check_close(Tensor::ones({2, 3, 0}).to(dev).dot(Tensor::ones({2, 0, 5}).to(dev)), {2, 3, 5},
                std::vector<double>(30, 0), 0);
    check_close(Tensor::cat({e, Tensor::ones({0, 3}).to(dev)}), {0, 3}, {}, 0);
    check_close(Tensor::cat({e, Tensor::full({1, 3}, 2).to(dev)}), {1, 3}, {2, 2, 2}, 0);
    check_close(Tensor::cat({Tensor::ones({2, 0}).to(dev), Tensor::ones({2, 0}).to(dev)}, 1), {2, 0}, {}, 0);
    check_close(e.softmax(1), {0, 3}, {}, 0);
    check_close(Tensor::ones({2, 0}).to(dev).logsumexp({1}), {2}, {-INFINITY, -INFINITY}, 0);
    nn::Embedding emb(4, 3);
    check_close(emb(Tensor::from_vector<int32_t>({}).to(dev)), {0, 3}, {}, 0);
  }
}

TEST_CASE("a script out of memory exits 1 with a MemoryError at its line; the REPL goes on after one", "[limits]") {
  std::string script = "from patgrad import Tensor\n"
                       "t = Tensor.ones(2 ** 18, 2 ** 30) + 1\n"
                       "t.realize()\n"
                       "print('after')\n";
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("patgrad-limits-test-" + std::to_string(getpid()) + ".pg");
  std::ofstream(file) << script;
  Run r = run_patgrad("run " + file.string(), "");
  std::filesystem::remove(file);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::StartsWith(file.string() + ":3:10: MemoryError: realize: out of memory: cannot allocate "
                                                      "1125899906842624 bytes (1048576.0 GiB) for 281474976710656 "
                                                      "elements of f32"));
  CHECK_THAT(r.out, !Catch::Contains("after"));
  r = run_patgrad("", script + "print((Tensor.ones(2) + 1).tolist())\n");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("MemoryError: realize: out of memory"));
  CHECK_THAT(r.out, Catch::Contains("after\n"));
  CHECK_THAT(r.out, Catch::Contains("[2.0, 2.0]"));
}
