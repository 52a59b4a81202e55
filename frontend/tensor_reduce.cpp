// Reductions over axes. Small integers and bool sum in i32 (like PyTorch's int promotion, narrower); f16 and bf16
// accumulate in f32 and round once at the end.
#include "frontend/tensor.h"

namespace patgrad {

using uops::Op;

namespace {

Tensor reduce(const Tensor& t, Op op, const Shape& axes, bool keepdim, const char* what) {
  uops::Ints arg{int64_t(op)};
  if (axes.empty())
    for (int64_t i = 0; i < t.ndim(); i++) arg.push_back(i);
  for (int64_t a : axes) {
    int64_t ax = t.axis(a);
    if (std::find(arg.begin() + 1, arg.end(), ax) != arg.end()) continue;
    arg.push_back(ax);
  }
  DType d = t.dtype(), acc = d;
  if (uops::is_bool(d) || (uops::is_int(d) && uops::bits(d) < 32)) acc = op == Op::MAX ? d : DType::i32;
  if (d == DType::f16 || d == DType::bf16) acc = DType::f32;
  Tensor src = t.cast(acc);
  Tensor r = arg.size() == 1 ? src : Tensor::make(Op::REDUCE_AXIS, acc, {src.uop}, arg, t.device(), what);
  if (d == DType::f16 || d == DType::bf16) r = r.cast(d);
  if (keepdim) return r;
  Shape out;
  for (int64_t i = 0; i < t.ndim(); i++)
    if (std::find(arg.begin() + 1, arg.end(), i) == arg.end()) out.push_back(r.shape()[i]);
  return r.reshape(out);
}

} // namespace

Tensor Tensor::sum(const Shape& axes, bool keepdim) const { return reduce(*this, Op::ADD, axes, keepdim, "sum"); }
Tensor Tensor::max(const Shape& axes, bool keepdim) const { return reduce(*this, Op::MAX, axes, keepdim, "max"); }
Tensor Tensor::prod(const Shape& axes, bool keepdim) const { return reduce(*this, Op::MUL, axes, keepdim, "prod"); }

} // namespace patgrad
