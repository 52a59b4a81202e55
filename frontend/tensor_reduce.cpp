// Reductions over axes. Integers and bool sum and multiply into i64 (u64 stays u64), as numpy and PyTorch do, so a
// sum of many small values does not wrap at 32 bits; f16 and bf16 accumulate in f32 and round once at the end. The
// REDUCE_AXIS primitive has ADD, MUL and MAX; the rest are built from them: min is max under an order-reversing map,
// statistics and softmax are elementwise math around sums.
#include "frontend/tensor_internal.h"
#include <fmt/format.h>

namespace patgrad {

using uops::Op;

namespace {

using detail::shape_str;

// The reduced axes, normalized; none given: all. A scalar takes axis 0 or -1 and reduces nothing, as in PyTorch.
Shape reduced_axes(const Tensor& t, const Shape& axes, const char* what) {
  int64_t n = std::max<int64_t>(t.ndim(), 1);
  Shape out;
  for (int64_t a : axes) {
    if (a < -n || a >= n)
      throw TensorError(fmt::format("{}: axis {} is out of range for {}", what, a, shape_str(t.shape())));
    int64_t ax = a < 0 ? a + n : a;
    if (std::find(out.begin(), out.end(), ax) != out.end())
      throw TensorError(fmt::format("{}: axis {} appears twice", what, ax));
    out.push_back(ax);
  }
  if (axes.empty())
    for (int64_t i = 0; i < t.ndim(); i++) out.push_back(i);
  if (t.ndim() == 0) out.clear();
  return out;
}

int64_t count(const Tensor& t, const Shape& axes) {
  int64_t c = 1;
  for (int64_t a : axes) c *= t.shape()[a];
  return c;
}

// Without an identity there is no answer for zero elements.
void check_nonempty(const Tensor& t, const Shape& axes, const char* what) {
  for (int64_t a : axes)
    if (t.shape()[a] == 0)
      throw TensorError(
          fmt::format("{}: cannot reduce axis {} of {}: it has no elements", what, a, shape_str(t.shape())));
}

Shape drop_axes(const Shape& shape, const Shape& axes) {
  Shape out;
  for (size_t i = 0; i < shape.size(); i++)
    if (std::find(axes.begin(), axes.end(), int64_t(i)) == axes.end()) out.push_back(shape[i]);
  return out;
}

Tensor reduce(const Tensor& t, Op op, const Shape& axes, bool keepdim, const char* what) {
  uops::Ints arg{int64_t(op)};
  arg.insert(arg.end(), axes.begin(), axes.end());
  DType d = t.dtype(), acc = d;
  if (uops::is_bool(d) || (uops::is_int(d) && d != DType::u64)) acc = op == Op::MAX ? d : DType::i64;
  if (d == DType::f16 || d == DType::bf16) acc = DType::f32;
  Tensor src = t.cast(acc);
  // A float sum or max of everything, of a million elements or more: first over parts of it (up to 64), then over
  // the parts. The parts are a kernel's output axis, which the cores share; one number has no axis to share.
  // (checked: a shape with an empty axis may have others whose product passes int64)
  int64_t n = uops::checked_prod(t.shape()).value_or(0), parts = 1;
  if (uops::is_float(acc) && op != Op::MUL && int64_t(axes.size()) == t.ndim() && n >= (1 << 20))
    for (int64_t p = 64; p > 1 && parts == 1; p--)
      if (n % p == 0) parts = p;
  if (parts > 1) {
    Tensor part = Tensor::make(Op::REDUCE_AXIS, acc, {src.reshape({parts, n / parts}).uop()},
                               uops::Ints{int64_t(op), 1}, t.device(), what);
    Tensor whole = Tensor::make(Op::REDUCE_AXIS, acc, {part.uop()}, uops::Ints{int64_t(op), 0}, t.device(), what);
    Tensor r = whole.reshape(Shape(size_t(t.ndim()), 1));
    if (d == DType::f16 || d == DType::bf16) r = r.cast(d);
    return keepdim ? r : r.reshape(drop_axes(t.shape(), axes));
  }
  Tensor r = axes.empty() ? src : Tensor::make(Op::REDUCE_AXIS, acc, {src.uop()}, arg, t.device(), what);
  if (d == DType::f16 || d == DType::bf16) r = r.cast(d);
  return keepdim ? r : r.reshape(drop_axes(t.shape(), axes));
}

// An order-reversing bijection: -x for floats, ~x for integers and bool (exact, where -x wraps at the minimum).
Tensor reverse_order(const Tensor& t) {
  if (uops::is_float(t.dtype())) return t.neg();
  return t.bitwise_xor(Tensor::full({}, uops::is_bool(t.dtype()) ? 1 : -1, t.dtype()).to(t.device()));
}

// Float math runs in f32 at least; the result is the input's float dtype, or f32 for integers and bool.
Tensor compute_float(const Tensor& t) {
  return uops::bits(t.dtype()) >= 32 && uops::is_float(t.dtype()) ? t : t.cast(DType::f32);
}
DType result_float(DType d) { return uops::is_float(d) ? d : DType::f32; }

// max and the sum of exp(x - max), both keeping their axes; an infinite max is replaced by 0 so that x - max is
// never inf - inf (all -inf gives sum 0, whose log is the right -inf).
std::pair<Tensor, Tensor> max_and_sumexp(const Tensor& x, const Shape& axes) {
  Tensor m = reduce(x, Op::MAX, axes, true, "logsumexp"), zero = Tensor::full({}, 0, m.dtype()).to(m.device());
  Tensor shift = (m - m).eq(zero).where(m, zero);
  return {shift, reduce((x - shift).exp(), Op::ADD, axes, true, "logsumexp")};
}

// The variance of a float tensor (f32 or f64) over normalized axes.
Tensor variance(const Tensor& x, const Shape& axes, bool keepdim, double correction) {
  int64_t n = count(x, axes);
  Tensor d = x - reduce(x, Op::ADD, axes, true, "var") / double(n);
  return reduce(d * d, Op::ADD, axes, keepdim, "var") / std::max(0.0, double(n) - correction);
}

// The index of the first largest element along axis; NaN counts as largest.
Tensor arg_first_max(const Tensor& x, int64_t axis, bool keepdim, const char* what) {
  Shape axes = reduced_axes(x, {axis}, what);
  check_nonempty(x, axes, what);
  const runtime::Target* dev = x.device();
  if (axes.empty()) return Tensor::zeros({}, DType::i64).to(dev);
  int64_t a = axes[0], n = x.shape()[a];
  Tensor m = reduce(x, Op::MAX, axes, true, what);
  Tensor hit = x.eq(m);
  if (uops::is_float(x.dtype())) hit = hit.logical_or(x.ne(x));
  // the first hit has the largest countdown n - i
  Shape along(size_t(x.ndim()), 1);
  along[a] = n;
  Tensor countdown = Tensor::arange(double(n), 0, -1, DType::i64).reshape(along).to(dev);
  Tensor first = reduce(hit.where(countdown, Tensor::full({}, 0, DType::i64).to(dev)), Op::MAX, axes, keepdim, what);
  return Tensor::full({}, double(n), DType::i64).to(dev) - first;
}

} // namespace

Tensor Tensor::sum(const Shape& axes, bool keepdim) const {
  return reduce(*this, Op::ADD, reduced_axes(*this, axes, "sum"), keepdim, "sum");
}

Tensor Tensor::prod(const Shape& axes, bool keepdim) const {
  return reduce(*this, Op::MUL, reduced_axes(*this, axes, "prod"), keepdim, "prod");
}

Tensor Tensor::max(const Shape& axes, bool keepdim) const {
  Shape ax = reduced_axes(*this, axes, "max");
  check_nonempty(*this, ax, "max");
  return reduce(*this, Op::MAX, ax, keepdim, "max");
}

Tensor Tensor::min(const Shape& axes, bool keepdim) const {
  Shape ax = reduced_axes(*this, axes, "min");
  check_nonempty(*this, ax, "min");
  return reverse_order(reduce(reverse_order(*this), Op::MAX, ax, keepdim, "min"));
}

Tensor Tensor::mean(const Shape& axes, bool keepdim) const {
  Shape ax = reduced_axes(*this, axes, "mean");
  Tensor s = reduce(compute_float(*this), Op::ADD, ax, keepdim, "mean");
  return (s / double(count(*this, ax))).cast(result_float(dtype()));
}

Tensor Tensor::var(const Shape& axes, bool keepdim, double correction) const {
  Shape ax = reduced_axes(*this, axes, "var");
  return variance(compute_float(*this), ax, keepdim, correction).cast(result_float(dtype()));
}

Tensor Tensor::std(const Shape& axes, bool keepdim, double correction) const {
  Shape ax = reduced_axes(*this, axes, "std");
  return variance(compute_float(*this), ax, keepdim, correction).sqrt().cast(result_float(dtype()));
}

Tensor Tensor::argmax() const { return flatten().argmax(0); }
Tensor Tensor::argmax(int64_t axis, bool keepdim) const { return arg_first_max(*this, axis, keepdim, "argmax"); }
Tensor Tensor::argmin() const { return flatten().argmin(0); }
Tensor Tensor::argmin(int64_t axis, bool keepdim) const {
  return arg_first_max(reverse_order(*this), axis, keepdim, "argmin");
}

Tensor Tensor::any(const Shape& axes, bool keepdim) const {
  Tensor nonzero = dtype() == DType::bool_ ? *this : ne(full({}, 0, dtype()).to(device()));
  return reduce(nonzero, Op::MAX, reduced_axes(*this, axes, "any"), keepdim, "any");
}

Tensor Tensor::all(const Shape& axes, bool keepdim) const {
  Tensor zero = eq(full({}, 0, dtype()).to(device()));
  return reverse_order(reduce(zero, Op::MAX, reduced_axes(*this, axes, "all"), keepdim, "all"));
}

Tensor Tensor::cumsum(int64_t axis) const {
  Shape ax = reduced_axes(*this, {axis}, "cumsum");
  if (ax.empty() || shape()[ax[0]] <= 1) return reduce(*this, Op::ADD, {}, false, "cumsum");
  // Each output of the window sum below adds up to n elements, n^2 work in all: a long axis is cut into blocks,
  // summed within each block, and each block adds the sum of the blocks before it (a shorter cumsum, the same way).
  // n log n work, and an output's rounding error grows with log n.
  constexpr int64_t block = 64;
  int64_t a = ax[0], n = shape()[a];
  if (n > block) {
    Tensor x = transpose(a, -1);
    Shape lead(x.shape().begin(), x.shape().end() - 1), blocked = lead, flat = lead;
    int64_t m = (n + block - 1) / block;
    blocked.insert(blocked.end(), {m, block});
    flat.push_back(m * block);
    std::vector<std::pair<int64_t, int64_t>> pads(lead.size(), {0, 0}), keep_n, last, before;
    for (int64_t d : lead) keep_n.push_back({0, d}), last.push_back({0, d}), before.push_back({0, d});
    pads.push_back({0, m * block - n});
    Tensor within = x.pad(pads).reshape(blocked).cumsum(-1);
    last.insert(last.end(), {{0, m}, {block - 1, block}});
    Tensor totals = within.shrink(last).reshape(Shape(blocked.begin(), blocked.end() - 1));
    pads.back() = {1, 0};
    before.push_back({0, m});
    Tensor offsets = totals.cumsum(-1).pad(pads).shrink(before).unsqueeze(-1);
    keep_n.push_back({0, n});
    return (within + offsets).reshape(flat).shrink(keep_n).transpose(a, -1);
  }
  // with the axis last and n-1 zeros in front, row i of the (n, n) view [i][c] = x[i + c - (n-1)] holds the
  // window ending at i: a (n+1, 2n-1) tiling read with row stride 2n shifts each row by one more
  int64_t len = 2 * n - 1;
  Tensor x = transpose(a, -1);
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  auto with = [&](std::initializer_list<int64_t> tail) {
    Shape s = lead;
    s.insert(s.end(), tail);
    return s;
  };
  std::vector<std::pair<int64_t, int64_t>> pads(lead.size(), {0, 0}), rows, cols;
  pads.push_back({n - 1, 0});
  for (int64_t d : lead) rows.push_back({0, d}), cols.push_back({0, d});
  rows.push_back({0, n * (len + 1)});
  cols.insert(cols.end(), {{0, n}, {0, n}});
  Tensor windows = x.pad(pads).unsqueeze(-2).expand(with({n + 1, len})).reshape(with({(n + 1) * len}));
  windows = windows.shrink(rows).reshape(with({n, len + 1})).shrink(cols);
  return reduce(windows, Op::ADD, {x.ndim()}, false, "cumsum").transpose(a, -1);
}

Tensor Tensor::softmax(int64_t axis) const {
  Shape ax = reduced_axes(*this, {axis}, "softmax");
  Tensor x = compute_float(*this);
  Tensor e = (x - reduce(x, Op::MAX, ax, true, "softmax")).exp();
  return (e / reduce(e, Op::ADD, ax, true, "softmax")).cast(result_float(dtype()));
}

Tensor Tensor::log_softmax(int64_t axis) const {
  Shape ax = reduced_axes(*this, {axis}, "log_softmax");
  Tensor x = compute_float(*this);
  auto [m, s] = max_and_sumexp(x, ax);
  return (x - m - s.log()).cast(result_float(dtype()));
}

Tensor Tensor::logsumexp(const Shape& axes, bool keepdim) const {
  Shape ax = reduced_axes(*this, axes, "logsumexp");
  auto [m, s] = max_and_sumexp(compute_float(*this), ax);
  Tensor lse = m + s.log();
  return (keepdim ? lse : lse.reshape(drop_axes(shape(), ax))).cast(result_float(dtype()));
}

} // namespace patgrad
