// Tensor: a lazy n-dimensional array. Every method builds UOps; nothing runs until realize() (or reading data).
// Wrong shapes, bad axes and dtype mismatches throw TensorError with a message naming the op and the shapes, and so
// does a shape whose element count or byte size does not fit in int64, when the tensor is made.
#pragma once
#include "runtime/target.h"
#include <concepts>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace patgrad {

using uops::DType;
using Shape = std::vector<int64_t>;

struct TensorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A buffer's memory could not be had (making a tensor from data, or realizing one); the message names the op, the
// bytes and the elements. Nothing stays allocated: freeing other tensors and trying again may work.
struct OutOfMemory : TensorError {
  using TensorError::TensorError;
};

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, bool>)
    return DType::bool_;
  else if constexpr (std::is_same_v<T, int8_t>)
    return DType::i8;
  else if constexpr (std::is_same_v<T, int16_t>)
    return DType::i16;
  else if constexpr (std::is_same_v<T, int32_t>)
    return DType::i32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DType::i64;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return DType::u8;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return DType::u16;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return DType::u32;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return DType::u64;
  else if constexpr (std::is_same_v<T, float>)
    return DType::f32;
  else if constexpr (std::is_same_v<T, double>)
    return DType::f64;
  else
    static_assert(sizeof(T) == 0, "no patgrad dtype for this C++ type");
}

