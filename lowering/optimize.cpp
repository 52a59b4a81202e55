// The optimization choice: which kernel opts (lowering/opts.cpp) to apply, by a heuristic (search is the next step).
// Choosing is not a local rewrite (it weighs the whole kernel); doing is (opts.pat). The choices: a register tile of
// neighbouring outputs per trip of a reduction's loops (upcasts of one or two output ranges: k accumulators that share
// the loads not using those ranges; the copies of the reduction share its loops, which merge_ends makes one), its
// vector side an axis that loads read in order; partial sums for a float sum to one number or one with no output axis
// to make vectors of; and copies of an elementwise kernel's innermost range that index arithmetic divides by a small
// constant. Expects the kernel after `index` and `sym`: SINK(END(STORE, output ranges...)) or SINK(STORE).
#include "lowering/lowering.h"
#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <functional>
#include <llvm/ADT/DenseSet.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/TargetParser/Host.h>
#include <optional>
#include <random>

namespace patgrad::lowering {

int64_t upcast_limit() {
  static const int64_t limit = [] {
    const char* v = std::getenv("PATGRAD_UPCAST");
    return v ? std::max<int64_t>(1, std::atoll(v)) : 64;
  }();
  return limit;
}

VectorUnit host_vector_unit() {
  static const VectorUnit unit = [] {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    auto has = [&](llvm::StringRef f) { return features.lookup(f); };
    if (has("avx512f")) return VectorUnit{16, 32, true};
    if (has("avx")) return VectorUnit{8, 16, false};
    if (has("neon")) return VectorUnit{4, 32, false};
    return VectorUnit{4, 16, false}; // SSE
  }();
  return unit;
}

namespace {

int64_t size_of(const UOp& r) { return r->src[0]->op == Op::CONST ? int64_t(r->src[0]->value().i) : 0; }

int64_t number(const UOp& r) { return std::get<int64_t>(r->arg); }

// The largest factor of n among from, from/2, ..., 2 (powers of two); 1 if none divides it.
int64_t factor(int64_t n, int64_t from) {
  for (int64_t k = from; k >= 2; k /= 2)
    if (n > 0 && n % k == 0) return k;
  return 1;
}

// The other side of a register tile over an axis of n outputs, at most `most` (and at least `tiles` tiles): the k that
// makes the fewest tiles, ceil(n / k), where k need not divide n (the axis is padded to a multiple of k: its last
// tile's extra rows store nothing); among those a divisor, then the smallest. 1024 rows by 6 is 171 tiles, 0.2% of
// them padding (AVX2: 6 rows of 2 registers, 12 accumulators, ran 144-158 GFLOP/s against 4 rows' 101-119).
int64_t tile_rows(int64_t n, int64_t most, int64_t tiles) {
  int64_t best = 1;
  auto count = [&](int64_t k) { return (n + k - 1) / k; };
  for (int64_t k = 2; k <= std::min(n, most) && count(k) >= tiles; k++)
    if (count(k) < count(best) || (count(k) == count(best) && n % k == 0 && n % best != 0)) best = k;
  return best;
}

// The largest divisor of n up to from (a long sum's number of partial sums).
int64_t divisor(int64_t n, int64_t from) {
  for (int64_t k = std::min(n, from); k >= 2; k--)
    if (n % k == 0) return k;
  return 1;
}

// The vector side of a tile over an axis of n outputs, from 4 to `from` lanes: a divisor of n that fills the
// registers LLVM splits it into (16 floats with AVX-512, 8 with AVX2; the rest of a vector in pieces of half, a quarter
// ..., one instruction each). With AVX-512, a row of 56 is one vector of 56 (3.5 registers, 4 instructions: 88% of
// their lanes) rather than 28 (16 + 8 + 4: 58%), which measured 316 against 192 GFLOP/s; among equals, the one nearest
// two registers; 1 if none.
// The registers LLVM splits a vector of d floats into, and the share of their lanes it uses.
int64_t registers_of(int64_t d, const VectorUnit& unit) {
  return d / unit.lanes + __builtin_popcountll(uint64_t(d % unit.lanes));
}
double lanes_used(int64_t d, const VectorUnit& unit) { return double(d) / double(unit.lanes * registers_of(d, unit)); }

int64_t vector_side(int64_t n, int64_t from, const VectorUnit& unit) {
  int64_t best = 1, two = 2 * unit.lanes;
  auto used = [&](int64_t d) { return lanes_used(d, unit); };
  for (int64_t d = 4; d <= std::min(n, from); d++)
    if (n % d == 0 &&
        (best == 1 || used(d) > used(best) || (used(d) == used(best) && std::abs(d - two) <= std::abs(best - two))))
      best = d;
  return best;
}

// How far index e moves when range r grows by one, where e is linear in r (0 where it does not use r); nothing where
// r sits under a division, a modulo or another non-linear op.
std::optional<int64_t> coefficient(const UOp& e, const UOp& r) {
  if (e == r) return 1;
  if (e->op == Op::ADD) {
    auto a = coefficient(e->src[0], r), b = coefficient(e->src[1], r);
    if (a && b) return *a + *b;
    return std::nullopt;
  }
  if (e->op == Op::MUL && e->src[1]->op == Op::CONST) {
    auto a = coefficient(e->src[0], r);
    if (a) return *a * int64_t(e->src[1]->value().i);
    return std::nullopt;
  }
  if (llvm::any_of(uops::toposort({e}), [&](const UOp& u) { return u == r; })) return std::nullopt;
  return 0;
}

// A register tile of factors[i] neighbours along ranges[i], upcast in that order: the first is the vector side, so
// its copies run next to each other within each copy of the next.
std::vector<Opt> tile(llvm::ArrayRef<UOp> ranges, llvm::ArrayRef<int64_t> factors) {
  std::vector<Opt> out;
  for (size_t i = 0; i < ranges.size(); i++) out.push_back({Opt::UPCAST, number(ranges[i]), factors[i]});
  return out;
}

// Partial sums of each float sum of the kernel (a REDUCE with no REDUCE inside) over its innermost range: lanes(range)
// of them (1: not this one), which share the loop: each trip adds k neighbours into k accumulators, one vector.
std::vector<std::pair<UOp, int64_t>> partial_sums(const UOp& ast, llvm::function_ref<int64_t(const UOp&)> lanes) {
  std::vector<std::pair<UOp, int64_t>> out; // every such sum of the kernel (a batch norm's two, fused)
  for (const UOp& n : uops::toposort({ast})) {
    if (n->op != Op::REDUCE || std::get<int64_t>(n->arg) != int64_t(Op::ADD) || !uops::is_float(n->dtype)) continue;
    const UOp& r = n->src.back();
    int64_t k = lanes(r);
    if (k < 2 || size_of(r) % k != 0) continue;
    if (llvm::any_of(uops::toposort({n->src[0]}), [](const UOp& u) { return u->op == Op::REDUCE; })) continue;
    out.push_back({r, k});
  }
  return out;
}

std::vector<Opt> sum_opts(llvm::ArrayRef<std::pair<UOp, int64_t>> sums) {
  std::vector<Opt> out;
  for (auto& [r, k] : sums) out.push_back({Opt::SUM, number(r), k});
  return out;
}

// The largest constant, up to 8 and dividing r's trips, that index arithmetic divides r by (r whole in the dividend);
// 1 if none.
int64_t divided_by(llvm::ArrayRef<UOp> order, const UOp& r) {
  int64_t c = 1;
  for (const UOp& u : order)
    if ((u->op == Op::IDIV || u->op == Op::MOD) && u->dtype == DType::index && u->src[1]->op == Op::CONST) {
      int64_t d = int64_t(u->src[1]->value().i);
      if (d > c && d <= 8 && size_of(r) % d == 0 && coefficient(u->src[0], r).value_or(0) == 1) c = d;
    }
  return c;
}

// An elementwise kernel whose innermost output range is divided by a small constant in its index arithmetic (a
// pooling's gradient reads g[x // 2] for x % 2 == 0 and 1): that many neighbours as copies per trip, in each of
// which the division folds to a constant (x = 2 * o + j: x // 2 is o, x % 2 is j), so none is left in the loop.
std::vector<Opt> divided_inner(llvm::ArrayRef<UOp> outputs, llvm::ArrayRef<UOp> order) {
  size_t n = outputs.size();
  while (n > 0 && size_of(outputs[n - 1]) == 1) n--;
  if (n == 0) return {};
  const UOp& inner = outputs[n - 1];
  int64_t k = divided_by(order, inner);
  if (k == 1) return {};
  return {{Opt::UPCAST, number(inner), k}};
}

} // namespace

std::optional<uint64_t> random_opts_seed() {
  static const std::optional<uint64_t> seed = []() -> std::optional<uint64_t> {
    const char* v = std::getenv("PATGRAD_RANDOM_OPTS");
    if (!v || !*v) return std::nullopt;
    return std::strtoull(v, nullptr, 10);
  }();
  return seed;
}

// Up to five tries, each a random opt on a random range of the kernel as it is by then; the illegal ones are skipped
// (their checks run too), the copies stay at most 64 so that a fuzzer's kernels compile fast.
llvm::Expected<std::pair<UOp, std::vector<Opt>>> random_opts(const UOp& ast, uint64_t seed,
                                                             const rewriter::Pass& rules) {
  std::mt19937_64 rng(seed ^ std::hash<std::string>()(uops::sexpr(ast))); // the text: node hashes are addresses
  UOp cur = ast;
  std::vector<Opt> applied;
  int64_t copies = 1;
  for (uint64_t tries = rng() % 6; tries > 0; tries--) {
    std::vector<UOp> ranges;
    for (const UOp& u : uops::toposort({cur}))
      if (u->op == Op::RANGE) ranges.push_back(u);
    if (ranges.empty()) break;
    const UOp& r = ranges[rng() % ranges.size()];
    Opt o{Opt::Kind(rng() % 7), number(r)};
    llvm::SmallVector<int64_t, 8> divisors;
    for (int64_t d = 2; d <= std::min<int64_t>(size_of(r), 16); d++)
      if (size_of(r) % d == 0) divisors.push_back(d);
    if (o.kind == Opt::SWAP)
      o.amount = number(ranges[rng() % ranges.size()]);
    else if (o.kind != Opt::THREAD)
      o.amount = !divisors.empty() && rng() % 4 ? divisors[rng() % divisors.size()] : int64_t(2 + rng() % 7);
    if (copies_body(o) && copies * o.amount > 64) continue;
    if (auto e = check_opt(cur, o)) {
      llvm::consumeError(std::move(e));
      continue;
    }
    auto next = apply_opt(cur, o, rules);
    if (!next) return next.takeError(); // a legal opt that fails is a bug
    cur = *next;
    applied.push_back(o);
    if (copies_body(o)) copies *= o.amount;
  }
  return std::pair{cur, applied};
}

std::vector<Opt> optimize(const UOp& ast, int64_t limit, const VectorUnit& unit) {
  if (ast->op != Op::SINK || ast->src.size() != 1 || limit < 2) return {};
  if (ast->src[0]->op == Op::STORE) {
    int64_t k = std::min<int64_t>(limit, 16);
    return sum_opts(partial_sums(ast, [&](const UOp& r) { return size_of(r) >= 4 * k ? k : 1; }));
  }
  if (ast->src[0]->op != Op::END || ast->src[0]->src[0]->op != Op::STORE) return {};
  const UOp& end = ast->src[0];
  std::vector<UOp> order = uops::toposort({ast});
  int64_t trips = 0, work = 0; // of the longest reduction; value ops per output (index math simplifies away)
  std::vector<llvm::DenseSet<const uops::Node*>> load_ranges; // the ranges each load's index uses
  std::vector<UOp> indices;                                   // and its index
  llvm::DenseSet<const uops::Node*> reduced;                  // the ranges of the reductions
  for (const UOp& n : order) {
    if (n->op == Op::REDUCE) {
      for (size_t i = 1; i < n->src.size(); i++) reduced.insert(n->src[i].get());
      uops::Ints sizes;
      for (size_t i = 1; i < n->src.size(); i++) sizes.push_back(size_of(n->src[i]) ? size_of(n->src[i]) : 1);
      // past int64 only beside an empty output axis: nothing runs
      trips = std::max(trips, uops::checked_prod(sizes).value_or(0));
    }
    if (n->op == Op::LOAD) {
      indices.push_back(n->src[1]);
      load_ranges.emplace_back();
      for (const UOp& u : uops::toposort({n->src[1]}))
        if (u->op == Op::RANGE) load_ranges.back().insert(u.get());
    }
    work += uops::op_info(n->op).typing != uops::Typing::FREE && n->op != Op::CONST && n->dtype != DType::index &&
            n->dtype != DType::bool_;
  }
  // LLVM vectorizes elementwise loops by itself; a short reduction (a sum over a few overlapping windows) gains less
  // from shared loads than its copies' index arithmetic costs
  constexpr int64_t min_trips = 32;
  llvm::ArrayRef<UOp> outputs = llvm::ArrayRef(end->src).drop_front(); // outermost first
  if (trips < min_trips) return divided_inner(outputs, order);
  // A register tile where the innermost output axis (past size-1 ones) takes a factor of 8 or more, up to limit: its
  // neighbours are next to each other in memory, so the vectorizer makes vector loads and FMAs of them. The tile's
  // other side is the innermost other axis that some load does not use (each such load is shared by its copies), up
  // to 8. The copies of the body stay under about 4096 ops, so the tile stays in registers and compiles fast.
  // Otherwise the two axes with the largest factors (up to 8 each) among those some load does not use: a convolution's
  // output channels by its images, or a weight gradient's two channel axes; then each load of the tile's body is
  // shared by one side of it. The outermost axis (the thread loop) keeps at least two trips.
  int64_t budget = std::clamp<int64_t>(4096 / std::max<int64_t>(work, 1), 1, 256);
  auto shared = [&](const UOp& r) {
    return llvm::any_of(load_ranges, [&](const auto& used) { return !used.count(r.get()); });
  };
  // the loads in a reduction's loops that read neighbours of r next to each other: vector loads once r is a tile's
  // vector side (a load outside the loops, such as a batch norm's per-channel mean, runs once per output)
  auto vector_loads = [&](const UOp& r) {
    llvm::SmallVector<size_t, 4> out;
    for (size_t i = 0; i < indices.size(); i++)
      if (llvm::any_of(load_ranges[i], [&](const uops::Node* u) { return reduced.count(u); }) &&
          coefficient(indices[i], r) == 1)
        out.push_back(i);
    return out;
  };
  auto contiguous = [&](const UOp& r) { return !vector_loads(r).empty(); };
  // LLVM's SLP vectorizer makes a tile's vectors from its stores: where they are not next to each other and the unit
  // cannot scatter, it makes none, and the whole tile runs in scalars (AVX2, a 6x6 convolution with 16 output channels
  // as the vector side: 5-6 GFLOP/s; its 6 columns: 41)
  auto stored_in_order = [&](const UOp& r) { return unit.scatter || coefficient(end->src[0]->src[1], r) == 1; };
  // The vector side: the innermost output axis, unless another that loads also read in order fills more lanes (a
  // small image's row of 6 pixels against a convolution's 64 output channels, with the weight stored channels last)
  size_t n = outputs.size();
  while (n > 0 && size_of(outputs[n - 1]) == 1) n--;
  size_t vector_axis = n;
  int64_t kn = 1;
  for (size_t m = n; m-- > 0;)
    if (int64_t k = vector_side(size_of(outputs[m]), std::min(limit, budget), unit);
        k >= 4 && contiguous(outputs[m]) && stored_in_order(outputs[m]) &&
        (kn == 1 || lanes_used(k, unit) > lanes_used(kn, unit)))
      vector_axis = m, kn = k;
  if (vector_axis < n) {
    const UOp& inner = outputs[vector_axis];
    {
      // the other side: an axis that the vector loads do not use, so that each is shared by its copies (a
      // convolution's output channels, not its rows, which share only the weight's scalars); else any shared one
      llvm::SmallVector<size_t, 4> vectors = vector_loads(inner);
      auto shares_vectors = [&](const UOp& r) {
        return llvm::any_of(vectors, [&](size_t i) { return !load_ranges[i].count(r.get()); });
      };
      // An axis that some load reads in order comes last: the vectorizer would make short vectors along it instead
      // (a 6x6 convolution with channels as the vector side: rows by 3 run at 230 GFLOP/s, columns by 2 at 15).
      auto shares_only = [&](const UOp& r) { return shares_vectors(r) && !contiguous(r); };
      auto scalars_use = [&](const UOp& r) { // a load other than the vectors' uses r
        for (size_t l = 0; l < indices.size(); l++)
          if (!llvm::is_contained(vectors, l) && load_ranges[l].count(r.get())) return true;
        return false;
      };
      // its copies of the vector side's registers, the accumulators, keep to three quarters of the registers: past
      // them LLVM spills accumulators to the stack (AVX2's 16 registers: a 32x8 matmul tile ran 40 GFLOP/s, 16x4 83)
      int64_t most =
          std::max<int64_t>(1, std::min<int64_t>({8, budget / kn, 3 * unit.registers / 4 / registers_of(kn, unit)}));
      for (auto fits : {std::function<bool(const UOp&)>(shares_only), std::function<bool(const UOp&)>(shares_vectors),
                        std::function<bool(const UOp&)>(shared)})
        for (size_t m = n; m-- > 0;) {
          int64_t km = tile_rows(size_of(outputs[m]), most, m == 0 ? 2 : 1);
          if (m == vector_axis || km < 2 || !fits(outputs[m])) continue;
          std::vector<Opt> out;
          // The tile's rows run inside the loops of the vectors' other axes (a matmul's column panels of b): the
          // vectors' data, read again by each row tile, stays in cache (AVX2, 6 by 16: 144-158 GFLOP/s, rows
          // outside 138-146). The outermost loop is the threads': it keeps enough trips to share.
          for (size_t p = n; shares_vectors(outputs[m]) && p-- > m + 1;)
            if (p != vector_axis && !shares_vectors(outputs[p]) && size_of(outputs[p]) >= (m == 0 ? 8 : 2)) {
              out.push_back({Opt::SWAP, number(outputs[m]), number(outputs[p])});
              break;
            }
          // A vector of one register shares each of the rows' scalars with one FMA: a load per FMA, more than the
          // FMAs' pace (two a cycle each on Zen 3). Two neighbours along an axis of the vectors that the other loads
          // do not use (a convolution's output rows) share the scalars twice, for half the rows (AVX2, 8 pixels by 8
          // channels: 107-138 GFLOP/s; by 4 channels by 2 rows: 160).
          int64_t km2 = tile_rows(size_of(outputs[m]), most / 2, m == 0 ? 2 : 1);
          std::optional<size_t> q;
          if (registers_of(kn, unit) == 1 && km2 >= 2)
            for (size_t i = n; i-- > 0 && !q;)
              if (i != m && i != vector_axis && size_of(outputs[i]) % 2 == 0 && !shares_vectors(outputs[i]) &&
                  !scalars_use(outputs[i]))
                q = i;
          if (q) km = km2;
          if (size_of(outputs[m]) % km != 0) out.push_back({Opt::PAD, number(outputs[m]), km});
          for (const Opt& o : tile({inner, outputs[m]}, {kn, km})) out.push_back(o);
          if (q) out.push_back({Opt::UPCAST, number(outputs[*q]), 2});
          return out;
        }
      return tile({inner}, {kn});
    }
  }
  struct Side {
    size_t axis;
    int64_t k;
  };
  llvm::SmallVector<Side, 6> sides; // innermost first
  for (size_t i = outputs.size(); i-- > 0;) {
    int64_t k = factor(size_of(outputs[i]), std::min<int64_t>({8, limit, budget}));
    while (i == 0 && k > 1 && size_of(outputs[i]) / k < 2) k /= 2;
    if (k >= 2 && shared(outputs[i])) sides.push_back({i, k});
  }
  llvm::stable_sort(sides, [](const Side& a, const Side& b) { return a.k > b.k; });
  // No output axis to make vectors of or to share loads, but a sum reads its innermost range in order (a batch norm's
  // sum over images and pixels per channel): partial sums of that range are the vectors, up to 16 lanes, or the whole
  // of a short one. Also where that range is divided by a constant (a pooling's gradient under the sum: x // 2),
  // which then folds in each partial sum (lanes a multiple of it), even if some axis could share loads.
  auto sums = partial_sums(ast, [&](const UOp& r) -> int64_t {
    int64_t trips = size_of(r), c = divided_by(order, r);
    if (c > 1) { // the most lanes within the budget that are a multiple of c
      for (int64_t k = std::min<int64_t>({trips, 32, budget}); k >= c; k--)
        if (trips % k == 0 && k % c == 0) return k;
      return 1;
    }
    int64_t k = trips <= 32 ? trips : divisor(trips, 16);
    return k >= 4 && k <= budget ? k : 1;
  });
  for (auto& [r, k] : sums)
    if ((sides.empty() && contiguous(r)) || divided_by(order, r) > 1) return sum_opts(sums);
  if (sides.empty()) {
    // otherwise k independent accumulators still hide the adds' latency
    for (int64_t k = std::min<int64_t>({8, limit, budget}); k >= 2; k /= 2)
      for (size_t i = outputs.size(); i-- > (outputs.size() > 1 ? 1 : 0);)
        if (size_of(outputs[i]) % k == 0) return tile({outputs[i]}, {k});
    return {};
  }
  const Side& a = sides[0];
  if (sides.size() > 1 && a.k * sides[1].k <= budget) {
    const Side& b = sides[1];
    return a.axis < b.axis ? tile({outputs[b.axis], outputs[a.axis]}, {b.k, a.k})
                           : tile({outputs[a.axis], outputs[b.axis]}, {a.k, b.k});
  }
  return tile({outputs[a.axis]}, {a.k});
}

} // namespace patgrad::lowering
