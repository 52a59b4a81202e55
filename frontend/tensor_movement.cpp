// Movement ops: views of a tensor's elements in another arrangement, checked and then recorded as UOps. Everything
// here is index arithmetic after scheduling, so it fuses into whatever consumes it.
#include "frontend/tensor_internal.h"
#include <fmt/format.h>
#include <numeric>

namespace patgrad {

using uops::Op;

namespace {

using detail::from_bits;
using detail::shape_str;
using detail::to_bits;

// Tensor::axis, with the op and the shape in its message. A scalar takes axis 0 or -1, as in PyTorch.
int64_t axis_of(const Tensor& t, int64_t a, const char* what) {
  int64_t n = std::max<int64_t>(t.ndim(), 1);
  if (a < -n || a >= n)
    throw TensorError(fmt::format("{}: axis {} is out of range for {}", what, a, shape_str(t.shape())));
  return a < 0 ? a + n : a;
}

Shape distinct_axes(const Tensor& t, const Shape& axes, const char* what) {
  Shape out;
  for (int64_t a : axes) {
    int64_t ax = axis_of(t, a, what);
    if (std::find(out.begin(), out.end(), ax) != out.end())
      throw TensorError(fmt::format("{}: axis {} appears twice", what, ax));
    out.push_back(ax);
  }
  return out;
}

} // namespace

Tensor Tensor::reshape(Shape s) const {
  int64_t infer = -1;
  Shape given;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == -1) {
      if (infer >= 0) throw TensorError(fmt::format("reshape: more than one -1 in {}", shape_str(s)));
      infer = int64_t(i);
    } else if (s[i] < 0)
      throw TensorError(fmt::format("reshape: negative size in {}", shape_str(s)));
    else
      given.push_back(s[i]);
  }
  // a product past int64 can never match this tensor's count: checked, so it cannot wrap around to it
  std::optional<int64_t> known = uops::checked_prod(given);
  if (!known) throw TensorError(fmt::format("reshape: {} has more than 2^63-1 elements", shape_str(s)));
  if (infer >= 0) {
    if (*known == 0 || numel() % *known)
      throw TensorError(fmt::format("reshape: cannot reshape {} to {}", shape_str(shape()), shape_str(s)));
    s[infer] = numel() / *known;
  }
  if (s == shape()) return *this;
  if (infer < 0 && *known != numel())
    throw TensorError(fmt::format("reshape: cannot reshape {} to {}", shape_str(shape()), shape_str(s)));
  return make(Op::RESHAPE, dtype(), {uop()}, uops::Ints(s.begin(), s.end()), device(), "reshape");
}

Tensor Tensor::permute(const Shape& order) const {
  if (order.size() != shape().size())
    throw TensorError(
        fmt::format("permute: {} does not order the {} axes of {}", shape_str(order), ndim(), shape_str(shape())));
  Shape o = distinct_axes(*this, order, "permute");
  return make(Op::PERMUTE, dtype(), {uop()}, uops::Ints(o.begin(), o.end()), device(), "permute");
}

Tensor Tensor::expand(Shape s) const {
  if (s.size() < shape().size())
    throw TensorError(fmt::format("expand: cannot expand {} to fewer axes {}", shape_str(shape()), shape_str(s)));
  Shape padded(s.size() - shape().size(), 1);
  padded.insert(padded.end(), shape().begin(), shape().end());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == -1) s[i] = padded[i];
    if (s[i] < 0 || (padded[i] != s[i] && padded[i] != 1))
      throw TensorError(fmt::format("expand: cannot expand {} to {}", shape_str(shape()), shape_str(s)));
  }
  Tensor t = reshape(padded);
  if (s == t.shape()) return t;
  return make(Op::EXPAND, dtype(), {t.uop()}, uops::Ints(s.begin(), s.end()), device(), "expand");
}

Tensor Tensor::pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value) const {
  if (padding.size() != shape().size())
    throw TensorError(fmt::format("pad: {} (before, after) pairs for {}", padding.size(), shape_str(shape())));
  uops::Ints a;
  for (auto [b, e] : padding) {
    if (b < 0 || e < 0)
      throw TensorError(fmt::format("pad: negative padding ({}, {}) for {}", b, e, shape_str(shape())));
    a.push_back(b), a.push_back(e);
  }
  if (std::all_of(a.begin(), a.end(), [](int64_t x) { return x == 0; })) return *this;
  Tensor p = make(Op::PAD, dtype(), {uop()}, a, device(), "pad");
  if (value == 0) return p;
  // the padded region takes value: a mask of the original region selects between the two
  Tensor inside = make(Op::PAD, DType::bool_, {full(shape(), 1, DType::bool_).uop()}, a, device(), "pad");
  return inside.where(p, full(p.shape(), value, dtype()));
}

