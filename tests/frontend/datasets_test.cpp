// Fashion-MNIST against the raw bytes of the installed files (inflated here with zlib, parsed by hand), and the
// batch loader's order, sizes and seeds.
#include "frontend/datasets.h"
#include <catch2/catch.hpp>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <numeric>
#include <set>
#include <zlib.h>

using namespace patgrad;
using namespace patgrad::datasets;

namespace {

const std::string dir = "/usr/share/datasets/fashion-mnist";

std::vector<uint8_t> inflate_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f);
  std::vector<uint8_t> out(1 << 16);
  size_t used = 0;
  int n;
  while ((n = gzread(f, out.data() + used, unsigned(out.size() - used))) > 0) {
    used += size_t(n);
    if (used == out.size()) out.resize(out.size() * 2);
  }
  gzclose(f);
  out.resize(used);
  return out;
}

std::string temp_dir() {
  llvm::SmallString<128> d;
  REQUIRE(!llvm::sys::fs::createUniqueDirectory("patgrad-datasets", d));
  return std::string(d);
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

} // namespace

TEST_CASE("fashion_mnist loads both splits with the raw files' sizes, labels and pixels", "[datasets]") {
  for (auto [split, prefix, n] : {std::tuple{Split::train, "train", 60000}, {Split::test, "t10k", 10000}}) {
    INFO(prefix);
    std::vector<uint8_t> raw_images = inflate_file(dir + "/" + prefix + "-images-idx3-ubyte.gz");
    std::vector<uint8_t> raw_labels = inflate_file(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
    REQUIRE(raw_images.size() == 16 + size_t(n) * 784);
    REQUIRE(raw_labels.size() == 8 + size_t(n));
    uint64_t pixel_sum = std::accumulate(raw_images.begin() + 16, raw_images.end(), uint64_t(0));
    std::vector<int64_t> counts(10);
    for (size_t i = 8; i < raw_labels.size(); i++) counts[raw_labels[i]]++;

    Dataset d = fashion_mnist(split);
    CHECK(d.images.shape() == Shape{n, 28, 28});
    CHECK(d.images.dtype() == DType::u8);
    CHECK(d.labels.shape() == Shape{n});
    CHECK(d.labels.dtype() == DType::i64);
    CHECK(uint64_t(d.images.cast(DType::i64).sum().item()) == pixel_sum);
    std::vector<int64_t> labels = d.labels.to_vector<int64_t>();
    CHECK(*std::min_element(labels.begin(), labels.end()) == 0);
    CHECK(*std::max_element(labels.begin(), labels.end()) == 9);
    for (int64_t c = 0; c < 10; c++) CHECK(std::count(labels.begin(), labels.end(), c) == counts[size_t(c)]);
    for (size_t i : {size_t(0), size_t(n) - 1}) CHECK(labels[i] == raw_labels[8 + i]);
    // one pixel by position: image 7, row 13, column 20
    CHECK(d.images.to_vector<uint8_t>()[7 * 784 + 13 * 28 + 20] == raw_images[16 + 7 * 784 + 13 * 28 + 20]);
  }
}

TEST_CASE("fashion_mnist's float formats scale the pixels", "[datasets]") {
  std::vector<uint8_t> raw = inflate_file(dir + "/t10k-images-idx3-ubyte.gz");
  FashionMnistOptions unit;
  unit.format = ImageFormat::f32_unit;
  unit.label_dtype = DType::i32;
  Dataset d = fashion_mnist(Split::test, unit);
  CHECK(d.images.dtype() == DType::f32);
  CHECK(d.labels.dtype() == DType::i32);
  std::vector<float> px = d.images.shrink({{0, 2}, {0, 28}, {0, 28}}).to_vector<float>();
  for (size_t i = 0; i < px.size(); i++) REQUIRE(px[i] == float(raw[16 + i]) / 255.0f);

  FashionMnistOptions normal;
  normal.format = ImageFormat::f32_normal;
  std::vector<float> z =
      fashion_mnist(Split::test, normal).images.shrink({{0, 1}, {0, 28}, {0, 28}}).to_vector<float>();
  for (size_t i = 0; i < z.size(); i++)
    REQUIRE(z[i] == Approx((raw[16 + i] / 255.0 - 0.2860406) / 0.3530242).margin(1e-5));
}

TEST_CASE("fashion_mnist reads uncompressed files from a directory the user gives", "[datasets]") {
  std::string d = temp_dir();
  std::vector<uint8_t> images = inflate_file(dir + "/t10k-images-idx3-ubyte.gz");
  std::vector<uint8_t> labels = inflate_file(dir + "/t10k-labels-idx1-ubyte.gz");
  write_file(d + "/t10k-images-idx3-ubyte", images);
  write_file(d + "/t10k-labels-idx1-ubyte", labels);
  FashionMnistOptions opts;
  opts.dir = d;
  Dataset ds = fashion_mnist(Split::test, opts);
  CHECK(ds.images.shape() == Shape{10000, 28, 28});
  CHECK(ds.labels.to_vector<int64_t>()[3] == labels[8 + 3]);
  CHECK_THROWS_WITH(fashion_mnist(Split::train, opts), Catch::Contains("missing " + d + "/train-images-idx3-ubyte.gz"));

  // a file cut short, and one with a bad magic number
  images.resize(images.size() - 1);
  write_file(d + "/t10k-images-idx3-ubyte", images);
  CHECK_THROWS_WITH(fashion_mnist(Split::test, opts),
                    Catch::Contains(d + "/t10k-images-idx3-ubyte: shape (10000,28,28) "
                                        "needs 7840000 bytes of data, the file has 7839999"));
  write_file(d + "/t10k-images-idx3-ubyte", {1, 2, 3, 4, 5});
  CHECK_THROWS_WITH(fashion_mnist(Split::test, opts), Catch::Contains("not an idx file"));
  llvm::sys::fs::remove_directories(d);
}

TEST_CASE("read_idx reads big-endian elements of wider types", "[datasets]") {
  std::string d = temp_dir();
  // i16, 2 axes (2, 3): 1, -2, 300, 4, 5, -32768
  write_file(d + "/a", {0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 0xFF, 0xFE, 0x01, 0x2C, 0, 4, 0, 5, 0x80, 0});
  IdxArray a = read_idx(d + "/a");
  CHECK(a.shape == Shape{2, 3});
  REQUIRE(a.dtype == DType::i16);
  Tensor t = Tensor::from_data(a.bytes.data(), a.dtype, a.shape);
  CHECK(t.to_vector<int16_t>() == std::vector<int16_t>{1, -2, 300, 4, 5, -32768});
  write_file(d + "/b", {0, 0, 0x0A, 1, 0, 0, 0, 1, 7});
  CHECK_THROWS_WITH(read_idx(d + "/b"), Catch::Contains("unknown element type 0x0a"));
  CHECK_THROWS_WITH(read_idx(d + "/nothing"), Catch::Contains("cannot open " + d + "/nothing"));
  llvm::sys::fs::remove_directories(d);
}

TEST_CASE("DataLoader batches rows in order, keeping or dropping the last partial batch", "[datasets]") {
  Tensor x = Tensor::arange(0, 10, 1, DType::f32).reshape({10, 1}) * Tensor::ones({1, 2});
  Tensor y = Tensor::arange(0, 10, 1, DType::i64);
  DataLoader keep({x, y}, {.batch_size = 4});
  CHECK(keep.num_batches() == 3);
  std::vector<int64_t> sizes, seen;
  for (std::vector<Tensor> b : keep) {
    REQUIRE(b.size() == 2);
    sizes.push_back(b[1].shape()[0]);
    CHECK(b[0].shape() == Shape{b[1].shape()[0], 2});
    std::vector<int64_t> ys = b[1].to_vector<int64_t>();
    std::vector<float> xs = b[0].to_vector<float>();
    for (size_t i = 0; i < ys.size(); i++) CHECK(xs[2 * i] == float(ys[i])); // rows stay paired
    seen.insert(seen.end(), ys.begin(), ys.end());
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  DataLoader interp({y.to("INTERP")}, {.batch_size = 4});
  CHECK(interp.batch(0)[0].device()->name == "INTERP"); // batches stay on their tensor's device

  DataLoader drop({x, y}, {.batch_size = 4, .drop_last = true});
  CHECK(drop.num_batches() == 2);
  CHECK(drop.batch(1)[1].to_vector<int64_t>() == std::vector<int64_t>{4, 5, 6, 7});
  CHECK_THROWS_WITH(drop.batch(2), Catch::Contains("batch 2 is out of range for 2 batches"));
}

TEST_CASE("DataLoader shuffles each epoch, reproducibly from its seed", "[datasets]") {
  Tensor y = Tensor::arange(0, 100, 1, DType::i32);
  auto epochs = [&](uint64_t seed) {
    DataLoader l({y}, {.batch_size = 32, .shuffle = true, .seed = seed});
    std::vector<std::vector<int32_t>> out;
    for (int e = 0; e < 2; e++) {
      std::vector<int32_t> order;
      for (std::vector<Tensor> b : l) {
        std::vector<int32_t> v = b[0].to_vector<int32_t>();
        order.insert(order.end(), v.begin(), v.end());
      }
      out.push_back(order);
    }
    return out;
  };
  auto a = epochs(1), b = epochs(1), c = epochs(2);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a[0] != a[1]);
  for (auto& order : a) {
    CHECK(std::set<int32_t>(order.begin(), order.end()).size() == 100); // a permutation
    CHECK(order.size() == 100);
  }
  std::vector<int32_t> sorted(100);
  std::iota(sorted.begin(), sorted.end(), 0);
  CHECK(a[0] != sorted);
}

TEST_CASE("DataLoader rejects tensors of different lengths and bad batch sizes", "[datasets]") {
  Tensor a = Tensor::zeros({3, 2}), b = Tensor::zeros({4});
  CHECK_THROWS_WITH(DataLoader({a, b}, {}), Catch::Contains("different numbers of rows: (3,2) and (4,)"));
  CHECK_THROWS_WITH(DataLoader({a}, {.batch_size = 0}), Catch::Contains("batch_size 0 is not positive"));
  CHECK_THROWS_WITH(DataLoader({Tensor::scalar(1)}, {}), Catch::Contains("0-d tensor"));
}
