// The Tensor core: wrapping nodes, checking sizes, allocating buffers, reading data back.
#include "frontend/tensor_internal.h"
#include <fmt/format.h>

namespace patgrad {

using uops::Op;
using uops::UOp;

detail::TensorImpl::TensorImpl(UOp u, const runtime::Target* dev)
    : uop(std::move(u)), shape(uop->shape.begin(), uop->shape.end()), device(dev) {}

Tensor::Tensor(UOp u, const runtime::Target* dev) : impl_(std::make_shared<detail::TensorImpl>(std::move(u), dev)) {}

namespace detail {

void check_shape(llvm::ArrayRef<int64_t> shape, DType dtype, const char* what) {
  auto str = [&] { return shape_str(Shape(shape.begin(), shape.end())); };
  for (int64_t d : shape)
    if (d < 0) throw TensorError(fmt::format("{}: negative dimension {} in {}", what, d, str()));
  std::optional<int64_t> n = uops::checked_prod(shape);
  int64_t bytes;
  if (!n) throw TensorError(fmt::format("{}: {} has more than 2^63-1 elements", what, str()));
  if (__builtin_mul_overflow(*n, std::max(1, uops::bits(dtype) / 8), &bytes))
    throw TensorError(fmt::format("{}: {} of {} has more than 2^63-1 bytes", what, str(), uops::name(dtype)));
}

UOp new_buffer(DType dtype, int64_t size, runtime::Fill fill, const char* what) {
  llvm::Expected<UOp> b = runtime::allocate_buffer(dtype, size, fill);
  if (!b) throw OutOfMemory(fmt::format("{}: out of memory: {}", what, llvm::toString(b.takeError())));
  return std::move(*b);
}

} // namespace detail

Tensor Tensor::make(Op op, DType dtype, llvm::ArrayRef<UOp> src, uops::Arg arg, const runtime::Target* dev,
                    const char* what) {
  if (std::string why = uops::invalid_reason(op, dtype, src, arg); !why.empty())
    throw TensorError(fmt::format("{}: {}", what, why));
  UOp u = UOp::make(op, dtype, src, std::move(arg));
  detail::check_shape(u->shape, dtype, what); // invalid_reason counted the elements; the bytes need the dtype
  if (!detail::grad_enabled() && op != Op::DETACH) u = UOp::make(Op::DETACH, dtype, {u});
  return Tensor(std::move(u), dev);
}

const runtime::Target* default_device() {
  auto t = runtime::default_target();
  if (!t) throw TensorError("DEV: " + llvm::toString(t.takeError()));
  return *t;
}

DType promote(DType a, DType b) {
  if (a == b) return a;
  auto kind = [](DType d) { return uops::is_bool(d) ? 0 : uops::is_float(d) ? 2 : 1; };
  if (kind(a) != kind(b)) return kind(a) > kind(b) ? a : b;
  if (uops::is_float(a)) return uops::bits(a) == uops::bits(b) ? DType::f32 : uops::bits(a) > uops::bits(b) ? a : b;
  if (a == DType::index || b == DType::index) return DType::index;
  if (uops::is_signed(a) == uops::is_signed(b)) return uops::bits(a) > uops::bits(b) ? a : b;
  DType s = uops::is_signed(a) ? a : b, u = uops::is_signed(a) ? b : a;
  if (uops::bits(s) > uops::bits(u)) return s;
  switch (uops::bits(u)) { // the next signed type that holds both, as numpy
  case 8: return DType::i16;
  case 16: return DType::i32;
  case 32: return DType::i64;
  default: return DType::f64;
  }
}

int64_t Tensor::axis(int64_t a) const {
  // a 0-d tensor takes axis 0 or -1, as in PyTorch
  int64_t n = ndim(), lim = std::max<int64_t>(n, 1);
  if (a < -lim || a >= lim) throw TensorError(fmt::format("axis {} is out of range for {} dimensions", a, n));
  return a < 0 ? a + lim : a;
}

void Tensor::copy_out(void* dst) const {
  runtime::Buffer& b = runtime::buffer(buffer());
  if (b.size > 0) std::memcpy(dst, b.data, size_t(b.size) * std::max(1, uops::bits(b.dtype) / 8)); // dst may be null
}

std::vector<uint8_t> Tensor::bytes() const {
  std::vector<uint8_t> out(size_t(numel()) * size_t(std::max(1, uops::bits(dtype()) / 8)));
  copy_out(out.data());
  return out;
}

double Tensor::item() const {
  if (numel() != 1) throw TensorError(fmt::format("item() needs one element, the tensor has {}", numel()));
  return to_vector<double>()[0];
}

Tensor Tensor::to(const runtime::Target* d) const { return Tensor(uop(), d); }

Tensor Tensor::to(std::string_view target_name) const {
  auto t = runtime::find_target(target_name);
  if (!t) throw TensorError("to: " + llvm::toString(t.takeError()));
  return to(*t);
}

} // namespace patgrad