Tensor Tensor::shrink(const std::vector<std::pair<int64_t, int64_t>>& ranges) const {
  if (ranges.size() != shape().size())
    throw TensorError(fmt::format("shrink: {} (begin, end) pairs for {}", ranges.size(), shape_str(shape())));
  uops::Ints a;
  for (size_t i = 0; i < ranges.size(); i++) {
    auto [b, e] = ranges[i];
    if (!(0 <= b && b <= e && e <= shape()[i]))
      throw TensorError(fmt::format("shrink: range [{}, {}) does not fit axis {} of {}", b, e, i, shape_str(shape())));
    a.push_back(b), a.push_back(e);
  }
  if (std::equal(ranges.begin(), ranges.end(), shape().begin(), [](auto r, int64_t n) {
        return r == std::pair<int64_t, int64_t>{0, n};
      }))
    return *this;
  return make(Op::SHRINK, dtype(), {uop()}, a, device(), "shrink");
}

Tensor Tensor::flip(const Shape& axes) const {
  uops::Ints flags(shape().size(), 0);
  Shape flipped = distinct_axes(*this, axes, "flip");
  if (shape().empty() || flipped.empty()) return *this;
  for (int64_t a : flipped) flags[a] = 1;
  return make(Op::FLIP, dtype(), {uop()}, flags, device(), "flip");
}

Tensor Tensor::contiguous() const { return make(Op::CONTIGUOUS, dtype(), {uop()}, {}, device(), "contiguous"); }

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  int64_t x = axis_of(*this, a, "transpose"), y = axis_of(*this, b, "transpose");
  if (shape().empty()) return *this;
  Shape order(shape().size());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[x], order[y]);
  return permute(order);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (shape().empty()) return reshape({1}); // as PyTorch: a scalar flattens to one element
  int64_t s = axis_of(*this, start, "flatten"), e = axis_of(*this, end, "flatten");
  if (s > e) throw TensorError(fmt::format("flatten: start axis {} comes after end axis {}", start, end));
  Shape out(shape().begin(), shape().begin() + s);
  out.push_back(uops::prod(llvm::ArrayRef(shape()).slice(s, e - s + 1)));
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::squeeze() const {
  Shape out;
  for (int64_t d : shape())
    if (d != 1) out.push_back(d);
  return reshape(out);
}

Tensor Tensor::squeeze(int64_t axis) const {
  int64_t a = axis_of(*this, axis, "squeeze");
  if (shape().empty()) return *this;
  if (shape()[a] != 1)
    throw TensorError(fmt::format("squeeze: axis {} of {} has size {}, not 1", axis, shape_str(shape()), shape()[a]));
  Shape out = shape();
  out.erase(out.begin() + a);
  return reshape(out);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  int64_t n = ndim();
  if (axis < -n - 1 || axis > n)
    throw TensorError(
        fmt::format("unsqueeze: axis {} is out of range for {} (from {} to {})", axis, shape_str(shape()), -n - 1, n));
  Shape out = shape();
  out.insert(out.begin() + (axis < 0 ? axis + n + 1 : axis), 1);
  return reshape(out);
}

Tensor Tensor::repeat(const Shape& reps) const {
  if (reps.size() < shape().size())
    throw TensorError(
        fmt::format("repeat: {} has fewer repeats than the axes of {}", shape_str(reps), shape_str(shape())));
  Shape s(reps.size() - shape().size(), 1);
  s.insert(s.end(), shape().begin(), shape().end());
  // (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...) holds r_i copies of each axis side by side
  Shape ones, expanded, out;
  for (size_t i = 0; i < reps.size(); i++) {
    if (reps[i] < 0) throw TensorError(fmt::format("repeat: negative repeat in {}", shape_str(reps)));
    ones.insert(ones.end(), {1, s[i]});
    expanded.insert(expanded.end(), {reps[i], s[i]});
    out.push_back(reps[i] * s[i]);
  }
  return reshape(ones).expand(expanded).reshape(out);
}

