// Movement ops: views of a tensor's elements in another arrangement, checked and then recorded as UOps.
#include "frontend/tensor.h"
#include <fmt/format.h>

namespace patgrad {

using uops::Op;

Tensor Tensor::reshape(Shape s) const {
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == -1) {
      if (infer >= 0) throw TensorError("reshape: more than one -1");
      infer = int64_t(i);
    } else known *= s[i];
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known) throw TensorError(fmt::format("reshape: cannot infer -1 for {} elements", numel()));
    s[infer] = numel() / known;
  }
  if (s == shape_) return *this;
  return make(Op::RESHAPE, dtype(), {uop}, uops::Ints(s.begin(), s.end()), device_, "reshape");
}

Tensor Tensor::permute(const Shape& order) const {
  uops::Ints o;
  for (int64_t a : order) o.push_back(axis(a));
  return make(Op::PERMUTE, dtype(), {uop}, o, device_, "permute");
}

Tensor Tensor::expand(Shape s) const {
  if (s.size() < shape_.size()) throw TensorError("expand: fewer dimensions than the tensor has");
  Tensor t = shape_.size() < s.size() ? [&] {
    Shape padded(s.size() - shape_.size(), 1);
    padded.insert(padded.end(), shape_.begin(), shape_.end());
    return reshape(padded);
  }() : *this;
  for (size_t i = 0; i < s.size(); i++)
    if (s[i] == -1) s[i] = t.shape_[i];
  if (s == t.shape_) return t;
  return make(Op::EXPAND, dtype(), {t.uop}, uops::Ints(s.begin(), s.end()), device_, "expand");
}

Tensor Tensor::pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value) const {
  if (padding.size() != shape_.size()) throw TensorError("pad: needs one (before, after) pair per dimension");
  uops::Ints a;
  for (auto [b, e] : padding) a.push_back(b), a.push_back(e);
  Tensor p = make(Op::PAD, dtype(), {uop}, a, device_, "pad");
  if (value == 0) return p;
  // the padded region takes value: a mask of the original region selects between the two
  Tensor inside = make(Op::PAD, DType::bool_, {full(shape_, 1, DType::bool_).uop}, a, device_, "pad");
  return inside.where(p, full(p.shape(), value, dtype()));
}

Tensor Tensor::shrink(const std::vector<std::pair<int64_t, int64_t>>& ranges) const {
  if (ranges.size() != shape_.size()) throw TensorError("shrink: needs one (begin, end) pair per dimension");
  uops::Ints a;
  for (auto [b, e] : ranges) a.push_back(b), a.push_back(e);
  return make(Op::SHRINK, dtype(), {uop}, a, device_, "shrink");
}

Tensor Tensor::flip(const Shape& axes) const {
  uops::Ints flags(shape_.size(), 0);
  for (int64_t a : axes) flags[axis(a)] = 1;
  return make(Op::FLIP, dtype(), {uop}, flags, device_, "flip");
}

Tensor Tensor::contiguous() const { return make(Op::CONTIGUOUS, dtype(), {uop}, {}, device_, "contiguous"); }

} // namespace patgrad
