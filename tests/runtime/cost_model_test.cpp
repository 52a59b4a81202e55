// The cost model (runtime/cost_model.cpp): each feature it reads from a linear program, on kernels whose answer is
// known by construction, and the orderings a search relies on (a register tile over no tile, partial sums over an
// unroll into one accumulator, a tile that fits the registers over one that spills).
#include "frontend/tensor.h"
#include "runtime/cost_model.h"
#include "runtime/thread_pool.h"
#include "tests/lowering/kernel_graphs.h"
#include "tests/shell.h"
#include <cmath>

using namespace patgrad;
using namespace patgrad::testing;
using lowering::Opt;
using uops::UOp;

namespace {

Tensor input(const Shape& shape) { // f32: 16 lanes to a vector
  std::vector<float> v(size_t(uops::prod(shape)));
  for (size_t i = 0; i < v.size(); i++) v[i] = float(i % 7) - 3;
  return Tensor::from_vector(v, shape).realize();
}

struct Planned {
  lowering::Kernel kernel;
  UOp ast; // after sym: what opts apply to
};

// The kernel of t's schedule that reads the most elements: the one doing the work.
Planned plan(const Tensor& t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  REQUIRE(!s.kernels.empty());
  auto reads = [](const lowering::Kernel& k) {
    int64_t n = 0;
    for (size_t i = 1; i < k.buffers.size(); i++) n += runtime::buffer(k.buffers[i]).size;
    return n;
  };
  lowering::Kernel k = *llvm::max_element(s.kernels, [&](auto& a, auto& b) { return reads(a) < reads(b); });
  return {k, expect_ok(lowering::lower_to_optimize(k, "CPU", rewriter::builtin_library()))};
}

// The model's figures for AVX-512 (16 lanes, 32 registers) unless a test gives another unit, whatever the host.
constexpr lowering::VectorUnit avx512{16, 32, true}, avx2{8, 16, false};

runtime::CostFeatures model(const Planned& p, const std::vector<Opt>& opts, lowering::VectorUnit unit = avx512) {
  INFO(lowering::to_string(opts));
  auto lowered = expect_ok(lowering::lower_with_opts(p.kernel, p.ast, opts, "CPU", rewriter::builtin_library()));
  return runtime::model_cost(lowered.program, unit);
}

// The kernel's output ranges, outermost first, by their upcast actions.
std::vector<int64_t> output_ranges(const UOp& ast) {
  std::vector<int64_t> out;
  for (const Opt& a : lowering::opt_actions(ast))
    if (a.kind == Opt::UPCAST && !llvm::is_contained(out, a.range)) out.push_back(a.range);
  return out;
}

// The innermost reduce range (a long sum is split in parts first: its inner range is the long one).
int64_t inner_reduce_range(const UOp& ast) {
  int64_t r = -1;
  for (const Opt& a : lowering::opt_actions(ast))
    if (a.kind == Opt::UNROLL) r = std::max(r, a.range);
  REQUIRE(r >= 0);
  return r;
}

} // namespace

TEST_CASE("the cost model counts a matmul's flops and its compulsory traffic", "[runtime][cost_model]") {
  Planned p = plan(input({256, 256}).matmul(input({256, 256})));
  std::vector<int64_t> outs = output_ranges(p.ast); // rows, columns
  REQUIRE(outs.size() == 2);
  // a fixed tile: the heuristic's may pad the rows, which adds flops
  runtime::CostFeatures f = model(p, {{Opt::UPCAST, outs[1], 32}, {Opt::UPCAST, outs[0], 8}});
  CHECK(f.cost.flops == 2.0 * 256 * 256 * 256); // a multiply and an add per term
  // its three matrices (768 KiB) fit L2: past L2 it moves each once, and past L1 more
  double matrices = 3.0 * 256 * 256 * 4;
  CHECK(f.l2_miss_bytes == Approx(matrices).epsilon(0.05));
  CHECK(f.l3_miss_bytes == Approx(matrices).epsilon(0.05));
  CHECK(f.l1_miss_bytes >= f.l2_miss_bytes);
  CHECK(f.ms > 0);
  // rows padded to a multiple of 6 (258) read the last row again: the same matrices, not fewer bytes (a clamped index
  // taken for an unknown one counted 8% fewer)
  runtime::CostFeatures padded =
      model(p, {{Opt::PAD, outs[0], 6}, {Opt::UPCAST, outs[1], 16}, {Opt::UPCAST, outs[0], 6}});
  CHECK(padded.l2_miss_bytes == Approx(matrices).epsilon(0.05));
}

