// Matching at run time: a rule's pattern against a node, filling the Bindings; and, for the engine's index, the
// commutative orders of a pattern and the ops its sources require.
#include "rewriter/internal.h"
#include <cmath>
#include <numeric>

namespace patgrad::rewriter {
namespace {

using uops::Value;

bool literal_matches(const Pat& p, const UOp& node) {
  DType d = node->dtype;
  Value v = node->value();
  if (uops::is_float(d)) return p.literal_is_float ? uops::same_value(d, uops::float_value(d, p.literal->f), v)
                                                   : v.f == p.literal->f && !std::signbit(v.f);
  if (p.literal_is_float) return false;
  return uops::as_wide(d, v) == p.literal->i;
}

bool match_srcs(const Pat& pat, const UOp& node, Bindings& b) {
  size_t n = pat.src.size();
  if (pat.rest == -1 ? node->src.size() != n : node->src.size() < n) return false;
  for (size_t i = 0; i < n; i++)
    if (!match(pat.src[i], node->src[i], b)) return false;
  if (pat.rest >= 0) b.lists[pat.rest].assign(node->src.begin() + n, node->src.end());
  return true;
}

bool match_arg(const Pat& pat, const UOp& node, Bindings& b) {
  if (pat.arg_int) {
    auto* i = std::get_if<int64_t>(&node->arg);
    return i && *i == *pat.arg_int;
  }
  auto* l = std::get_if<uops::Ints>(&node->arg);
  size_t n = pat.arg_ints->size();
  if (!l || (pat.arg_rest == -1 ? l->size() != n : l->size() < n) || !std::equal(pat.arg_ints->begin(), pat.arg_ints->end(), l->begin()))
    return false;
  if (pat.arg_rest >= 0) b.ints[pat.arg_rest].assign(l->begin() + n, l->end());
  return true;
}

void collect_variants(const Pat& p, std::vector<Pat>& out, size_t cap) {
  // variants of the sources first, then the swap of this node
  std::vector<Pat> acc{p};
  for (size_t i = 0; i < p.src.size(); i++) {
    std::vector<Pat> sub;
    collect_variants(p.src[i], sub, cap);
    std::vector<Pat> next;
    for (const Pat& a : acc)
      for (const Pat& s : sub) {
        if (next.size() >= cap) break;
        Pat c = a;
        c.src[i] = s;
        next.push_back(std::move(c));
      }
    acc = std::move(next);
  }
  OpMask comm;
  for (int i = 0; i < uops::num_ops; i++)
    if (p.ops.test(i) && uops::is_commutative(Op(i))) comm.set(i);
  bool swap = comm.any() && p.src.size() == 2 && p.rest == -1;
  for (const Pat& a : acc) {
    if (out.size() < cap) out.push_back(a);
    if (swap && out.size() < cap) {
      Pat s = a;
      s.ops = comm;
      std::swap(s.src[0], s.src[1]);
      out.push_back(std::move(s));
    }
  }
}

} // namespace

bool match(const Pat& pat, const UOp& node, Bindings& b) {
  if (pat.ops.any() && !pat.ops.test(int(node->op))) return false;
  if (!(pat.dtypes & uops::bit(node->dtype))) return false;
  if (pat.literal && (node->op != Op::CONST || !literal_matches(pat, node))) return false;
  if (pat.dtype_var >= 0) {
    auto& d = b.dtypes[pat.dtype_var];
    if (d && *d != node->dtype) return false;
    d = node->dtype;
  }
  if ((pat.arg_int || pat.arg_ints) && !match_arg(pat, node, b)) return false;
  if (pat.slot >= 0) {
    UOp& s = b.nodes[pat.slot];
    if (s && !(s == node)) return false;
    if (!s) s = node;
  }
  return pat.any_src || match_srcs(pat, node, b);
}

std::vector<Pat> commuted_variants(const Pat& pat, size_t cap) {
  std::vector<Pat> out;
  collect_variants(pat, out, cap);
  return out;
}

OpMask required_src_ops(const Pat& pat) {
  OpMask m;
  for (const Pat& s : pat.src)
    if (s.ops.count() == 1) m |= s.ops;
  return m;
}

} // namespace patgrad::rewriter
