// Indexing: Python slices (movement ops only, so they fuse) and gather (a one-hot selection summed over the axis),
// and the range check of index values that every op selecting by them shares.
#include "frontend/tensor_internal.h"
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace patgrad {

namespace {

using detail::from_bits;
using detail::shape_str;
using detail::to_bits;
using uops::Op;

// Which positions of an axis of size n a slice takes: start + k * step for k < count.
struct Taken {
  int64_t start, step, count;
};

// Python's slice.indices(n) and len(range(...)): bounds clamp to the axis, negative ones count from the end.
Taken positions(const Tensor::Slice& s, int64_t n) {
  auto bound = [&](std::optional<int64_t> v, int64_t fallback, int64_t lo, int64_t hi) {
    if (!v) return fallback;
    int64_t b = *v < 0 ? *v + n : *v;
    return std::clamp(b, lo, hi);
  };
  // a step longer than the axis takes what a step of the axis's length takes, and cannot overflow below
  int64_t step = std::clamp(s.step, -std::max<int64_t>(n, 1), std::max<int64_t>(n, 1));
  if (step > 0) {
    int64_t start = bound(s.start, 0, 0, n), stop = bound(s.stop, n, 0, n);
    return {start, step, stop > start ? (stop - start + step - 1) / step : 0};
  }
  // going down, -1 stands for "before position 0"
  int64_t start = bound(s.start, n - 1, -1, n - 1), stop = bound(s.stop, -1, -1, n - 1);
  return {start, step, start > stop ? (start - stop - step - 1) / -step : 0};
}

// Read at each check rather than once, so that a test can turn it on for one scope.
bool checks_wanted() {
  const char* s = std::getenv("PATGRAD_CHECK");
  return s && *s && std::string_view(s) != "0";
}

// Where an index's values are known without running a kernel: a buffer, and the integer casts (innermost first)
// between it and the index. Every other op on the way keeps each value: moves (a non-empty expand repeats values),
// detaching. A cast between integers (or from bool) maps each value on its own, wrapping, as the host does below.
struct KnownValues {
  uops::UOp buffer; // null when the values are not known
  llvm::SmallVector<DType, 2> casts;
};

KnownValues known_values(const Tensor& index) {
  KnownValues k;
  if (index.numel() == 0) return k;
  uops::UOp u = index.uop();
  for (;; u = u->src[0]) {
    if (u->op == Op::CAST && uops::is_fixed_int(u->dtype) &&
        (uops::is_fixed_int(u->src[0]->dtype) || uops::is_bool(u->src[0]->dtype)))
      k.casts.insert(k.casts.begin(), u->dtype);
    else if (u->op != Op::RESHAPE && u->op != Op::PERMUTE && u->op != Op::EXPAND && u->op != Op::FLIP &&
             u->op != Op::DETACH)
      break;
  }
  if (u->op == Op::BUFFER)
    k.buffer = u;
  else
    k.casts.clear(); // PATGRAD_CHECK computes the index itself
  return k;
}

// Calls visit on each element of a buffer of T until it returns true.
template <typename T>
void scan(const runtime::Buffer& b, llvm::function_ref<bool(__int128)> visit) {
  const T* v = static_cast<const T*>(b.data);
  for (int64_t i = 0; i < b.size && !visit(v[i]); i++) {
  }
}

} // namespace

void detail::check_indices(const Tensor& index, int64_t size,
                           llvm::function_ref<std::string(const std::string&)> message,
                           std::optional<int64_t> ignored) {
  KnownValues k = known_values(index);
  if (!k.buffer && !checks_wanted()) return;
  const runtime::Buffer& b = runtime::buffer(k.buffer ? k.buffer : index.buffer());
  auto in_dtype = [](DType d, __int128 v) { return uops::as_wide(d, uops::int_value(d, v)); };
  // ignore_index is compared in the index's dtype, as the ops compare it (-100 is 156 in u8)
  std::optional<__int128> skip = ignored ? std::optional(in_dtype(index.dtype(), *ignored)) : std::nullopt;
  std::optional<__int128> bad;
  auto visit = [&](__int128 v) {
    for (DType c : k.casts) v = in_dtype(c, v);
    if (v != skip && (v < 0 || v >= size)) bad = v;
    return bad.has_value();
  };
  switch (b.dtype) {
  case DType::bool_:
  case DType::u8: scan<uint8_t>(b, visit); break;
  case DType::i8: scan<int8_t>(b, visit); break;
  case DType::i16: scan<int16_t>(b, visit); break;
  case DType::i32: scan<int32_t>(b, visit); break;
  case DType::i64: scan<int64_t>(b, visit); break;
  case DType::u16: scan<uint16_t>(b, visit); break;
  case DType::u32: scan<uint32_t>(b, visit); break;
  case DType::u64: scan<uint64_t>(b, visit); break;
  default: llvm_unreachable("index values are integers: the ops check the dtype, and only integer casts are seen");
  }
  if (bad) throw TensorError(message(uops::format_wide(*bad)));
}

Tensor Tensor::slice(const std::vector<Slice>& slices) const {
  if (slices.size() > shape().size())
    throw TensorError(fmt::format("slice: {} slices for {}", slices.size(), shape_str(shape())));
  // per axis: flip where the step is negative, shrink to the taken span, pad it to count * step, split it into
  // (count, step) and keep the first of each step; then drop the axes an index picked
  Shape flips, split_shape, out_shape;
  std::vector<std::pair<int64_t, int64_t>> span, pad, keep;
  for (size_t i = 0; i < shape().size(); i++) {
    int64_t n = shape()[i];
    Slice s = i < slices.size() ? slices[i] : Slice();
    if (s.is_index) {
      if (!s.start) throw TensorError(fmt::format("slice: the index on axis {} has no position", i));
      int64_t at = *s.start < 0 ? *s.start + n : *s.start;
      if (at < 0 || at >= n)
        throw TensorError(
            fmt::format("slice: index {} is out of range for axis {} of {}", *s.start, i, shape_str(shape())));
      s = Slice(at, at + 1);
    }
    if (s.step == 0) throw TensorError(fmt::format("slice: step is zero on axis {}", i));
    Taken t = positions(s, n);
    if (t.step < 0) flips.push_back(int64_t(i)), t = {n - 1 - t.start, -t.step, t.count};
    int64_t begin = t.count ? t.start : 0, end = std::min(n, begin + t.count * t.step);
    span.push_back({begin, end});
    pad.push_back({0, t.count * t.step - (end - begin)});
    split_shape.push_back(t.count), keep.push_back({0, t.count});
    if (t.step > 1) split_shape.push_back(t.step), keep.push_back({0, 1});
    if (!(i < slices.size() && slices[i].is_index)) out_shape.push_back(t.count);
  }
  return flip(flips).shrink(span).pad(pad).reshape(split_shape).shrink(keep).reshape(out_shape);
}

Tensor Tensor::gather(int64_t axis, const Tensor& index) const {
  if (!uops::is_int(index.dtype()) || index.dtype() == DType::index)
    throw TensorError(fmt::format("gather: index is {}, not an integer dtype", uops::name(index.dtype())));
  if (index.ndim() != ndim())
    throw TensorError(
        fmt::format("gather: index {} and input {} differ in axes", shape_str(index.shape()), shape_str(shape())));
  int64_t n = ndim(), a = axis < 0 ? axis + std::max<int64_t>(n, 1) : axis;
  if (a < 0 || a >= std::max<int64_t>(n, 1))
    throw TensorError(fmt::format("gather: axis {} is out of range for {}", axis, shape_str(shape())));
  int64_t size = n == 0 ? 1 : shape()[a];
  detail::check_indices(index, size, [&](const std::string& v) {
    return fmt::format("gather: index {} out of range for dimension {} of size {}", v, a, size);
  });
  if (index.device() != device()) return gather(axis, index.to(device()));
  if (n == 0) return reshape({1}).gather(0, index.reshape({1})).reshape({});
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t i = 0; i < n; i++) {
    if (i != a && index.shape()[i] > shape()[i])
      throw TensorError(fmt::format("gather: index {} is larger than input {} on axis {}", shape_str(index.shape()),
                                    shape_str(shape()), i));
    ranges.push_back({0, i == a ? shape()[i] : index.shape()[i]});
  }
  // values[..., j] = this at position j of axis, elsewhere at the output's position: index's shape plus (size,)
  Shape order;
  for (int64_t i = 0; i < n; i++)
    if (i != a) order.push_back(i);
  order.push_back(a);
  Shape wide = index.shape();
  wide.push_back(shape()[a]);
  Tensor hit = index.unsqueeze(-1).eq(arange(0, double(shape()[a]), 1, DType::i64).to(device()));
  // At most one hit per output. Floats take the max of the chosen value and -infs: exact (-0.0 and NaN too) and
  // differentiable (the max's gradient goes to the chosen element); other dtypes add the chosen bits to zero bits.
  bool flt = uops::is_float(dtype());
  Tensor values = (flt ? *this : to_bits(*this)).shrink(ranges).permute(order).unsqueeze(a).expand(wide);
  Tensor picked = flt ? hit.any({-1}).where(hit.where(values, full({}, -INFINITY, dtype()).to(device())).max({-1}),
                                            full({}, 0, dtype()).to(device()))
                      : hit.where(values, full({}, 0, values.dtype()).to(device())).sum({-1}).cast(values.dtype());
  return flt ? picked : from_bits(picked, dtype());
}

} // namespace patgrad
