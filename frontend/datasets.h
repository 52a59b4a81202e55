// Datasets: Fashion-MNIST from its idx files, and a loader that cuts tensors into shuffled batches.
#pragma once
#include "frontend/tensor.h"
#include <random>
#include <string>

namespace patgrad::datasets {

// An idx file (the MNIST format): big-endian magic 0x0000TTNN (TT the element type, NN the number of axes), the
// axes as big-endian u32, then the elements, big-endian. gzip-compressed or plain; a missing or malformed file is a
// TensorError naming the path.
struct IdxArray {
  Shape shape;
  DType dtype;                // u8, i8, i16, i32, f32 or f64
  std::vector<uint8_t> bytes; // the elements, converted to this machine's byte order
};
IdxArray read_idx(const std::string& path);

enum class Split { train, test };
enum class ImageFormat {
  u8,        // the raw pixels, 0..255
  f32_unit,  // pixels / 255, in [0, 1] (torchvision's ToTensor)
  f32_normal // (pixels / 255 - mean) / std with the training set's mean and std (0.2860, 0.3530)
};

struct FashionMnistOptions {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  ImageFormat format = ImageFormat::u8;
  DType label_dtype = DType::i64; // i32 or i64
};

struct Dataset {
  Tensor images; // (N, 28, 28)
  Tensor labels; // (N,), class indices 0..9
};

// {train,t10k}-{images-idx3,labels-idx1}-ubyte, each as .gz or uncompressed, from opts.dir.
Dataset fashion_mnist(Split split, const FashionMnistOptions& opts = {});

// Batches of rows (the first axis) of tensors with the same number of rows, e.g. {images, labels}. The tensors are
// read to the host once; each batch is made from host memory, so shuffling costs no kernels. Every pass over the
// loader (each begin()) is one epoch; with shuffle, each epoch has a new order drawn from the seeded generator, so
// a seed gives the same sequence of epochs every run.
struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  uint64_t seed = 0;
  bool drop_last = false; // drop the last batch when it is smaller than batch_size
};

class DataLoader {
public:
  DataLoader(const std::vector<Tensor>& tensors, const LoaderOptions& opts);

  int64_t num_rows() const { return rows_; }
  int64_t num_batches() const;
  // Batch i of the current epoch's order: one tensor per input tensor, each with i's rows.
  std::vector<Tensor> batch(int64_t i) const;
  // Starts a new epoch: draws a new order when shuffling.
  void next_epoch();

  class iterator {
  public:
    iterator(const DataLoader* loader, int64_t i) : loader_(loader), i_(i) {}
    std::vector<Tensor> operator*() const { return loader_->batch(i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }

  private:
    const DataLoader* loader_;
    int64_t i_;
  };
  iterator begin(); // starts an epoch
  iterator end() const { return iterator(this, num_batches()); }

private:
  struct Column {
    DType dtype;
    const runtime::Target* device;
    Shape row_shape;
    size_t row_bytes;
    std::vector<uint8_t> bytes;
  };
  std::vector<Column> columns_;
  int64_t rows_ = 0;
  LoaderOptions opts_;
  std::vector<int64_t> order_;
  std::mt19937_64 rng_;
  bool started_ = false;
};

} // namespace patgrad::datasets
