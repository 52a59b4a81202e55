// Tensor: a lazy n-dimensional array. Every method builds UOps; nothing runs until realize() (or reading data).
// Wrong shapes, bad axes and dtype mismatches throw TensorError with a message naming the op and the shapes.
#pragma once
#include "runtime/device.h"
#include <cstring>
#include <stdexcept>
#include <vector>

namespace patgrad {

using uops::DType;
using Shape = std::vector<int64_t>;

struct TensorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return DType::bool_;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::i8;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::i16;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::u8;
  else if constexpr (std::is_same_v<T, uint16_t>) return DType::u16;
  else if constexpr (std::is_same_v<T, uint32_t>) return DType::u32;
  else if constexpr (std::is_same_v<T, uint64_t>) return DType::u64;
  else if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else static_assert(sizeof(T) == 0, "no patgrad dtype for this C++ type");
}

class Tensor {
public:
  // ---- creation (tensor_create.cpp)
  static Tensor from_data(const void* data, DType dtype, const Shape& shape);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape) {
    if (int64_t(v.size()) != uops::prod(shape)) throw TensorError("from_vector: data size does not match shape");
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<uint8_t> bytes(v.begin(), v.end());
      return from_data(bytes.data(), DType::bool_, shape);
    } else return from_data(v.data(), dtype_of<T>(), shape);
  }
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v) { return from_vector(v, Shape{int64_t(v.size())}); }
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32) { return full(shape, 0, dtype); }
  static Tensor ones(const Shape& shape, DType dtype = DType::f32) { return full(shape, 1, dtype); }
  static Tensor scalar(double value, DType dtype = DType::f32) { return full({}, value, dtype); }
  static Tensor arange(double start, double stop, double step = 1, DType dtype = DType::i32);
  static Tensor arange(int64_t stop) { return arange(0, double(stop)); }
  // @create: more creation functions go above this line (tensor_create.cpp, tensor_random.cpp)

  // ---- elementwise (tensor_math.cpp): broadcasting and dtype promotion
  Tensor add(const Tensor& o) const;
  Tensor sub(const Tensor& o) const;
  Tensor mul(const Tensor& o) const;
  Tensor div(const Tensor& o) const; // true division: ints promote to float
  Tensor neg() const;
  Tensor maximum(const Tensor& o) const;
  Tensor minimum(const Tensor& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor eq(const Tensor& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor where(const Tensor& a, const Tensor& b) const; // this is the condition
  Tensor cast(DType dtype) const;
  Tensor bitcast(DType dtype) const;
  Tensor exp2() const;
  Tensor log2() const;
  Tensor sqrt() const;
  Tensor sin() const;
  Tensor reciprocal() const;
  Tensor trunc() const;
  // @math: more elementwise ops go above this line (tensor_math.cpp)

  // ---- movement (tensor_movement.cpp); axes may be negative, counting from the end
  Tensor reshape(Shape shape) const; // one -1 is inferred
  Tensor permute(const Shape& order) const;
  Tensor expand(Shape shape) const;  // -1 keeps an axis
  Tensor pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value = 0) const;
  Tensor shrink(const std::vector<std::pair<int64_t, int64_t>>& ranges) const;
  Tensor flip(const Shape& axes) const;
  Tensor contiguous() const;
  // @movement: more movement ops go above this line (tensor_movement.cpp)

  // ---- reductions (tensor_reduce.cpp); no axes: all of them
  Tensor sum(const Shape& axes = {}, bool keepdim = false) const;
  Tensor max(const Shape& axes = {}, bool keepdim = false) const;
  Tensor prod(const Shape& axes = {}, bool keepdim = false) const;
  // @reduce: more reductions go above this line (tensor_reduce.cpp)

  // ---- linear algebra, convolution and pooling (tensor_nn.cpp)
  // @nn: declarations go above this line

  // ---- realization and data (tensor.cpp)
  Tensor& realize();
  template <typename T>
  std::vector<T> to_vector() const {
    Tensor t = dtype() == dtype_of<T>() ? *this : cast(dtype_of<T>());
    std::vector<T> out(size_t(t.numel()));
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<uint8_t> bytes(out.size());
      t.copy_out(bytes.data());
      for (size_t i = 0; i < out.size(); i++) out[i] = bytes[i];
    } else t.copy_out(out.data());
    return out;
  }
  double item() const; // of a one-element tensor, as double
  std::string str() const;

  const Shape& shape() const { return shape_; }
  DType dtype() const { return uop->dtype; }
  int64_t ndim() const { return int64_t(shape_.size()); }
  int64_t numel() const { return uops::prod(shape_); }
  runtime::Device device() const { return device_; }
  Tensor to(runtime::Device d) const;
  int64_t axis(int64_t a) const; // normalized, or TensorError

  uops::UOp uop;

  // Wraps a node (shape and dtype from it). Checks the node with uops::invalid_reason first.
  static Tensor make(uops::Op op, DType dtype, llvm::ArrayRef<uops::UOp> src, uops::Arg arg, runtime::Device dev,
                     const char* what);
  explicit Tensor(uops::UOp u, runtime::Device dev);

private:
  void copy_out(void* dst) const;
  Shape shape_;
  runtime::Device device_;
};

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
// @operators: more free operators go above this line

// The default device for new tensors: DEV, else CPU. A bad DEV is a TensorError.
runtime::Device default_device();
// Promotion of two dtypes: bool < integers < floats; within a kind, the wider.
DType promote(DType a, DType b);

} // namespace patgrad
