// The cost model (cost_model.h): a kernel's time from its linear program, as a roofline per loop body.
// Compute: a loop body's cycles a trip are the most of its float ops over 2 FMA pipes, its loads over 2 ports, its
// stores over 1, and its accumulator chains' latency (4 cycles a dependent op); ops fill as many lanes as neighbouring
// loads and stores give (upcast copies, which SLP packs into vectors; an elementwise innermost loop, which the loop
// vectorizer packs); past 32 live vector registers, every chain is stored and reloaded a trip (a spill). Memory: the
// bytes each loop nest touches (cache lines, from the affine form of each index) tell where it stops fitting in L1
// (32 KiB), L2 (1 MiB) and L3 (32 MiB); the traffic from beyond each level over that level's bandwidth. The estimate
// is the larger of the two plus half the smaller, on the cores the thread loop keeps busy.
// Expects the linear program lower_with_opts makes for the CPU: RANGE opens a loop, END closes the innermost open
// one, a thread loop is RANGE(n, start, end), an accumulator is read by AFTER and written by ASSIGN.
#include "runtime/cost_model.h"
#include "runtime/thread_pool.h"
#include <algorithm>
#include <cmath>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>
#include <map>

namespace patgrad::runtime {
namespace {

using uops::DType;
using uops::Node;
using uops::Op;
using uops::UOp;

// This machine (research/cpu-kernels.md: Zen 5, 2 cores; 453 GFLOP/s of fp32 FMA = 2 cores x 2 pipes x 16 lanes x
// 2 flop x 3.5 GHz); the vector width and register count are the unit's (the host's unless a test says: AVX2 has
// half of AVX-512's lanes and registers). Only ratios matter for ranking, so these need to be right in proportion, not
// exactly.
constexpr double clock_hz = 3.5e9;
constexpr double line_bytes = 64;
constexpr double fp_pipes = 2, load_ports = 2, store_ports = 1, fp_latency = 4;
constexpr double cache_bytes[3] = {32 << 10, 1 << 20, 32 << 20}; // L1, L2 (per core), L3 (shared)
constexpr double bandwidth[3] = {224e9, 112e9, 50e9};            // into L1 and L2 (per core), from memory (shared)
constexpr double slow_op_cycles = 8; // FDIV, SQRT, and the transcendentals' expansions, per vector
constexpr double overlap_miss = 0.5; // of the shorter of compute and memory time, added to the longer
constexpr double size_scale = 2e4;   // nodes that add 100% to the estimate: a tie-break toward smaller programs

double bytes_of(DType d) { return double(std::max(1, uops::bits(d) / 8)); }
double trips_of(const Node* range) { return double(std::max<__int128>(1, range->src[0]->vmax)); }

// The nodes that compute addresses and gates of loads and stores: not flops.
llvm::DenseSet<const Node*> addressing(const std::vector<UOp>& program) {
  std::vector<UOp> indices;
  for (const UOp& u : program)
    if (u->op == Op::LOAD || u->op == Op::STORE)
      for (size_t i = 1; i < u->src.size() && !(u->op == Op::STORE && i == 2); i++) indices.push_back(u->src[i]);
  llvm::DenseSet<const Node*> out;
  for (const UOp& n : uops::toposort(indices)) out.insert(n.get());
  return out;
}

bool is_alu(Op op) {
  uops::Typing t = uops::op_info(op).typing;
  return t == uops::Typing::SAME || t == uops::Typing::CMP || t == uops::Typing::SELECT || t == uops::Typing::CONVERT;
}

// An index as a sum of atoms times coefficients, plus an offset. An atom is a RANGE, or an expression that is not
// affine in ranges (a division, a modulo), which depends on the ranges of its mask.
struct Affine {
  std::vector<std::pair<const Node*, int64_t>> terms; // by atom
  int64_t offset = 0;
};

Affine combine(const Affine& a, const Affine& b, int64_t scale_b) {
  Affine out;
  out.offset = a.offset + scale_b * b.offset;
  std::map<const Node*, int64_t> sum(a.terms.begin(), a.terms.end());
  for (auto& [atom, coef] : b.terms) sum[atom] += scale_b * coef;
  for (auto& [atom, coef] : sum)
    if (coef != 0) out.terms.push_back({atom, coef});
  return out;
}

// Affine forms of a program's integer nodes, in program order (sources first).
struct IndexForms {
  llvm::DenseMap<const Node*, Affine> form;
  Affine of(const Node* n) const {
    if (n->op == Op::CONST && uops::is_int(n->dtype)) return {{}, int64_t(n->value().i)};
    auto it = form.find(n);
    return it != form.end() ? it->second : Affine{{{n, 1}}, 0};
  }
  void add(const Node* n) {
    if (!uops::is_int(n->dtype)) return;
    auto src = [&](int i) { return of(n->src[i].get()); };
    switch (n->op) {
    case Op::RANGE: form[n] = {{{n, 1}}, 0}; return;
    case Op::ADD: form[n] = combine(src(0), src(1), 1); return;
    case Op::SUB: form[n] = combine(src(0), src(1), -1); return;
    case Op::WHERE: form[n] = src(1); return; // a gated load's index: where the gate holds
    case Op::MIN: // a padded range's index, clamped to its last trip: the range (the extra trips read that row again)
      if (src(1).terms.empty()) form[n] = src(0);
      return;
    case Op::MUL: {
      Affine a = src(0), b = src(1);
      if (a.terms.empty()) std::swap(a, b);
      if (b.terms.empty()) form[n] = combine({}, a, b.offset);
      return;
    }
    default: return;
    }
  }
};

// A buffer read or written at one affine form up to its offset: the neighbouring copies of an upcast are one group.
struct Group {
  const Node* buffer;
  std::vector<std::pair<const Node*, int64_t>> terms;
  double elem_bytes;
  std::vector<int64_t> offsets;    // every offset, sorted and unique once the program is read
  llvm::SmallVector<int, 4> loops; // where it is accessed
};

struct Block {
  double fp_ops = 0, slow_ops = 0, lane_ops = 0;               // lane_ops: combine lanes of one vector (scalar work)
  std::map<int, std::pair<std::vector<int64_t>, bool>> groups; // offsets read or written here; whether stored
  int accumulators = 0, chain_ops = 0;
};

struct Loop {
  const Node* range = nullptr; // none for the program's top level
  double trips = 1, execs = 1; // execs: runs of its body in all, its trips included
  int parent = -1;
  std::vector<int> children;
  uint64_t mask = 0; // its range and those inside it
  Block block;
};

// Runs of consecutive offsets (sorted, unique), as their lengths.
std::vector<int64_t> runs(const std::vector<int64_t>& offsets) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < offsets.size(); i++)
    if (i == 0 || offsets[i] != offsets[i - 1] + 1)
      out.push_back(1);
    else
      out.back()++;
  return out;
}