namespace detail {
// What a Tensor handle points at. Copies of a Tensor share it, as copies of torch::Tensor and Python references do:
// realize(), assign() and gradients change it for every copy.
struct TensorImpl : std::enable_shared_from_this<TensorImpl> {
  uops::UOp uop;
  Shape shape;
  const runtime::Target* device;    // one of runtime::targets(): compared by address
  bool requires_grad = false;       // a leaf whose gradient backward() accumulates
  std::shared_ptr<TensorImpl> grad; // that gradient, or null
  TensorImpl(uops::UOp u, const runtime::Target* dev);
  ~TensorImpl();
};
} // namespace detail

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
    } else
      return from_data(v.data(), dtype_of<T>(), shape);
  }
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v) {
    return from_vector(v, Shape{int64_t(v.size())});
  }
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32) { return full(shape, 0, dtype); }
  static Tensor ones(const Shape& shape, DType dtype = DType::f32) { return full(shape, 1, dtype); }
  static Tensor scalar(double value, DType dtype = DType::f32) { return full({}, value, dtype); }
  static Tensor arange(double start, double stop, double step = 1, DType dtype = DType::i32);
  static Tensor arange(int64_t stop) { return arange(0, double(stop)); }
  static Tensor linspace(double start, double stop, int64_t steps, DType dtype = DType::f32); // 1 step: start
  static Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::f32);                     // m < 0: square
  // of t's shape and device; dtype: t's unless given
  static Tensor full_like(const Tensor& t, double value, std::optional<DType> dtype = std::nullopt);
  static Tensor zeros_like(const Tensor& t, std::optional<DType> dtype = std::nullopt) {
    return full_like(t, 0, dtype);
  }
  static Tensor ones_like(const Tensor& t, std::optional<DType> dtype = std::nullopt) { return full_like(t, 1, dtype); }
  // random (tensor_random.cpp): each call takes the next key of the global seed; the values are a hash of that key
  // and the element's index, computed by the tensor program, so every device gives the same values
  static void manual_seed(uint64_t seed);                            // also restarts the sequence of calls
  static Tensor rand(const Shape& shape, DType dtype = DType::f32);  // uniform in [0, 1)
  static Tensor randn(const Shape& shape, DType dtype = DType::f32); // standard normal
  static Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::f32);
  static Tensor randint(const Shape& shape, int64_t low, int64_t high, DType dtype = DType::i32); // [low, high)
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
  // float math: bool and integer tensors compute in f32; f16 and bf16 compute in f32 and round once at the end
  Tensor exp() const;
  Tensor log() const;
  Tensor rsqrt() const;
  Tensor cos() const;
  Tensor tan() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const; // every dtype
  Tensor leaky_relu(double slope = 0.01) const;
  Tensor gelu() const; // the tanh approximation
  Tensor silu() const;
  Tensor softplus(double beta = 1) const;
  // exact on every dtype; floor, ceil and round leave integers and bool as they are
  Tensor abs() const;
  Tensor sign() const; // NaN stays NaN
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;                    // half to even
  Tensor clip(double lo, double hi) const; // lo > hi gives hi everywhere, as PyTorch
  // floats: C's pow (a negative base with a non-integer exponent is NaN); integers: exact with wraparound, and a
  // negative exponent gives the integer part of 1 / x**-e (0 unless x is 1 or -1); bool is an error
  Tensor pow(const Tensor& exponent) const;
  // A scalar exponent promotes as a Python scalar does: a float one (even 2.0) makes an integer or bool base f32, as
  // in PyTorch and tinygrad; an integer one keeps an integer base's dtype (bool computes in i32).
  Tensor pow(double exponent) const;
  template <std::integral I>
  Tensor pow(I exponent) const {
    return pow_int(int64_t(exponent));
  }
  Tensor le(const Tensor& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor ge(const Tensor& o) const;
  // logical: any dtype, nonzero is true; the result is bool
  Tensor logical_and(const Tensor& o) const;
  Tensor logical_or(const Tensor& o) const;
  Tensor logical_xor(const Tensor& o) const;
  Tensor logical_not() const;
  // bitwise: integers and bool
  Tensor bitwise_and(const Tensor& o) const;
  Tensor bitwise_or(const Tensor& o) const;
  Tensor bitwise_xor(const Tensor& o) const;
  // integers only, as Python's // and %: x // 0 is 0 and x % 0 is x (so x == (x // y) * y + x % y holds),
  // MIN // -1 wraps to MIN as PyTorch does
  Tensor idiv(const Tensor& o) const;
  Tensor mod(const Tensor& o) const;
  // @math: more elementwise ops go above this line (tensor_math.cpp)

  // ---- movement (tensor_movement.cpp); axes may be negative, counting from the end
  Tensor reshape(Shape shape) const; // one -1 is inferred
  Tensor permute(const Shape& order) const;
  Tensor expand(Shape shape) const; // -1 keeps an axis
  Tensor pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value = 0) const;
  Tensor shrink(const std::vector<std::pair<int64_t, int64_t>>& ranges) const;
  Tensor flip(const Shape& axes) const;
  Tensor contiguous() const;
  Tensor transpose(int64_t a = -2, int64_t b = -1) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const; // axes start..end (inclusive) become one
  Tensor squeeze() const;                                    // drops every axis of size 1
  Tensor squeeze(int64_t axis) const;                        // the axis must have size 1 (PyTorch ignores others)
  Tensor unsqueeze(int64_t axis) const;                      // a new axis of size 1 at axis, in [-ndim-1, ndim]
  Tensor repeat(const Shape& reps) const;                    // PyTorch's: tiles; more reps than axes add axes in front
  // Exact for every dtype (bits are moved, never added as values). cat promotes the dtypes, as add does.
  static Tensor cat(const std::vector<Tensor>& tensors, int64_t axis = 0);
  static Tensor stack(const std::vector<Tensor>& tensors, int64_t axis = 0);
  // Pieces along axis: of `size` each (the last may be smaller), or of the given sizes, which must add up to the
  // axis. A braced single size `{n}` picks the first overload: write Shape{n} for a list of one.
  std::vector<Tensor> split(int64_t size, int64_t axis = 0) const;
  std::vector<Tensor> split(const Shape& sizes, int64_t axis = 0) const;
  std::vector<Tensor> chunk(int64_t n, int64_t axis = 0) const; // PyTorch's: ceil(size / n) each, maybe fewer pieces

  // ---- indexing (tensor_index.cpp)
  // One axis of a slice, with Python's semantics: start:stop:step, negative positions count from the end,
  // out-of-range bounds clamp, an empty optional is Python's omitted bound; Slice::index(i) picks one position
  // (negative counts from the end, out of range is an error) and drops the axis. a[1:-1, :, 3] is
  // a.slice({Slice(1, -1), Slice(), Slice::index(3)}); a[::-1] is a.slice({Slice({}, {}, -1)}).
  struct Slice {
    std::optional<int64_t> start, stop;
    int64_t step = 1;
    bool is_index = false;
    Slice() = default;
    Slice(std::optional<int64_t> begin, std::optional<int64_t> end, int64_t stride = 1)
        : start(begin), stop(end), step(stride) {}
    static Slice index(int64_t i) {
      Slice s(i, std::nullopt);
      s.is_index = true;
      return s;
    }
  };
  Tensor slice(const std::vector<Slice>& slices) const; // fewer slices than axes: the rest are whole
  // PyTorch's gather: out[i][j][k] = this[index[i][j][k]][j][k] for axis 0; index has this's number of axes and is
  // no larger on the others; out has index's shape. Exact for every dtype; index is an integer. An index outside
  // [0, size of axis) is an error when the index is host data (a realized buffer); a lazy index is not computed to
  // check it, and there such a value gives 0, unless PATGRAD_CHECK=1 (see detail::check_indices).
  Tensor gather(int64_t axis, const Tensor& index) const;
  // @movement: more movement ops go above this line (tensor_movement.cpp)

  // ---- reductions (tensor_reduce.cpp); no axes: all of them
  Tensor sum(const Shape& axes = {}, bool keepdim = false) const;
  Tensor max(const Shape& axes = {}, bool keepdim = false) const;
  Tensor prod(const Shape& axes = {}, bool keepdim = false) const;
  // Reducing an axis twice is an error. max, min, argmax and argmin of zero elements are errors (as PyTorch): they
  // have no identity. Dtypes: sum, prod, max, min, any, all, cumsum: all; the rest are float math: integers and bool
  // give f32, f16 and bf16 compute in f32 and round once to their dtype.
  Tensor min(const Shape& axes = {}, bool keepdim = false) const;
  Tensor mean(const Shape& axes = {}, bool keepdim = false) const; // of zero elements: NaN
  // Divides by max(0, n - correction), as PyTorch: n <= correction gives inf or NaN
  Tensor var(const Shape& axes = {}, bool keepdim = false, double correction = 1) const;
  Tensor std(const Shape& axes = {}, bool keepdim = false, double correction = 1) const;
  // Index of the first largest (smallest) element, i64; NaN counts as the largest (smallest), as PyTorch
  Tensor argmax() const; // into the flattened tensor
  Tensor argmax(int64_t axis, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t axis, bool keepdim = false) const;
  Tensor any(const Shape& axes = {}, bool keepdim = false) const; // bool; of zero elements: false
  Tensor all(const Shape& axes = {}, bool keepdim = false) const; // bool; of zero elements: true
  Tensor cumsum(int64_t axis) const;                              // in sum's dtype
  // Stable: the max is subtracted first. Softmax runs in three kernels (max, sum, result); over a zero-size axis
  // logsumexp is -inf.
  Tensor softmax(int64_t axis = -1) const;
  Tensor log_softmax(int64_t axis = -1) const;
  Tensor logsumexp(const Shape& axes = {}, bool keepdim = false) const;
  // @reduce: more reductions go above this line (tensor_reduce.cpp)

  // ---- linear algebra, convolution and pooling (tensor_nn.cpp)
  // Products promote both operands to one dtype, multiply and sum in sum()'s accumulator (f32 for f16/bf16, i32 for
  // bool and narrow integers) and round once to that dtype; on bool they are "any of the ands". All dtypes.
  Tensor matmul(const Tensor& o) const; // numpy's matmul: batch axes broadcast, a 1-D operand is a vector
  Tensor dot(const Tensor& o) const;    // matmul, as tinygrad's and PyTorch's (not numpy's dot on 3-d and larger)
  // Two operands, each index at most once per operand, e.g. "bij,bjk->bik"; without "->" the output is the indices
  // seen once, in alphabetical order (numpy's implicit mode)
  static Tensor einsum(const std::string& spec, const Tensor& a, const Tensor& b);
  // PyTorch's, on (N,C,H,W) or (C,H,W) input; stride, padding, dilation, output_padding: one value or (h, w).
  // conv2d's weight is (out, in / groups, kh, kw), conv_transpose2d's (in, out / groups, kh, kw). All dtypes but bool.
  Tensor conv2d(const Tensor& weight, const std::optional<Tensor>& bias = std::nullopt, const Shape& stride = {1},
                const Shape& padding = {0}, const Shape& dilation = {1}, int64_t groups = 1) const;
  Tensor conv_transpose2d(const Tensor& weight, const std::optional<Tensor>& bias = std::nullopt,
                          const Shape& stride = {1}, const Shape& padding = {0}, const Shape& output_padding = {0},
                          const Shape& dilation = {1}, int64_t groups = 1) const;
  // An empty stride means the kernel. Padding is at most half the kernel. max_pool2d: all dtypes; avg_pool2d: floats
  // keep their dtype, integers and bool give f32 (as div does).
  Tensor max_pool2d(const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0},
                    const Shape& dilation = {1}) const;
  enum class PadCount { include, exclude }; // whether avg_pool2d's divisor counts padding, as count_include_pad
  Tensor avg_pool2d(const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0},
                    PadCount pad_count = PadCount::include) const;
  // @nn: declarations go above this line

  // ---- autograd (autograd.cpp)
  // A leaf that requires grad is realized first, so that it is its own buffer; backward() of a tensor that depends
  // on it adds d(this)/d(leaf) to leaf.grad(). requires_grad() of a result: whether it depends on such a leaf.
  Tensor& requires_grad_(bool on = true);
  bool requires_grad() const;
  std::optional<Tensor> grad() const; // empty until a backward() reaches this tensor
  void set_grad(std::optional<Tensor> g);
  // Of a one-element tensor, or of any tensor with a seed (d(something)/d(this), this tensor's shape).
  void backward(const std::optional<Tensor>& seed = std::nullopt);
  Tensor detach() const; // the same value; no gradient flows through it
  // While one is alive (on this thread), every tensor made is detached, as under torch.no_grad().
  struct NoGrad {
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;
  };

  // ---- realization (realize.cpp)
  // Computes the tensor into a buffer of its own; the nodes realized on the way (a reduction, the roots) keep their
  // buffers while their nodes live, so that a later realize of a graph that shares them does not compute them again.
  Tensor& realize();
  // The BUFFER node holding the realized value (realizing first), in row-major order of the shape.
  uops::UOp buffer() const;
  // One schedule for all: work they share is done once (an optimizer step with its parameters' state).
  static void realize_all(const std::vector<Tensor>& tensors);
  // Replaces the value of this tensor (every copy sees it) by value, which must have its shape and dtype. Lazy: the
  // next realize of anything realizes the pending assignments too.
  Tensor& assign(const Tensor& value);
  // Totals over every realize so far: milliseconds scheduling (tensor graph to kernels, and each new kernel's
  // lowering), compiling (new kernels only) and running, and kernels run. Benchmarks take differences.
  static const runtime::RunStats& run_stats();

  // ---- data (tensor.cpp)
  template <typename T>
  std::vector<T> to_vector() const {
    Tensor t = dtype() == dtype_of<T>() ? *this : cast(dtype_of<T>());
    std::vector<T> out(size_t(t.numel()));
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<uint8_t> bytes(out.size());
      t.copy_out(bytes.data());
      for (size_t i = 0; i < out.size(); i++) out[i] = bytes[i];
    } else
      t.copy_out(out.data());
    return out;
  }
  double item() const; // of a one-element tensor, as double
  // The elements' bytes in the tensor's own dtype, row-major, bool one byte each (safetensors, datasets)
  std::vector<uint8_t> bytes() const;
  std::string str() const;

  const Shape& shape() const { return impl_->shape; }
  DType dtype() const { return impl_->uop->dtype; }
  int64_t ndim() const { return int64_t(impl_->shape.size()); }
  int64_t numel() const { return uops::prod(impl_->shape); }
  const runtime::Target* device() const { return impl_->device; }
  // The same values on another target: no copy, every target keeps its buffers in host memory. By name: "CPU",
  // "INTERP"; an unknown name is a TensorError listing the known ones.
  Tensor to(const runtime::Target* d) const;
  Tensor to(std::string_view target_name) const;
  int64_t axis(int64_t a) const; // normalized, or TensorError

  const uops::UOp& uop() const { return impl_->uop; }
  // Whether two handles are the same tensor.
  bool is(const Tensor& o) const { return impl_ == o.impl_; }

  // Wraps a node (shape and dtype from it). Checks the node with uops::invalid_reason first.
  static Tensor make(uops::Op op, DType dtype, llvm::ArrayRef<uops::UOp> src, uops::Arg arg, const runtime::Target* dev,
                     const char* what);
  explicit Tensor(uops::UOp u, const runtime::Target* dev);

private:
  friend class Jit; // replays change the tensors a captured step assigns
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}
  static void realize_group(const runtime::Target* dev, llvm::ArrayRef<std::shared_ptr<detail::TensorImpl>> impls);
  Tensor pow_int(int64_t exponent) const;
  void copy_out(void* dst) const;
  std::shared_ptr<detail::TensorImpl> impl_;
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
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator<(double a, const Tensor& b);
Tensor operator<=(double a, const Tensor& b);
Tensor operator>(double a, const Tensor& b);
Tensor operator>=(double a, const Tensor& b);
Tensor operator%(const Tensor& a, const Tensor& b); // mod
Tensor operator%(const Tensor& a, double b);
Tensor operator&(const Tensor& a, const Tensor& b); // bitwise_and
Tensor operator|(const Tensor& a, const Tensor& b);
Tensor operator^(const Tensor& a, const Tensor& b);
// @operators: more free operators go above this line

// The default target for new tensors: DEV, else CPU. A bad DEV is a TensorError listing the known targets.
const runtime::Target* default_device();
// Promotion of two dtypes: bool < integers < floats; within a kind, the wider.
DType promote(DType a, DType b);

} // namespace patgrad
