// Creating tensors: from host data (a new buffer) or from a constant (a CONST broadcast to the shape: no memory).
#include "frontend/tensor_internal.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad {

using uops::Op;
using uops::UOp;

Tensor Tensor::from_data(const void* data, DType dtype, const Shape& shape) {
  detail::check_shape(shape, dtype, "from_data");
  int64_t n = uops::prod(shape);
  UOp buf = detail::new_buffer(dtype, n, runtime::Fill::any, "from_data");
  if (n > 0) std::memcpy(runtime::buffer(buf).data, data, size_t(n) * std::max(1, uops::bits(dtype) / 8)); // data may be null
  return Tensor(UOp::make(Op::RESHAPE, dtype, {buf}, uops::Ints(shape.begin(), shape.end())), default_device());
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  detail::check_shape(shape, dtype, "full");
  uops::Value v = uops::is_float(dtype) ? uops::float_value(dtype, value) : uops::int_value(dtype, __int128(value));
  if (!uops::is_float(dtype) && !std::isfinite(value))
    throw TensorError(fmt::format("full: {} is not a {} value", value, uops::name(dtype)));
  Tensor c(UOp::constant(dtype, v), default_device());
  Shape ones(shape.size(), 1);
  return c.reshape(ones).expand(shape);
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  detail::check_shape(shape, dtype, "empty");
  UOp buf = detail::new_buffer(dtype, uops::prod(shape), runtime::Fill::zeros, "empty"); // reads as zeros
  return Tensor(UOp::make(Op::RESHAPE, dtype, {buf}, uops::Ints(shape.begin(), shape.end())), default_device());
}

Tensor Tensor::arange(double start, double stop, double step, DType dtype) {
  if (step == 0) throw TensorError("arange: step is zero");
  double count = std::ceil((stop - start) / step);
  if (!(count < 0x1p62)) // NaN too: converting it, or a count past int64, to int64_t is undefined
    throw TensorError(fmt::format("arange: {} to {} by {} is not a countable number of elements", start, stop, step));
  int64_t n = std::max<int64_t>(0, int64_t(count));
  // start + step * i over an index range, from a cumulative count: i is the position in a flat index buffer
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[i] = start + step * double(i);
  return from_vector(v).cast(dtype);
}

// PyTorch's: the first half steps up from start, the second half down from stop, so both ends are exact; one step
// is start (in the first half), as numpy, PyTorch and tinygrad give
Tensor Tensor::linspace(double start, double stop, int64_t steps, DType dtype) {
  if (steps < 0) throw TensorError(fmt::format("linspace: steps must be non-negative, got {}", steps));
  double step = steps > 1 ? (stop - start) / double(steps - 1) : 0;
  int64_t half = std::max<int64_t>(1, steps / 2);
  std::vector<double> v(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; i++) v[i] = i < half ? start + step * double(i) : stop - step * double(steps - 1 - i);
  // bf16 goes through f32, as PyTorch computes it: the CPU cannot convert f64 to bf16 (no __truncdfbf2 in the JIT)
  if (dtype == DType::bf16) return from_vector(std::vector<float>(v.begin(), v.end())).cast(dtype);
  return from_vector(v).cast(dtype);
}

// tinygrad's trick, no memory: k rows of [1, 0 * m] laid end to end put the ones m + 1 apart, on the diagonal of
// the first k * m elements read as (k, m); rows k..n-1 of an n x m eye are zero padding
Tensor Tensor::eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  if (n < 0) throw TensorError(fmt::format("eye: negative dimension {}", n));
  int64_t k = std::min(n, m);
  Tensor diag = ones({k, 1}, dtype).pad({{0, 0}, {0, m}}).reshape({k * (m + 1)}).shrink({{0, k * m}}).reshape({k, m});
  return diag.pad({{0, n - k}, {0, 0}});
}

Tensor Tensor::full_like(const Tensor& t, double value, std::optional<DType> dtype) {
  return full(t.shape(), value, dtype.value_or(t.dtype())).to(t.device());
}

} // namespace patgrad