std::vector<int64_t> sorted_unique(std::vector<int64_t> v) {
  llvm::sort(v);
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

struct Program {
  std::vector<Loop> loops;
  std::vector<Group> groups;
  llvm::DenseMap<const Node*, int> range_bit;      // each RANGE's bit in the masks
  llvm::DenseMap<const Node*, uint64_t> ranges_of; // the ranges each node depends on
  double thread_trips = 0;                         // 0: no thread loop
};

// The loop tree, each body's ops, accumulator chains and accesses.
Program read_program(const std::vector<UOp>& program) {
  Program p;
  p.loops.emplace_back();
  llvm::DenseSet<const Node*> address = addressing(program);
  IndexForms forms;
  std::map<std::pair<const Node*, std::vector<std::pair<const Node*, int64_t>>>, int> group_of;
  llvm::DenseMap<const Node*, int> chain;  // float ops since an accumulator was read in this body
  llvm::DenseMap<const Node*, int> origin; // the group a float value was loaded from
  llvm::DenseMap<const Node*, int> mul_in; // the body of each float MUL no ADD has taken yet (the pair is one FMA)
  std::vector<int> open{0};
  for (const UOp& u : program) {
    const Node* n = u.get();
    uint64_t mask = 0;
    for (const UOp& s : n->src) mask |= p.ranges_of.lookup(s.get());
    if (n->op == Op::RANGE) {
      int bit = int(p.range_bit.size() % 64);
      p.range_bit[n] = bit;
      mask |= uint64_t(1) << bit;
    }
    p.ranges_of[n] = mask;
    forms.add(n);
    Loop& here = p.loops[open.back()];
    Block& b = here.block;
    if (n->op == Op::RANGE) {
      Loop l;
      l.range = n, l.trips = trips_of(n), l.execs = here.execs * trips_of(n), l.parent = open.back();
      if (n->src.size() == 3) p.thread_trips = l.trips;
      p.loops[open.back()].children.push_back(int(p.loops.size()));
      open.push_back(int(p.loops.size()));
      p.loops.push_back(std::move(l));
    } else if (n->op == Op::END) {
      if (open.size() > 1) open.pop_back();
    } else if (n->op == Op::LOAD || n->op == Op::STORE) {
      Affine a = forms.of(n->src[1].get());
      DType d = n->op == Op::LOAD ? n->dtype : n->src[2]->dtype;
      auto [it, fresh] = group_of.try_emplace({n->src[0].get(), a.terms}, int(p.groups.size()));
      if (fresh) p.groups.push_back({n->src[0].get(), a.terms, bytes_of(d), {}, {}});
      Group& g = p.groups[it->second];
      g.offsets.push_back(a.offset);
      if (!llvm::is_contained(g.loops, open.back())) g.loops.push_back(open.back());
      if (n->op == Op::LOAD) origin[n] = it->second;
      auto& [offsets, stored] = b.groups[it->second];
      offsets.push_back(a.offset);
      stored |= n->op == Op::STORE;
    } else if (n->op == Op::AFTER && here.range && p.ranges_of[n] & (uint64_t(1) << p.range_bit[here.range])) {
      chain[n] = 0; // an accumulator read inside the loop that updates it
    } else if (n->op == Op::ASSIGN && n->src.size() == 2 && chain.count(n->src[1].get())) {
      b.accumulators++;
      b.chain_ops = std::max(b.chain_ops, chain[n->src[1].get()]);
    } else if (is_alu(n->op) && !address.count(n)) {
      if (n->op == Op::ADD && uops::is_float(n->dtype))
        for (const UOp& s : n->src)
          if (auto it = mul_in.find(s.get()); it != mul_in.end() && it->second == open.back())
            mul_in.erase(it), b.fp_ops--;
      if (n->op == Op::MUL && uops::is_float(n->dtype)) mul_in[n] = open.back();
      bool slow = n->op == Op::FDIV || n->op == Op::SQRT || n->op == Op::EXP2 || n->op == Op::LOG2 ||
                  n->op == Op::SIN || n->op == Op::POW;
      // an op on two values loaded from one group (an unroll adding its loads) combines lanes of one vector: it
      // does not vectorize
      int from = -1;
      bool across = false;
      for (const UOp& s : n->src)
        if (auto it = origin.find(s.get()); it != origin.end()) {
          across |= it->second == from;
          from = it->second;
        }
      if (from >= 0) origin[n] = from;
      (slow ? b.slow_ops : across ? b.lane_ops : b.fp_ops) += 1;
      int depth = -1;
      for (const UOp& s : n->src)
        if (auto it = chain.find(s.get()); it != chain.end()) depth = std::max(depth, it->second);
      if (depth >= 0) chain[n] = depth + 1;
    }
  }
  for (Group& g : p.groups) g.offsets = sorted_unique(std::move(g.offsets));
  for (size_t i = p.loops.size(); i-- > 1;) { // children after parents: fold masks upward
    Loop& l = p.loops[i];
    l.mask |= uint64_t(1) << p.range_bit[l.range];
    p.loops[l.parent].mask |= l.mask;
  }
  return p;
}

// Cycles one trip of a loop's body takes by itself, and the hot-loop features it has.
struct BodyCost {
  double cycles = 0;
  int lanes = 1, chains = 0, registers = 0;
};

BodyCost body_cost(const Program& p, int loop, const lowering::VectorUnit& unit) {
  const double vector_bytes = 4 * double(unit.lanes);
  const Loop& l = p.loops[loop];
  const Block& b = l.block;
  // lanes: the longest run of neighbours a vector holds; or an elementwise innermost loop, stride 1 or invariant in
  // every access, which the loop vectorizer packs
  double lanes = 1;
  bool loop_vectorized = l.range && l.children.empty() && b.accumulators == 0 && l.trips >= 16 && !b.groups.empty();
  uint64_t own = l.range ? uint64_t(1) << p.range_bit.lookup(l.range) : 0;
  double across = INFINITY;           // LLVM's SLP packs one lane from each of a group's runs, when it has several
  llvm::SmallVector<int, 4> gathered; // such groups: each element loaded and inserted into its vector alone
  for (auto& [g, use] : b.groups) {
    const Group& group = p.groups[g];
    double width = vector_bytes / group.elem_bytes;
    std::vector<int64_t> group_runs = runs(sorted_unique(use.first));
    for (int64_t run : group_runs) lanes = std::max(lanes, std::min<double>(width, double(run)));
    if (llvm::count_if(group_runs, [](int64_t run) { return run > 1; }) > 1) {
      across = std::min(across, double(group_runs.size()));
      gathered.push_back(g);
    }
    int64_t stride = 0;
    for (auto& [atom, coef] : group.terms)
      if (atom == l.range)
        stride = coef;
      else if (atom->op != Op::RANGE && p.ranges_of.lookup(atom) & own)
        stride = 2; // not affine in this loop's range: a gather
    loop_vectorized &= stride == 0 || stride == 1;
  }
  // (the disassembly of a 16M sum in 2 streams of 16 partial sums: xmm pairs of one lane from each stream, 4x slower)
  lanes = std::exp2(std::floor(std::log2(std::min(lanes, across))));
  // an op across lanes is a shuffle and a scalar op
  double fp = b.fp_ops / lanes + 2 * b.lane_ops + slow_op_cycles * b.slow_ops / lanes, loads = 0, stores = 0;
  int live = 1; // a broadcast operand
  for (auto& [g, use] : b.groups)
    for (int64_t run : runs(sorted_unique(use.first))) {
      bool one_by_one = llvm::is_contained(gathered, g);
      double ops = lanes > 1 && !one_by_one ? std::ceil(double(run) / lanes) : double(run);
      if (one_by_one) fp += double(run); // the inserts
      (use.second ? stores : loads) += ops;
      if (!use.second && run > 1 && lanes > 1 && !one_by_one)
        live += int(ops); // vector operands a register tile reuses
    }
  BodyCost c;
  c.chains = b.accumulators ? int(std::ceil(b.accumulators / lanes)) : 0;
  c.registers = c.chains + live;
  // past the registers, LLVM keeps accumulators on the stack: each chain loads and stores a trip (cpu-kernels.md: an
  // 8x2 tile of 19 registers ran 168 GFLOP/s on one core, a 16x2 of 35 registers 74)
  if (c.registers > unit.registers) loads += c.chains, stores += c.chains;
  double latency = b.accumulators ? fp_latency * b.chain_ops : 0;
  c.cycles = std::max({fp / fp_pipes, loads / load_ports, stores / store_ports, latency}) + 1; // + the loop's step
  if (loop_vectorized) c.cycles /= double(unit.lanes), lanes = double(unit.lanes);
  c.lanes = int(lanes);
  return c;
}

// Bytes of the cache lines a group touches over the ranges of mask: the innermost such range (smallest stride) and
// the group's offsets form intervals or points; every other range multiplies them.
double footprint(const Program& p, const Group& g, uint64_t mask) {
  std::vector<std::pair<double, double>> dims; // stride, trips
  for (auto& [atom, coef] : g.terms) {
    uint64_t in = p.ranges_of.lookup(atom) & mask;
    if (!in) continue;
    double trips = 1;
    for (auto& [range, bit] : p.range_bit)
      if (in & (uint64_t(1) << bit)) trips *= trips_of(range);
    dims.push_back({atom->op == Op::RANGE ? double(std::abs(coef)) : 1, trips});
  }
  llvm::sort(dims);
  auto lines_of = [&](const std::vector<int64_t>& offsets) {
    llvm::DenseSet<int64_t> lines;
    for (int64_t o : offsets) lines.insert(int64_t(std::floor(double(o) * g.elem_bytes / line_bytes)));
    return double(lines.size());
  };
  if (dims.empty()) return lines_of(g.offsets) * line_bytes;
  auto [stride, trips] = dims[0];
  double bytes;
  if (stride * g.elem_bytes >= line_bytes) {
    bytes = trips * lines_of(g.offsets) * line_bytes;
  } else { // a dense interval from each offset: merged, in lines
    bytes = 0;
    double span = stride * (trips - 1) + 1, start = double(g.offsets[0]), end = start + span;
    for (int64_t o : g.offsets) {
      if (double(o) > end)
        bytes += std::ceil((end - start) * g.elem_bytes / line_bytes) * line_bytes, start = double(o);
      end = std::max(end, double(o) + span);
    }
    bytes += std::ceil((end - start) * g.elem_bytes / line_bytes) * line_bytes;
  }
  for (size_t i = 1; i < dims.size(); i++) bytes *= dims[i].second;
  return bytes;
}

// Bytes brought from beyond a cache of `capacity` by one run of a loop: what it touches if that fits, else its own
// accesses (no reuse between trips) and its inner loops' traffic, each trip.
double traffic(const Program& p, int loop, double capacity, const std::vector<double>& touched) {
  const Loop& l = p.loops[loop];
  if (touched[loop] <= capacity) return touched[loop];
  double own = 0;
  uint64_t here = l.range ? uint64_t(1) << p.range_bit.lookup(l.range) : 0;
  for (auto& [g, use] : l.block.groups) own += footprint(p, p.groups[g], here);
  for (int child : l.children) own += l.trips * traffic(p, child, capacity, touched);
  return own;
}

} // namespace