Tensor Tensor::cat(const std::vector<Tensor>& tensors, int64_t axis) {
  if (tensors.empty()) throw TensorError("cat: no tensors");
  const Tensor& first = tensors[0];
  int64_t a = axis_of(first, axis, "cat"), total = 0;
  DType d = first.dtype();
  for (const Tensor& t : tensors) {
    bool same = t.ndim() == first.ndim();
    for (int64_t i = 0; same && i < t.ndim(); i++) same = i == a || t.shape()[i] == first.shape()[i];
    if (!same || first.ndim() == 0)
      throw TensorError(fmt::format("cat: cannot join {} and {} along axis {}", shape_str(first.shape()),
                                    shape_str(t.shape()), axis));
    total += t.shape()[a];
    d = promote(d, t.dtype());
  }
  // each piece padded to the whole and chosen where it lies: one fused kernel, exact (no arithmetic on values), and
  // differentiable (WHERE has a gradient rule)
  std::optional<Tensor> out;
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    std::vector<std::pair<int64_t, int64_t>> padding(size_t(t.ndim()), {0, 0});
    padding[a] = {offset, total - offset - t.shape()[a]};
    Tensor piece = t.cast(d).pad(padding);
    out = out ? full(t.shape(), 1, DType::bool_).to(first.device()).pad(padding).where(piece, *out) : piece;
    offset += t.shape()[a];
  }
  return *out;
}

Tensor Tensor::stack(const std::vector<Tensor>& tensors, int64_t axis) {
  if (tensors.empty()) throw TensorError("stack: no tensors");
  std::vector<Tensor> pieces;
  for (const Tensor& t : tensors) {
    if (t.shape() != tensors[0].shape())
      throw TensorError(
          fmt::format("stack: shapes {} and {} differ", shape_str(tensors[0].shape()), shape_str(t.shape())));
    int64_t n = t.ndim();
    if (axis < -n - 1 || axis > n)
      throw TensorError(
          fmt::format("stack: axis {} is out of range for {} (from {} to {})", axis, shape_str(t.shape()), -n - 1, n));
    pieces.push_back(t.unsqueeze(axis));
  }
  return cat(pieces, axis);
}

std::vector<Tensor> Tensor::split(int64_t size, int64_t axis) const {
  if (shape().empty()) throw TensorError("split: cannot split a scalar");
  int64_t n = shape()[axis_of(*this, axis, "split")];
  if (size <= 0 && !(size == 0 && n == 0)) throw TensorError(fmt::format("split: size {} is not positive", size));
  Shape sizes;
  for (int64_t at = 0; at < n; at += size) sizes.push_back(std::min(size, n - at));
  if (sizes.empty()) sizes.push_back(0); // as PyTorch: an empty axis splits into one empty piece
  return split(sizes, axis);
}

std::vector<Tensor> Tensor::split(const Shape& sizes, int64_t axis) const {
  if (shape().empty()) throw TensorError("split: cannot split a scalar");
  int64_t a = axis_of(*this, axis, "split"), at = 0;
  for (int64_t s : sizes)
    if (s < 0) throw TensorError(fmt::format("split: negative size in {}", shape_str(sizes)));
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != shape()[a])
    throw TensorError(
        fmt::format("split: sizes {} do not add up to axis {} of {}", shape_str(sizes), axis, shape_str(shape())));
  std::vector<Tensor> out;
  for (int64_t s : sizes) {
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int64_t i = 0; i < ndim(); i++)
      ranges.push_back(i == a ? std::pair{at, at + s} : std::pair{int64_t(0), shape()[i]});
    out.push_back(shrink(ranges));
    at += s;
  }
  return out;
}

std::vector<Tensor> Tensor::chunk(int64_t n, int64_t axis) const {
  if (n <= 0) throw TensorError(fmt::format("chunk: {} pieces is not positive", n));
  if (shape().empty()) throw TensorError("chunk: cannot split a scalar");
  int64_t size = shape()[axis_of(*this, axis, "chunk")];
  if (size == 0) return split(Shape(size_t(n), 0), axis); // as PyTorch: n empty pieces
  return split((size + n - 1) / n, axis);
}

} // namespace patgrad
