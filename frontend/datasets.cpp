// Fashion-MNIST's idx files through zlib (which reads plain files too), and the batch loader.
#include "frontend/datasets.h"
#include "frontend/tensor_internal.h"
#include <algorithm>
#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <numeric>
#include <zlib.h>

namespace patgrad::datasets {

namespace {

// Reads a whole file through gzread: gzip data is inflated, anything else is passed through as it is.
std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw TensorError(fmt::format("read_idx: cannot open {}", path));
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];
  int n;
  while ((n = gzread(f, chunk, sizeof chunk)) > 0) out.insert(out.end(), chunk, chunk + n);
  int err = Z_OK;
  std::string why = n < 0 ? gzerror(f, &err) : "";
  gzclose(f);
  if (n < 0) throw TensorError(fmt::format("read_idx: {}: {}", path, why));
  return out;
}

uint32_t big_endian_u32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

std::optional<DType> idx_dtype(uint8_t code) {
  switch (code) {
  case 0x08: return DType::u8;
  case 0x09: return DType::i8;
  case 0x0B: return DType::i16;
  case 0x0C: return DType::i32;
  case 0x0D: return DType::f32;
  case 0x0E: return DType::f64;
  default: return std::nullopt;
  }
}

// dir/name.gz, else dir/name; the error names both.
std::string find_file(const std::string& dir, const std::string& name) {
  std::string gz = dir + "/" + name + ".gz", plain = dir + "/" + name;
  if (llvm::sys::fs::exists(gz)) return gz;
  if (llvm::sys::fs::exists(plain)) return plain;
  throw TensorError(fmt::format("fashion_mnist: missing {} (or {})", gz, plain));
}


} // namespace

IdxArray read_idx(const std::string& path) {
  std::vector<uint8_t> data = read_maybe_gzip(path);
  auto bad = [&](const std::string& why) { return TensorError(fmt::format("read_idx: {}: {}", path, why)); };
  if (data.size() < 4 || data[0] != 0 || data[1] != 0) throw bad("not an idx file (bad magic number)");
  std::optional<DType> dtype = idx_dtype(data[2]);
  if (!dtype) throw bad(fmt::format("unknown element type 0x{:02x}", data[2]));
  size_t ndim = data[3], header = 4 + 4 * ndim;
  if (data.size() < header) throw bad("truncated header");
  IdxArray a{{}, *dtype, {}};
  for (size_t i = 0; i < ndim; i++) a.shape.push_back(big_endian_u32(&data[4 + 4 * i]));
  size_t width = size_t(uops::bits(*dtype) / 8);
  size_t want = size_t(uops::prod(a.shape)) * width;
  if (data.size() - header != want)
    throw bad(fmt::format("shape {} needs {} bytes of data, the file has {}", detail::shape_str(a.shape), want,
                          data.size() - header));
  a.bytes.assign(data.begin() + ptrdiff_t(header), data.end());
  for (size_t i = 0; i < a.bytes.size(); i += width) std::reverse(&a.bytes[i], &a.bytes[i] + width);
  return a;
}

Dataset fashion_mnist(Split split, const FashionMnistOptions& opts) {
  if (opts.label_dtype != DType::i32 && opts.label_dtype != DType::i64)
    throw TensorError(fmt::format("fashion_mnist: labels are i32 or i64, not {}", uops::name(opts.label_dtype)));
  std::string prefix = split == Split::train ? "train" : "t10k";
  std::string images_path = find_file(opts.dir, prefix + "-images-idx3-ubyte");
  std::string labels_path = find_file(opts.dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path), labels = read_idx(labels_path);
  if (images.dtype != DType::u8 || images.shape.size() != 3 || images.shape[1] != 28 || images.shape[2] != 28)
    throw TensorError(fmt::format("fashion_mnist: {} holds {} {}, not u8 (N,28,28)", images_path,
                                  uops::name(images.dtype), detail::shape_str(images.shape)));
  if (labels.dtype != DType::u8 || labels.shape != Shape{images.shape[0]})
    throw TensorError(fmt::format("fashion_mnist: {} holds {} {}, not u8 ({},)", labels_path, uops::name(labels.dtype),
                                  detail::shape_str(labels.shape), images.shape[0]));
  for (uint8_t l : labels.bytes)
    if (l > 9) throw TensorError(fmt::format("fashion_mnist: {} has label {}, outside 0..9", labels_path, l));

  Tensor x = Tensor::from_data(images.bytes.data(), DType::u8, images.shape);
  if (opts.format != ImageFormat::u8) x = x.cast(DType::f32) / 255.0;
  // the mean and standard deviation of every pixel of the 60000 training images
  if (opts.format == ImageFormat::f32_normal) x = (x - 0.2860406) / 0.3530242;
  Tensor y = Tensor::from_data(labels.bytes.data(), DType::u8, labels.shape).cast(opts.label_dtype);
  return {x.realize(), y.realize()};
}

DataLoader::DataLoader(const std::vector<Tensor>& tensors, const LoaderOptions& opts) : opts_(opts), rng_(opts.seed) {
  if (tensors.empty()) throw TensorError("DataLoader: no tensors");
  if (opts.batch_size < 1) throw TensorError(fmt::format("DataLoader: batch_size {} is not positive", opts.batch_size));
  for (const Tensor& t : tensors) {
    if (t.ndim() == 0) throw TensorError("DataLoader: a 0-d tensor has no rows");
    if (t.shape()[0] != tensors[0].shape()[0])
      throw TensorError(fmt::format("DataLoader: tensors have different numbers of rows: {} and {}",
                                    detail::shape_str(tensors[0].shape()), detail::shape_str(t.shape())));
    Shape row(t.shape().begin() + 1, t.shape().end());
    size_t width = size_t(std::max(1, uops::bits(t.dtype()) / 8));
    columns_.push_back({t.dtype(), t.device(), row, size_t(uops::prod(row)) * width, t.bytes()});
  }
  rows_ = tensors[0].shape()[0];
  order_.resize(size_t(rows_));
  std::iota(order_.begin(), order_.end(), 0);
  if (opts_.shuffle) std::shuffle(order_.begin(), order_.end(), rng_);
}

int64_t DataLoader::num_batches() const {
  return opts_.drop_last ? rows_ / opts_.batch_size : (rows_ + opts_.batch_size - 1) / opts_.batch_size;
}

std::vector<Tensor> DataLoader::batch(int64_t i) const {
  if (i < 0 || i >= num_batches())
    throw TensorError(fmt::format("DataLoader: batch {} is out of range for {} batches", i, num_batches()));
  int64_t begin = i * opts_.batch_size, end = std::min(rows_, begin + opts_.batch_size);
  std::vector<Tensor> out;
  for (const Column& c : columns_) {
    std::vector<uint8_t> bytes(c.row_bytes * size_t(end - begin));
    for (int64_t r = begin; r < end; r++)
      std::memcpy(&bytes[c.row_bytes * size_t(r - begin)], &c.bytes[c.row_bytes * size_t(order_[size_t(r)])],
                  c.row_bytes);
    Shape shape = c.row_shape;
    shape.insert(shape.begin(), end - begin);
    out.push_back(Tensor::from_data(bytes.data(), c.dtype, shape).to(c.device));
  }
  return out;
}

void DataLoader::next_epoch() {
  if (opts_.shuffle) std::shuffle(order_.begin(), order_.end(), rng_);
}

DataLoader::iterator DataLoader::begin() {
  // the first epoch uses the order drawn by the constructor, so batch(i) before a loop sees the loop's batches
  if (started_) next_epoch();
  started_ = true;
  return iterator(this, 0);
}

} // namespace patgrad::datasets