Cost estimate_cost(const std::vector<UOp>& program) {
  llvm::DenseSet<const Node*> address = addressing(program);
  Cost c;
  double trips = 1;
  llvm::SmallVector<double, 8> outer; // the trip count outside each open loop
  for (const UOp& u : program) {
    if (u->op == Op::RANGE) {
      outer.push_back(trips);
      trips *= double(std::max<__int128>(0, u->src[0]->vmax));
    } else if (u->op == Op::END && !outer.empty()) {
      trips = outer.pop_back_val();
    } else if (u->op == Op::LOAD) {
      c.bytes += trips * bytes_of(u->dtype);
    } else if (u->op == Op::STORE) {
      c.bytes += trips * bytes_of(u->src[2]->dtype);
    } else if (is_alu(u->op) && !address.count(u.get())) {
      c.flops += trips * (u->op == Op::MULACC ? 2 : 1);
    }
  }
  return c;
}

CostFeatures model_cost(const std::vector<UOp>& program, const lowering::VectorUnit& unit) {
  CostFeatures f;
  f.cost = estimate_cost(program);
  f.nodes = int64_t(program.size());
  Program p = read_program(program);
  double cycles = 0, hottest = -1;
  for (size_t i = 0; i < p.loops.size(); i++) {
    BodyCost c = body_cost(p, int(i), unit);
    double total = c.cycles * p.loops[i].execs;
    cycles += total;
    if (total > hottest) {
      hottest = total;
      f.lanes = c.lanes, f.chains = c.chains, f.chain_ops = p.loops[i].block.chain_ops, f.registers = c.registers;
    }
  }
  double cores = double(thread_count());
  if (p.thread_trips > 0) f.threads = std::min(cores, p.thread_trips / std::ceil(p.thread_trips / cores));
  std::vector<double> touched(p.loops.size(), 0); // bytes each loop nest touches in one run
  for (size_t i = 0; i < p.loops.size(); i++)
    for (const Group& g : p.groups) {
      bool inside = llvm::any_of(g.loops, [&](int l) {
        while (l > int(i)) l = p.loops[l].parent; // parents come before their children
        return l == int(i);
      });
      if (inside) touched[i] += footprint(p, g, i == 0 ? ~uint64_t(0) : p.loops[i].mask);
    }
  f.l1_miss_bytes = traffic(p, 0, cache_bytes[0], touched);
  f.l2_miss_bytes = traffic(p, 0, cache_bytes[1], touched);
  f.l3_miss_bytes = traffic(p, 0, cache_bytes[2], touched);
  f.compute_ms = 1e3 * cycles / clock_hz / f.threads;
  f.memory_ms = 1e3 * std::max({f.l1_miss_bytes / (bandwidth[0] * f.threads),
                                f.l2_miss_bytes / (bandwidth[1] * f.threads), f.l3_miss_bytes / bandwidth[2]});
  // compute and memory overlap only in part (measured: a conv2d's loop orders at equal compute differ by the memory
  // traffic's share, 6 vs 11 ms); and among plans the estimate ties, the smaller program, the simpler code, wins
  f.ms = (std::max(f.compute_ms, f.memory_ms) + overlap_miss * std::min(f.compute_ms, f.memory_ms)) *
         (1 + double(f.nodes) / size_scale);
  return f;
}

} // namespace patgrad::runtime