TEST_CASE("the cost model: neighbouring copies fill vector lanes, strided ones do not", "[runtime][cost_model]") {
  Planned p = plan(input({64, 128}).matmul(input({128, 96})));
  std::vector<int64_t> outputs = output_ranges(p.ast);
  REQUIRE(outputs.size() == 2); // rows, then columns
  runtime::CostFeatures rows = model(p, {{Opt::UPCAST, outputs[0], 16}});
  runtime::CostFeatures columns = model(p, {{Opt::UPCAST, outputs[1], 16}});
  CHECK(rows.lanes == 1);     // 16 rows: loads 128 floats apart
  CHECK(columns.lanes == 16); // 16 columns: one vector of each row of the right operand
  CHECK(rows.chains == 16);   // a scalar accumulator each
  CHECK(columns.chains == 1); // one vector of them
  // a register tile (8 rows by 32 columns: 16 vector chains) beats no tile and either strip alone
  runtime::CostFeatures none = model(p, {});
  runtime::CostFeatures tile = model(p, {{Opt::UPCAST, outputs[1], 32}, {Opt::UPCAST, outputs[0], 8}});
  CHECK(tile.chains == 16);
  CHECK(tile.registers <= 32);
  CHECK(tile.ms < columns.ms);
  CHECK(columns.ms < none.ms);
  CHECK(rows.ms < none.ms);
}

TEST_CASE("the cost model: partial sums fill lanes; an unroll adds across them, copies of rows pack across rows",
          "[runtime][cost_model]") {
  Planned p = plan(input({64, 4096}).sum({1}));
  int64_t r = inner_reduce_range(p.ast);
  runtime::CostFeatures sums = model(p, {{Opt::SUM, r, 8}});
  runtime::CostFeatures unrolled = model(p, {{Opt::UNROLL, r, 8}});
  CHECK(sums.lanes == 8);
  CHECK(sums.chains == 1);                      // eight partial sums: one vector
  CHECK(sums.chain_ops == 1);                   // each adds one load a trip
  CHECK(unrolled.chain_ops == 1);               // the one accumulator adds the sum of eight loads
  CHECK(sums.compute_ms < unrolled.compute_ms); // whose seven adds combine lanes of one vector
  // four rows' partial sums at once: LLVM's SLP packs a lane from each row, loaded one by one (measured 4x slower on
  // a 16M sum), not four vectors
  runtime::CostFeatures one = model(p, {{Opt::SUM, r, 16}});
  runtime::CostFeatures four = model(p, {{Opt::SUM, r, 16}, {Opt::UPCAST, output_ranges(p.ast)[0], 4}});
  CHECK(one.chains == 1);
  CHECK(four.lanes == 4);
  CHECK(four.compute_ms > one.compute_ms);
}

TEST_CASE("the cost model: a tile past the vector registers spills (32 with AVX-512, 16 with AVX2)",
          "[runtime][cost_model]") {
  Planned p = plan(input({256, 256}).matmul(input({256, 256})));
  std::vector<int64_t> outputs = output_ranges(p.ast);
  REQUIRE(outputs.size() == 2);
  runtime::CostFeatures fits = model(p, {{Opt::UPCAST, outputs[1], 32}, {Opt::UPCAST, outputs[0], 8}});
  runtime::CostFeatures spills = model(p, {{Opt::UPCAST, outputs[1], 32}, {Opt::UPCAST, outputs[0], 16}});
  CHECK(fits.registers == 16 + 2 + 1); // accumulators, the right operand's two vectors, a broadcast
  CHECK(spills.registers == 32 + 2 + 1);
  // per flop (the same kernel: the same flops), the spilling tile is slower
  CHECK(spills.compute_ms > fits.compute_ms);
  // AVX2 has half the lanes and registers: the tile that fits AVX-512 spills, one of a quarter of its outputs fits
  runtime::CostFeatures narrow = model(p, {{Opt::UPCAST, outputs[1], 32}, {Opt::UPCAST, outputs[0], 8}}, avx2);
  runtime::CostFeatures quarter = model(p, {{Opt::UPCAST, outputs[1], 16}, {Opt::UPCAST, outputs[0], 4}}, avx2);
  CHECK(narrow.lanes == 8);
  CHECK(narrow.chains == 32);
  CHECK(quarter.registers == 8 + 2 + 1);
  CHECK(narrow.compute_ms > quarter.compute_ms); // the same kernel: the same flops
}

TEST_CASE("the cost model: the thread loop's trips are shared out whole between the cores", "[runtime][cost_model]") {
  Planned p = plan(input({3, 4096}).sum({1}));
  runtime::CostFeatures f = model(p, {});
  double cores = double(runtime::thread_count());
  CHECK(f.threads == Approx(std::min(cores, 3 / std::ceil(3 / cores)))); // 2 cores: 1.5 busy
}

TEST_CASE("the cost model: a sum too large for the caches streams its input once", "[runtime][cost_model]") {
  Planned p = plan(input({1 << 22}).sum());
  runtime::CostFeatures f = model(p, lowering::optimize(p.ast, lowering::upcast_limit()));
  double bytes = 4.0 * (1 << 22);
  CHECK(f.l3_miss_bytes == Approx(bytes).epsilon(0.05));
  CHECK(f.memory_ms > f.compute_ms); // bound by memory, not by its adds
}
