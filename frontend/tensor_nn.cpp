// Linear algebra, convolution and pooling, tinygrad style: compositions of movement ops, a broadcast multiply and a
// sum, so the scheduler fuses each into one kernel with whatever elementwise work follows (a bias add, a relu).
// Windows over the spatial axes are a view (pool_view): repeat, reshape and shrink put window position and kernel
// offset on separate axes without copying, and the index arithmetic comes out of the scheduler.
#include "frontend/autograd.h"
#include "frontend/tensor_internal.h"
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

namespace patgrad {

namespace {

using detail::shape_str;

using Pads = std::vector<std::pair<int64_t, int64_t>>;

Shape concat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// sum() widens f16/bf16 to f32 and bool and narrow integers to i32; multiplying in that dtype too keeps products
// exact before the one rounding at the end (and makes bool products countable).
DType accumulator(DType d) {
  if (d == DType::f16 || d == DType::bf16) return DType::f32;
  if (uops::is_bool(d) || (uops::is_int(d) && uops::bits(d) < 32)) return DType::i32;
  return d;
}

// sum over axes of a * b (broadcast), in the promoted dtype of a and b. A bool result is "any product is true".
Tensor product_sum(const Tensor& a, const Tensor& b, const Shape& axes) {
  DType out = promote(a.dtype(), b.dtype()), acc = accumulator(out);
  Tensor p = a.cast(acc).mul(b.cast(acc));
  return (axes.empty() ? p : p.sum(axes)).cast(out);
}

// Batch axes broadcast as numpy's; the message names the operands as the caller wrote them.
void check_batch(const Shape& a, const Shape& b, const Tensor& x, const Tensor& y, const char* what) {
  for (size_t i = 1; i <= std::min(a.size(), b.size()); i++) {
    int64_t p = a[a.size() - i], q = b[b.size() - i];
    if (p != q && p != 1 && q != 1)
      throw TensorError(fmt::format("{}: cannot broadcast the batch dimensions of {} and {}", what,
                                    shape_str(x.shape()), shape_str(y.shape())));
  }
}

// numpy's matmul of l and r, the op named `what` in messages (matmul, or dot, which tinygrad and PyTorch define so)
Tensor matrix_product(const Tensor& l, const Tensor& r, const char* what) {
  if (l.ndim() == 0 || r.ndim() == 0)
    throw TensorError(
        fmt::format("{}: cannot multiply {} by {}: a 0-d operand", what, shape_str(l.shape()), shape_str(r.shape())));
  Tensor a = l.ndim() == 1 ? l.reshape({1, l.shape()[0]}) : l, b = r.ndim() == 1 ? r.reshape({r.shape()[0], 1}) : r;
  const Shape &as = a.shape(), &bs = b.shape();
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (k != bs[bs.size() - 2])
    throw TensorError(fmt::format("{}: cannot multiply {} by {}", what, shape_str(l.shape()), shape_str(r.shape())));
  Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  check_batch(abatch, bbatch, l, r, what);
  // (..., m, 1, k) * (..., 1, n, k), summed over k
  Shape border;
  for (int64_t i = 0; i < b.ndim(); i++) border.push_back(i);
  std::swap(border[border.size() - 1], border[border.size() - 2]);
  Tensor x = a.reshape(concat(abatch, {m, 1, k})), y = b.permute(border).reshape(concat(bbatch, {1, n, k}));
  // A large right operand, packed: (n / 32, k, 32), so that a tile's 32 columns are one run of memory for every k
  // (a row of 4 KiB or a multiple of it maps each k's columns to the same cache sets); and a transposed one (a
  // Linear layer's weight, x @ w.T), whose columns are not next to each other at all, from a smaller size on
  bool transposed = b.uop()->op == uops::Op::PERMUTE;
  int64_t least = transposed ? 1 << 13 : 1 << 18; // elements of the right operand (k * n, which may pass int64)
  if (abatch.empty() && bbatch.empty() && m >= 64 && n > 0 && n % 32 == 0 && k >= (transposed ? 32 : 256) &&
      k >= (least + n - 1) / n) {
    Tensor packed = b.reshape({k, n / 32, 32}).permute({1, 0, 2}).contiguous();
    Tensor p = product_sum(a.reshape({m, 1, 1, k}), packed.permute({0, 2, 1}).reshape({1, n / 32, 32, k}), {-1});
    return p.reshape(l.ndim() == 1 ? Shape{n} : Shape{m, n});
  }
  Tensor p = product_sum(x, y, {-1});
  Shape out(p.shape().begin(), p.shape().end() - 2);
  if (l.ndim() != 1) out.push_back(m);
  if (r.ndim() != 1) out.push_back(n);
  return p.reshape(out);
}

// Pads the trailing axes with value, then crops where a pad is negative: [lo][x][hi] with a negative part cutting
// into what follows it (conv_transpose2d's padding can cut through x into the other side's padding).
Tensor pad_trailing(const Tensor& x, const Pads& p, double value) {
  size_t lead = size_t(x.ndim()) - p.size();
  Pads grow(size_t(x.ndim()), {0, 0}), crop(size_t(x.ndim()));
  for (size_t j = 0; j < p.size(); j++)
    grow[lead + j] = {std::max<int64_t>(0, p[j].first), std::max<int64_t>(0, p[j].second)};
  Tensor g = x.pad(grow, value);
  for (size_t i = 0; i < size_t(x.ndim()); i++) crop[i] = {0, g.shape()[i]};
  for (size_t j = 0; j < p.size(); j++)
    crop[lead + j] = {std::max<int64_t>(0, -p[j].first), g.shape()[lead + j] - std::max<int64_t>(0, -p[j].second)};
  return g.shrink(crop);
}

// Each axis of x repeated r times, as numpy's tile: (..., i) -> (..., r * i).
Tensor repeat_trailing(const Tensor& x, const Shape& r) {
  size_t lead = size_t(x.ndim()) - r.size();
  Shape split(x.shape().begin(), x.shape().begin() + lead), wide = split, out = split;
  for (size_t j = 0; j < r.size(); j++) {
    int64_t i = x.shape()[lead + j];
    split.insert(split.end(), {1, i}), wide.insert(wide.end(), {r[j], i}), out.push_back(r[j] * i);
  }
  return x.reshape(split).expand(wide).reshape(out);
}

// The lead axes, then each part's value for each window axis: interleave(lead, {o, k}) is (..., o1, k1, o2, k2).
Shape interleave(const Shape& lead, std::initializer_list<Shape> parts) {
  Shape r = lead;
  for (size_t j = 0; j < parts.begin()->size(); j++)
    for (const Shape& p : parts) r.push_back(p[j]);
  return r;
}

// Keeps [0, end) of each axis.
Tensor shrink_to(const Tensor& x, const Shape& ends) {
  Pads r;
  for (int64_t e : ends) r.push_back({0, e});
  return x.shrink(r);
}

// The windows over the trailing axes (i_1..i_n) of x as (..., o_1..o_n, k_1..k_n): element (o, k) is
// x[o * stride + k * dilation]. Each window must fit: d * (k - 1) < i.
Tensor pool_view(const Tensor& x, const Shape& k, const Shape& s, const Shape& d) {
  size_t n = k.size(), lead = size_t(x.ndim()) - n;
  Shape noop(x.shape().begin(), x.shape().begin() + lead), i(x.shape().begin() + lead, x.shape().end());
  Shape o(n), os(n), row(n), rows(n), rep(n), one(n, 1);
  bool overlap = false;
  for (size_t j = 0; j < n; j++) {
    o[j] = ceil_div(i[j] - d[j] * (k[j] - 1), s[j]), os[j] = o[j] * s[j];
    overlap |= k[j] > s[j] || d[j] != 1;
  }
  Shape order;
  for (size_t j = 0; j < lead; j++) order.push_back(int64_t(j));
  if (!overlap) { // cut each axis into (o, s) and keep the first k of each s
    Pads pads(n);
    for (size_t j = 0; j < n; j++) pads[j] = {0, std::max<int64_t>(0, os[j] - i[j])};
    Tensor v = shrink_to(pad_trailing(x, pads, 0), interleave(noop, {os})).reshape(interleave(noop, {o, s}));
    v = shrink_to(v, interleave(noop, {o, k}));
    for (size_t j = 0; j < n; j++) order.push_back(int64_t(lead + 2 * j));
    for (size_t j = 0; j < n; j++) order.push_back(int64_t(lead + 2 * j + 1));
    return v.permute(order);
  }
  // Overlapping windows: tile each axis, so that in a (k, row = i * f + d) reshape row a starts at x[a * d (mod i)];
  // then column o * s of row a is x[a * d + o * s]. f = 2 where o * s columns would not fit in i + d.
  for (size_t j = 0; j < n; j++) {
    row[j] = i[j] * (os[j] > i[j] - d[j] * (k[j] - 1) ? 2 : 1) + d[j], rows[j] = k[j] * row[j];
    rep[j] = ceil_div(rows[j], i[j]);
  }
  Tensor v = shrink_to(repeat_trailing(x, rep), interleave(noop, {rows})).reshape(interleave(noop, {k, row}));
  v = shrink_to(v, interleave(noop, {k, os})).reshape(interleave(noop, {k, o, s}));
  v = shrink_to(v, interleave(noop, {k, o, one})).reshape(interleave(noop, {k, o}));
  for (size_t j = 0; j < n; j++) order.push_back(int64_t(lead + 2 * j + 1));
  for (size_t j = 0; j < n; j++) order.push_back(int64_t(lead + 2 * j));
  return v.permute(order);
}

// A PyTorch-style size argument: one value for both spatial axes, or (h, w); each at least min.
Shape pair(const Shape& v, const char* what, const char* name, int64_t min) {
  if (v.size() != 1 && v.size() != 2)
    throw TensorError(fmt::format("{}: {} needs one value or two (h, w), got {}", what, name, shape_str(v)));
  Shape p = v.size() == 1 ? Shape{v[0], v[0]} : v;
  for (int64_t x : p)
    if (x < min) throw TensorError(fmt::format("{}: {} {} must be at least {}", what, name, shape_str(v), min));
  return p;
}

// Windows of the last two axes after padding: (..., oh, ow, kh, kw); the padded input must hold a dilated kernel.
Tensor windows(const Tensor& x, const Pads& pads, double value, const Shape& k, const Shape& s, const Shape& d,
               const char* what) {
  if (x.ndim() != 3 && x.ndim() != 4)
    throw TensorError(fmt::format("{}: input must be (N,C,H,W) or (C,H,W), got {}", what, shape_str(x.shape())));
  Shape in{x.shape()[size_t(x.ndim()) - 2] + pads[0].first + pads[0].second,
           x.shape().back() + pads[1].first + pads[1].second};
  for (size_t j = 0; j < 2; j++)
    if (d[j] * (k[j] - 1) + 1 > in[j])
      throw TensorError(fmt::format("{}: the padded input {} is smaller than the dilated kernel ({},{})", what,
                                    shape_str(in), d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1));
  return pool_view(pad_trailing(x, pads, value), k, s, d);
}

Pads symmetric(const Shape& p) { return {{p[0], p[0]}, {p[1], p[1]}}; }

std::vector<std::optional<Tensor>> convolve_backward(llvm::ArrayRef<int64_t> p, llvm::ArrayRef<Tensor> in,
                                                     const Tensor& g);

// The core of conv2d and conv_transpose2d: pads may be uneven or negative (crops).
Tensor convolve(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, const Shape& stride,
                const Pads& pads, const Shape& dilation, int64_t groups, const char* what) {
  bool unbatched = input.ndim() == 3;
  Tensor x = unbatched ? input.reshape(concat({1}, input.shape())) : input;
  if (x.ndim() != 4 || weight.ndim() != 4)
    throw TensorError(fmt::format("{}: needs a (N,C,H,W) or (C,H,W) input and a 4-d weight, got {} and {}", what,
                                  shape_str(input.shape()), shape_str(weight.shape())));
  if (promote(x.dtype(), weight.dtype()) == DType::bool_)
    throw TensorError(fmt::format("{}: not defined on bool", what));
  int64_t n = x.shape()[0], cout = weight.shape()[0], cin = weight.shape()[1];
  if (groups < 1 || cout % groups || cin * groups != x.shape()[1])
    throw TensorError(fmt::format("{}: weight {} with groups={} does not fit input {}: needs input channels = {} x "
                                  "groups and output channels divisible by groups",
                                  what, shape_str(weight.shape()), groups, shape_str(input.shape()), cin));
  if (bias && bias->shape() != Shape{cout})
    throw TensorError(
        fmt::format("{}: bias {} does not match {} output channels", what, shape_str(bias->shape()), cout));
  int64_t rcout = cout / groups;
  Shape k(weight.shape().begin() + 2, weight.shape().end());
  Tensor v = windows(x, pads, 0, k, stride, dilation, what); // (n, groups * cin, oh, ow, kh, kw)
  int64_t oh = v.shape()[2], ow = v.shape()[3];
  // (n, groups, rcout, oh, ow, cin, kh, kw) against the weight as (1, groups, rcout, 1, 1, cin, kh, kw)
  v = v.reshape({n, groups, cin, 1, oh, ow, k[0], k[1]}).permute({0, 1, 3, 4, 5, 2, 6, 7});
  // An output row too short to fill a vector (a small image's 6 pixels) leaves the output channels as the vector
  // side: the weight is stored channels last first (a copy of the small weight), so that its loads along them are
  // in order and the heuristic and the search can make vectors of them (MNIST's 6x6 convolution: 5.9 against 40 ms).
  Tensor w = weight.reshape({groups, rcout, cin, k[0], k[1]});
  if (ow < 16 && rcout >= 16) w = w.permute({0, 2, 3, 4, 1}).contiguous().permute({0, 4, 1, 2, 3});
  w = w.reshape({1, groups, rcout, 1, 1, cin, k[0], k[1]});
  Tensor out = product_sum(v, w, {5, 6, 7}).reshape({n, cout, oh, ow});
  static const int64_t convolution = register_function("conv2d", convolve_backward);
  out = function(convolution,
                 {stride[0], stride[1], pads[0].first, pads[0].second, pads[1].first, pads[1].second, dilation[0],
                  dilation[1], groups},
                 out, {x, weight});
  if (bias) out = out.add(bias->reshape({1, cout, 1, 1}));
  return unbatched ? out.reshape({cout, oh, ow}) : out;
}

// (..., h, w) -> (..., (h - 1) * s + 1, (w - 1) * s + 1): s - 1 zeros between neighbours, as a strided convolution's
// input gradient sees its output.
Tensor spread(const Tensor& x, const Shape& s) {
  if (s[0] == 1 && s[1] == 1) return x;
  Shape lead(x.shape().begin(), x.shape().end() - 2);
  int64_t h = x.shape()[x.shape().size() - 2], w = x.shape().back();
  Tensor t = x.reshape(concat(lead, {h, 1, w, 1})); // pad to (h, s, w, s), then drop the last s - 1
  Pads grow(size_t(t.ndim()), {0, 0});
  grow[grow.size() - 3].second = s[0] - 1, grow.back().second = s[1] - 1;
  t = t.pad(grow).reshape(concat(lead, {h * s[0], w * s[1]}));
  return pad_trailing(t, {{0, -(s[0] - 1)}, {0, -(s[1] - 1)}}, 0);
}

// A convolution's weight (groups * rcout, cin, kh, kw) as the weight of its transpose, (groups * cin, rcout, kh, kw),
// flipped: the input's gradient is the output's gradient convolved with it.
Tensor transposed_weight(const Tensor& weight, int64_t groups) {
  const Shape& ws = weight.shape();
  int64_t rcout = ws[0] / groups, cin = ws[1];
  Tensor w = weight.reshape({groups, rcout, cin, ws[2], ws[3]}).permute({0, 2, 1, 3, 4}).flip({3, 4});
  return w.reshape({groups * cin, rcout, ws[2], ws[3]});
}

// The gradients of convolve's value (before the bias) for x (n, groups * cin, h, w) and weight (cout, cin, kh, kw).
// x: g spread by the stride and convolved with the transposed weight, padded so that element i of x meets every
// output o and tap t with o * s + t * d == i + pad: the rows that no window reached get zeros. weight: x's windows
// against g, summed over the batch and the output's positions.
std::vector<std::optional<Tensor>> convolve_backward(llvm::ArrayRef<int64_t> p, llvm::ArrayRef<Tensor> in,
                                                     const Tensor& g) {
  const char* what = "conv2d backward";
  Shape s{p[0], p[1]}, d{p[6], p[7]};
  Pads pads{{p[2], p[3]}, {p[4], p[5]}};
  int64_t groups = p[8];
  const Tensor &x = in[0], &weight = in[1];
  int64_t n = x.shape()[0], cin = weight.shape()[1], rcout = weight.shape()[0] / groups;
  Shape k{weight.shape()[2], weight.shape()[3]}, o{g.shape()[2], g.shape()[3]}, i{x.shape()[2], x.shape()[3]};
  std::vector<std::optional<Tensor>> r(2);
  if (uops::is_float(x.dtype())) {
    Pads full(2);
    for (size_t j = 0; j < 2; j++)
      full[j] = {(k[j] - 1) * d[j] - pads[j].first, i[j] + pads[j].first - (o[j] - 1) * s[j] - 1};
    r[0] = convolve(spread(g, s), transposed_weight(weight, groups), std::nullopt, {1, 1}, full, d, groups, what)
               .cast(x.dtype());
  }
  if (uops::is_float(weight.dtype())) {
    // As a matrix product over (n, oh, ow) with the output channels innermost, where g and the result are read and
    // written in vectors: g transposed to (n, oh, ow, cout) once, the result as (kh, kw, groups, cin, rcout). The
    // batch is summed in parts of a few images first: each part's images stay in cache while every tile of the
    // (small) result passes over them, and the parts spread over the cores.
    int64_t part = 1;
    for (int64_t p = 8; p > 1; p--)
      if (n % p == 0 && n / p >= 2) {
        part = p;
        break;
      }
    Tensor v = windows(x, pads, 0, k, s, d, what).reshape({n, groups, cin, o[0], o[1], k[0], k[1]});
    v = v.permute({0, 3, 4, 5, 6, 1, 2}).reshape({n / part, part, o[0], o[1], k[0], k[1], groups, cin, 1});
    Tensor go = g.permute({0, 2, 3, 1}).contiguous().reshape({n / part, part, o[0], o[1], 1, 1, groups, 1, rcout});
    Tensor t = product_sum(v, go, {1, 2, 3}).contiguous().sum({0}).reshape({k[0], k[1], groups, cin, rcout});
    r[1] = t.permute({2, 4, 3, 0, 1}).reshape(weight.shape()).cast(weight.dtype());
  }
  return r;
}

} // namespace

Tensor Tensor::matmul(const Tensor& o) const { return matrix_product(*this, o, "matmul"); }

Tensor Tensor::dot(const Tensor& o) const { return matrix_product(*this, o, "dot"); }

Tensor Tensor::einsum(const std::string& spec, const Tensor& a, const Tensor& b) {
  auto fail = [&](const std::string& why) { return TensorError(fmt::format("einsum: '{}': {}", spec, why)); };
  size_t arrow = spec.find("->"), comma = spec.find(',');
  std::string lhs = spec.substr(0, arrow);
  if (comma == std::string::npos || comma > lhs.size() || lhs.find(',', comma + 1) != std::string::npos)
    throw fail("needs exactly two operands");
  std::string in[2] = {lhs.substr(0, comma), lhs.substr(comma + 1)};
  const Tensor* operand[2] = {&a, &b};
  std::string all = in[0] + in[1], out;
  if (arrow != std::string::npos) out = spec.substr(arrow + 2);
  for (char c : all + out)
    if (!std::isalpha(static_cast<unsigned char>(c)))
      throw fail(fmt::format("unexpected '{}': indices are letters (no '...')", c));
  if (arrow == std::string::npos) // numpy's implicit output: the indices seen once, in alphabetical order
    for (char c = 'A'; c <= 'z'; c++)
      if (std::count(all.begin(), all.end(), c) == 1) out += c;
  llvm::DenseMap<char, int64_t> size;
  for (int op = 0; op < 2; op++) {
    if (int64_t(in[op].size()) != operand[op]->ndim())
      throw fail(fmt::format("operand {} has {} indices '{}' for shape {}", op, in[op].size(), in[op],
                             shape_str(operand[op]->shape())));
    for (size_t i = 0; i < in[op].size(); i++) {
      char c = in[op][i];
      if (in[op].find(c) != i)
        throw fail(fmt::format("index '{}' repeats in operand {}: diagonals are not supported", c, op));
      auto [it, fresh] = size.try_emplace(c, operand[op]->shape()[i]);
      if (!fresh && it->second != operand[op]->shape()[i])
        throw fail(fmt::format("index '{}' has size {} in operand 0 and {} in operand 1", c, it->second,
                               operand[op]->shape()[i]));
    }
  }
  for (size_t i = 0; i < out.size(); i++) {
    if (!size.count(out[i])) throw fail(fmt::format("output index '{}' is in no operand", out[i]));
    if (out.find(out[i]) != i) throw fail(fmt::format("output index '{}' repeats", out[i]));
  }
  // one axis per index: the output's first, then the summed ones; each operand is permuted and widened to all of them
  std::string axes = out;
  for (char c : all)
    if (axes.find(c) == std::string::npos) axes += c;
  Tensor wide[2] = {a, b};
  for (int op = 0; op < 2; op++) {
    Shape order, shape;
    for (char c : axes)
      if (size_t p = in[op].find(c); p != std::string::npos) order.push_back(int64_t(p));
    for (char c : axes) shape.push_back(in[op].find(c) == std::string::npos ? 1 : size[c]);
    wide[op] = operand[op]->permute(order).reshape(shape);
  }
  Shape summed;
  for (size_t i = out.size(); i < axes.size(); i++) summed.push_back(int64_t(i));
  return product_sum(wide[0], wide[1], summed);
}

Tensor Tensor::conv2d(const Tensor& weight, const std::optional<Tensor>& bias, const Shape& stride,
                      const Shape& padding, const Shape& dilation, int64_t groups) const {
  const char* what = "conv2d";
  return convolve(*this, weight, bias, pair(stride, what, "stride", 1), symmetric(pair(padding, what, "padding", 0)),
                  pair(dilation, what, "dilation", 1), groups, what);
}

// The gradient of conv2d with respect to its input: zeros between input elements (stride), a full padding of the
// dilated kernel less `padding`, and the kernel flipped with its channel axes swapped per group.
Tensor Tensor::conv_transpose2d(const Tensor& weight, const std::optional<Tensor>& bias, const Shape& stride,
                                const Shape& padding, const Shape& output_padding, const Shape& dilation,
                                int64_t groups) const {
  const char* what = "conv_transpose2d";
  Shape s = pair(stride, what, "stride", 1), p = pair(padding, what, "padding", 0),
        d = pair(dilation, what, "dilation", 1);
  Shape op = pair(output_padding, what, "output_padding", 0);
  for (size_t j = 0; j < 2; j++)
    if (op[j] >= s[j] && op[j] >= d[j])
      throw TensorError(fmt::format("{}: output_padding {} must be smaller than stride {} or dilation {}", what,
                                    shape_str(op), shape_str(s), shape_str(d)));
  if (weight.ndim() != 4 || groups < 1 || weight.shape()[0] % groups || (ndim() != 3 && ndim() != 4) ||
      weight.shape()[0] != shape()[size_t(ndim()) - 3])
    throw TensorError(fmt::format("{}: weight {} with groups={} does not fit input {}: needs a 4-d weight whose first "
                                  "axis is the input channels, divisible by groups",
                                  what, shape_str(weight.shape()), groups, shape_str(shape())));
  if (shape()[shape().size() - 2] == 0 || shape().back() == 0)
    throw TensorError(fmt::format("{}: input {} has an empty spatial axis", what, shape_str(shape())));
  Shape k(weight.shape().begin() + 2, weight.shape().end());
  Pads pads(2);
  for (size_t j = 0; j < 2; j++) pads[j] = {(k[j] - 1) * d[j] - p[j], (k[j] - 1) * d[j] - p[j] + op[j]};
  return convolve(spread(*this, s), transposed_weight(weight, groups), bias, {1, 1}, pads, d, groups, what);
}

Tensor Tensor::max_pool2d(const Shape& kernel, const Shape& stride, const Shape& padding, const Shape& dilation) const {
  const char* what = "max_pool2d";
  Shape k = pair(kernel, what, "kernel", 1), s = stride.empty() ? k : pair(stride, what, "stride", 1);
  Shape p = pair(padding, what, "padding", 0), d = pair(dilation, what, "dilation", 1);
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2)
    throw TensorError(
        fmt::format("{}: padding {} must be at most half the kernel {}", what, shape_str(p), shape_str(k)));
  double lowest = uops::is_float(dtype()) ? -INFINITY : double(uops::dtype_min(dtype()));
  return windows(*this, symmetric(p), lowest, k, s, d, what).max({-2, -1});
}

Tensor Tensor::avg_pool2d(const Shape& kernel, const Shape& stride, const Shape& padding, PadCount pad_count) const {
  const char* what = "avg_pool2d";
  Shape k = pair(kernel, what, "kernel", 1), s = stride.empty() ? k : pair(stride, what, "stride", 1);
  Shape p = pair(padding, what, "padding", 0), one{1, 1};
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2)
    throw TensorError(
        fmt::format("{}: padding {} must be at most half the kernel {}", what, shape_str(p), shape_str(k)));
  Tensor total = windows(*this, symmetric(p), 0, k, s, one, what).sum({-2, -1});
  if (pad_count == PadCount::include) return total / double(k[0] * k[1]);
  // the number of real elements under each window: a pool of ones, as wide as the input so that it fuses
  DType real = uops::is_float(dtype()) ? dtype() : DType::f32;
  Tensor count = windows(full(shape(), 1, real).to(device()), symmetric(p), 0, k, s, one, what).sum({-2, -1});
  return total / count;
}

} // namespace patgrad
