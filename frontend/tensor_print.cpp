// Tensor::str in PyTorch's style, on one line: tensor([[1., 2.], [3., 4.]], dtype=f32). Elements are right-aligned
// to one width; floats show 4 decimals, or "3." when all shown values are integers, or scientific notation when their
// magnitudes span more than 1000x, exceed 1e8 or (not integers) fall below 1e-4 (PyTorch's _Formatter). Over 1000
// elements, each axis shows its first and last 3 positions around "...". The dtype is always shown, the device when
// it is not CPU.
#include "frontend/tensor.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad {

namespace {

constexpr int64_t summarize_above = 1000, edge_items = 3;

struct Layout {
  const Shape& shape;
  bool summarize;

  // Writes brackets and separators to out and calls leaf(flat index, out) for each shown element, in order.
  template <typename Leaf>
  void walk(size_t axis, int64_t base, std::string& out, Leaf&& leaf) const {
    if (axis == shape.size()) return leaf(base, out);
    int64_t n = shape[axis];
    bool cut = summarize && n > 2 * edge_items;
    out += '[';
    for (int64_t i = 0; i < n; i++) {
      if (cut && i == edge_items) {
        out += ", ...";
        i = n - edge_items;
      }
      if (i) out += ", ";
      walk(axis + 1, base * n + i, out, leaf);
    }
    out += ']';
  }
};

std::vector<std::string> float_cells(const std::vector<double>& v) {
  double hi = 0, lo = INFINITY;
  bool integral = true;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    integral &= x == std::trunc(x);
    if (x != 0) hi = std::max(hi, std::fabs(x)), lo = std::min(lo, std::fabs(x));
  }
  bool sci = hi > 0 && (hi / lo > 1000 || hi > 1e8 || (!integral && lo < 1e-4));
  std::vector<std::string> out;
  for (double x : v) {
    if (std::isnan(x))
      out.push_back("nan");
    else if (std::isinf(x))
      out.push_back(x > 0 ? "inf" : "-inf");
    else if (sci)
      out.push_back(fmt::format("{:.4e}", x));
    else if (integral)
      out.push_back(fmt::format("{:.0f}.", x));
    else
      out.push_back(fmt::format("{:.4f}", x));
  }
  return out;
}

// The text of the elements at the given flat positions, before alignment.
std::vector<std::string> cells(const Tensor& t, const std::vector<int64_t>& at) {
  DType d = t.dtype();
  std::vector<std::string> out;
  if (uops::is_bool(d)) {
    std::vector<bool> v = t.to_vector<bool>();
    for (int64_t i : at) out.push_back(v[i] ? "True" : "False");
  } else if (uops::is_unsigned(d)) {
    std::vector<uint64_t> v = t.to_vector<uint64_t>();
    for (int64_t i : at) out.push_back(std::to_string(v[i]));
  } else if (uops::is_int(d)) {
    std::vector<int64_t> v = t.to_vector<int64_t>();
    for (int64_t i : at) out.push_back(std::to_string(v[i]));
  } else {
    std::vector<double> all = t.to_vector<double>(), v;
    for (int64_t i : at) v.push_back(all[i]);
    out = float_cells(v);
  }
  return out;
}

} // namespace

std::string Tensor::str() const {
  std::string suffix = fmt::format("dtype={}", uops::name(dtype()));
  if (device()->name != "CPU") suffix += fmt::format(", device={}", device()->name);
  if (numel() == 0) {
    if (ndim() == 1) return fmt::format("tensor([], {})", suffix);
    std::string size;
    for (size_t i = 0; i < shape().size(); i++) size += fmt::format("{}{}", i ? "," : "", shape()[i]);
    return fmt::format("tensor([], size=({}), {})", size, suffix);
  }
  Layout layout{shape(), numel() > summarize_above};
  std::vector<int64_t> at;
  std::string scratch;
  layout.walk(0, 0, scratch, [&](int64_t i, std::string&) { at.push_back(i); });
  std::vector<std::string> text = cells(*this, at);
  size_t width = 0;
  for (const std::string& s : text) width = std::max(width, s.size());
  std::string body;
  size_t k = 0;
  layout.walk(0, 0, body, [&](int64_t, std::string& out) { out += fmt::format("{:>{}}", text[k++], width); });
  return fmt::format("tensor({}, {})", body, suffix);
}

} // namespace patgrad
