// Value ranges (vmin, vmax) of integer, index and bool nodes, by interval arithmetic over the sources' ranges.
// Sound, not tight: every value a node can take lies in its range. Guards in rules rely on that.
#include "uops/uop.h"
#include <algorithm>

namespace patgrad::uops {
namespace {

using Wide = __int128;
using Range = std::pair<Wide, Wide>;

Range full(DType d) { return {dtype_min(d), dtype_max(d)}; }

// A range computed in exact arithmetic; at fixed width it is only valid if nothing wrapped.
Range fit(DType d, Wide lo, Wide hi) {
  if (lo < dtype_min(d) || hi > dtype_max(d)) return full(d);
  return {lo, hi};
}

Range corners(DType d, Range a, Range b, Wide (*f)(Wide, Wide)) {
  Wide c[] = {f(a.first, b.first), f(a.first, b.second), f(a.second, b.first), f(a.second, b.second)};
  return fit(d, *std::min_element(c, c + 4), *std::max_element(c, c + 4));
}

Wide floor_div(Wide a, Wide b) {
  Wide q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}

Range bool_range(bool can_be_false, bool can_be_true) { return {can_be_false ? 0 : 1, can_be_true ? 1 : 0}; }

Range compare(Op op, Range a, Range b) {
  switch (op) {
  case Op::CMPLT: return bool_range(a.second >= b.first, a.first < b.second);
  case Op::CMPLE: return bool_range(a.second > b.first, a.first <= b.second);
  case Op::CMPEQ: return bool_range(!(a.first == a.second && a == b), a.first <= b.second && b.first <= a.second);
  case Op::CMPNE: return bool_range(a.first <= b.second && b.first <= a.second, !(a.first == a.second && a == b));
  default: return {0, 1};
  }
}

Range mod(DType d, Range a, Range b) {
  if (b.first > 0) {
    // within one period the result follows a; otherwise it can be anything in [0, b.max)
    if (b.first == b.second && floor_div(a.first, b.first) == floor_div(a.second, b.first))
      return {a.first - b.first * floor_div(a.first, b.first), a.second - b.first * floor_div(a.first, b.first)};
    if (a.first >= 0 && a.second < b.first) return a;
    return {0, b.second - 1};
  }
  if (b.second < 0) return {b.first + 1, 0};
  return full(d);
}

Range bitwise(Op op, DType d, Range a, Range b) {
  if (a.first < 0 || b.first < 0) return full(d);
  Wide top = std::max(a.second, b.second), pow2 = 1;
  while (pow2 <= top) pow2 <<= 1;
  if (op == Op::AND) return {0, std::min(a.second, b.second)};
  if (op == Op::OR) return fit(d, std::max(a.first, b.first), pow2 - 1);
  return fit(d, 0, pow2 - 1);
}

} // namespace

std::pair<Wide, Wide> compute_range(Op op, DType d, llvm::ArrayRef<UOp> src, const Arg& arg) {
  if (!is_int(d) && !is_bool(d)) return {0, 0};
  if (op == Op::CONST) {
    Wide v = as_wide(d, std::get<Value>(arg));
    return {v, v};
  }
  if (op == Op::DEFINE_VAR) {
    const Var& v = std::get<Var>(arg);
    return {std::max<Wide>(v.min, dtype_min(d)), std::min<Wide>(v.max, dtype_max(d))};
  }
  auto r = [&](int i) { return Range{src[i]->vmin, src[i]->vmax}; };
  const OpInfo& info = op_info(op);
  if (info.typing == Typing::CMP && (is_int(src[0]->dtype) || is_bool(src[0]->dtype)))
    return compare(op, r(0), r(1));
  switch (op) {
  case Op::NEG: return fit(d, -r(0).second, -r(0).first);
  case Op::ADD: return fit(d, r(0).first + r(1).first, r(0).second + r(1).second);
  case Op::SUB: return fit(d, r(0).first - r(1).second, r(0).second - r(1).first);
  case Op::MUL:
    if (d == DType::u64 && std::max(r(0).second, r(1).second) > dtype_max(DType::i64)) return full(d); // 128-bit products
    return corners(d, r(0), r(1), [](Wide a, Wide b) { return a * b; });
  case Op::IDIV:
    if (r(1).first > 0 || r(1).second < 0) return corners(d, r(0), r(1), floor_div);
    return full(d);
  case Op::CDIV:
    if (r(1).first > 0 || r(1).second < 0) return corners(d, r(0), r(1), [](Wide a, Wide b) { return a / b; });
    return full(d);
  case Op::MOD: return mod(d, r(0), r(1));
  case Op::MAX: return {std::max(r(0).first, r(1).first), std::max(r(0).second, r(1).second)};
  case Op::MIN: return {std::min(r(0).first, r(1).first), std::min(r(0).second, r(1).second)};
  case Op::AND: case Op::OR: case Op::XOR:
    if (is_bool(d)) return op == Op::XOR ? Range{0, 1} : op == Op::AND ? Range{r(0).first & r(1).first, r(0).second & r(1).second} : Range{r(0).first | r(1).first, r(0).second | r(1).second};
    return bitwise(op, d, r(0), r(1));
  case Op::SHR:
    if (r(0).first >= 0 && r(1).first >= 0 && r(1).second < bits(d)) return {r(0).first >> int(r(1).second), r(0).second >> int(r(1).first)};
    return full(d);
  case Op::RANGE:
  case Op::SPECIAL: return {0, std::max<Wide>(0, src[0]->vmax - 1)};
  case Op::WHERE:
    if (src[0]->vmin == 1) return r(1);
    if (src[0]->vmax == 0) return r(2);
    return {std::min(r(1).first, r(2).first), std::max(r(1).second, r(2).second)};
  case Op::CAST:
    if (is_int(src[0]->dtype) || is_bool(src[0]->dtype)) {
      if (is_bool(d)) return bool_range(r(0).first <= 0 && r(0).second >= 0, r(0) != Range{0, 0});
      return fit(d, r(0).first, r(0).second);
    }
    return full(d);
  default: return full(d);
  }
}

} // namespace patgrad::uops
