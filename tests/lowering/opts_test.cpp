// Kernel opts (lowering/opts.cpp, patterns/opts.pat) and the heuristic that chooses them (lowering/optimize.cpp), on
// kernels the schedule cuts from small tensor graphs, after `sym`: what each opt builds, why an illegal one is refused,
// and which opts the heuristic picks for the kernels it was tuned on. What the opts compute is checked end to end by
// fuzz_tensors_random_opts (random legal opt lists on random tensor programs, against INTERP and a reference).
#include "frontend/autograd.h"
#include "frontend/tensor.h"
#include "runtime/target.h"
#include "tests/lowering/kernel_graphs.h"
#include <fmt/format.h>
#include <ostream>
#include <set>

using namespace patgrad;
using namespace patgrad::testing;
using lowering::Opt;

namespace patgrad::lowering {
std::ostream& operator<<(std::ostream& os, const Opt& o) { return os << to_string(o); } // for Catch's messages
} // namespace patgrad::lowering

namespace {

Tensor input(const Shape& shape, DType dtype = DType::f32) {
  std::vector<double> v(size_t(uops::prod(shape)));
  for (size_t i = 0; i < v.size(); i++) v[i] = double(i % 7);
  return Tensor::from_vector(v, shape).cast(dtype).realize();
}

// The one kernel that computes t (its inputs realized first), after index and sym: what optimize reads.
UOp kernel(Tensor t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 1);
  return run_pass("sym", run_pass("index", s.kernels[0].ast));
}

const rewriter::Pass& rules() { return *rewriter::builtin_library().pass("opts"); }

UOp applied(const UOp& ast, const std::vector<Opt>& opts) {
  return expect_ok(lowering::apply_opts(ast, opts, rules()));
}
std::string refused(const UOp& ast, const std::vector<Opt>& opts) {
  return expect_error(lowering::apply_opts(ast, opts, rules()));
}

int64_t trips(const UOp& r) { return int64_t(r->src[0]->value().i); }

// The kernel's output ranges (its END's), outermost first.
std::vector<UOp> outputs(const UOp& ast) {
  REQUIRE(ast->src[0]->op == Op::END);
  return {ast->src[0]->src.begin() + 1, ast->src[0]->src.end()};
}

// The number of the one range of the kernel with n trips.
int64_t numbered(const UOp& ast, int64_t n) {
  std::vector<int64_t> found;
  for (const UOp& r : nodes_of(ast, Op::RANGE))
    if (trips(r) == n) found.push_back(number(r));
  REQUIRE(found.size() == 1);
  return found[0];
}

std::vector<int64_t> trips_of(llvm::ArrayRef<UOp> ranges) {
  std::vector<int64_t> out;
  for (const UOp& r : ranges) out.push_back(trips(r));
  return out;
}

bool no_marks(const UOp& ast) {
  for (Op op : {Op::UPCAST, Op::UNROLL, Op::SPLIT, Op::SWAP, Op::THREAD, Op::PAD_TO})
    if (!nodes_of(ast, op).empty()) return false;
  return true;
}

// out[i, j] = sum_k a[i, k] * b[k, j] with i < 8, j < 64, k < 128
UOp matmul() { return kernel(input({8, 128}).matmul(input({128, 64}))); }

// The heuristic for AVX-512's 16 lanes and 32 registers unless a test gives another unit, whatever the host.
constexpr lowering::VectorUnit avx512{16, 32, true}, avx2{8, 16, false};
std::vector<Opt> heuristic(const UOp& ast, int64_t limit, lowering::VectorUnit unit = avx512) {
  return lowering::optimize(ast, limit, unit);
}

} // namespace

TEST_CASE("opts: upcasts copy the store per neighbour; two make a register tile", "[lowering][opts]") {
  UOp k = matmul();
  int64_t rows = numbered(k, 8), cols = numbered(k, 64);
  UOp done = applied(k, {{Opt::UPCAST, cols, 32}, {Opt::UPCAST, rows, 8}});
  INFO(uops::sexpr(done));
  CHECK(no_marks(done));
  CHECK(nodes_of(done, Op::STORE).size() == 8 * 32);
  std::set<const uops::Node*> indices; // the copies are the neighbours: every output index once
  for (const UOp& st : nodes_of(done, Op::STORE)) indices.insert(st->src[1].get());
  CHECK(indices.size() == 8 * 32);
  // the ranges keep their numbers over an 8th and a 32nd of their trips (the sum's kept axis of 1 aside)
  for (const UOp& r : outputs(done)) {
    if (number(r) == rows) CHECK(trips(r) == 1);
    if (number(r) == cols) CHECK(trips(r) == 2);
  }
  // a register tile: the copies of the sum share its loop, and b's loads are shared by the rows, a's by the columns
  CHECK(nodes_of(done, Op::REDUCE).size() == 8 * 32);
  CHECK(nodes_of(done, Op::LOAD).size() == 8 + 32);
  CHECK(lowering::to_string(std::vector<Opt>{{Opt::UPCAST, cols, 32}, {Opt::UPCAST, rows, 8}}) ==
        fmt::format("upcast r{}:32, upcast r{}:8", cols, rows));
}

TEST_CASE("opts: split, swap, thread and pad reshape the loops", "[lowering][opts]") {
  UOp k = matmul();
  int64_t rows = numbered(k, 8), cols = numbered(k, 64), red = numbered(k, 128);
  std::vector<int64_t> before = trips_of(outputs(k));
  int64_t next = 0; // a split's new range takes the next free number
  for (const UOp& r : nodes_of(k, Op::RANGE)) next = std::max(next, number(r) + 1);

  // split: the range over a k-th of it in its place, a new one of k trips innermost
  UOp split = applied(k, {{Opt::SPLIT, cols, 8}});
  std::vector<UOp> outs = outputs(split);
  REQUIRE(outs.size() == before.size() + 1);
  CHECK(number(outs.back()) == next);
  CHECK(trips(outs.back()) == 8);
  CHECK(trips(*llvm::find_if(outs, [&](const UOp& r) { return number(r) == cols; })) == 8);
  UOp split_red = applied(k, {{Opt::SPLIT, red, 4}});
  REQUIRE(nodes_of(split_red, Op::REDUCE).size() == 1);
  CHECK(trips_of(llvm::ArrayRef(nodes_of(split_red, Op::REDUCE)[0]->src).drop_front()) == std::vector<int64_t>{32, 4});

  // swap and thread: the END's ranges in another order
  UOp swapped = applied(k, {{Opt::SWAP, rows, cols}});
  std::vector<int64_t> want = before;
  std::swap(*llvm::find(want, 8), *llvm::find(want, 64));
  CHECK(trips_of(outputs(swapped)) == want);
  UOp threaded = applied(k, {{Opt::THREAD, cols}});
  CHECK(number(outputs(threaded)[0]) == cols);
  CHECK(outputs(threaded).size() == before.size());

  // pad: an output range of 10 runs to 12, its extra trips' stores gated off; a sum's reads its identity
  UOp odd = kernel(input({10, 6}).sum({1}));
  int64_t ten = numbered(odd, 10), six = numbered(odd, 6);
  UOp padded = applied(odd, {{Opt::PAD, ten, 4}, {Opt::UPCAST, ten, 4}});
  CHECK(no_marks(padded));
  std::vector<UOp> stores = nodes_of(padded, Op::STORE);
  REQUIRE(stores.size() == 4);
  for (const UOp& st : stores) CHECK(st->src.size() == 4); // gated
  CHECK(trips(*llvm::find_if(outputs(padded), [&](const UOp& r) { return number(r) == ten; })) == 3);
  UOp padded_sum = applied(odd, {{Opt::PAD, six, 4}});
  REQUIRE(nodes_of(padded_sum, Op::REDUCE).size() == 1);
  CHECK(trips(nodes_of(padded_sum, Op::REDUCE)[0]->src[1]) == 8);
  CHECK(nodes_of(padded_sum, Op::REDUCE)[0]->src[0]->op == Op::WHERE);
}

TEST_CASE("opts: sum takes partial sums of a reduce range; unroll adds neighbours into one accumulator",
          "[lowering][opts]") {
  UOp k = matmul();
  int64_t red = numbered(k, 128);
  UOp sums = applied(k, {{Opt::SUM, red, 4}});
  CHECK(nodes_of(sums, Op::REDUCE).size() == 4);
  for (const UOp& r : nodes_of(sums, Op::REDUCE)) CHECK(trips(r->src[1]) == 32);
  UOp unrolled = applied(k, {{Opt::UNROLL, red, 4}});
  REQUIRE(nodes_of(unrolled, Op::REDUCE).size() == 1);
  CHECK(trips(nodes_of(unrolled, Op::REDUCE)[0]->src[1]) == 32);
  CHECK(nodes_of(unrolled, Op::LOAD).size() == 8); // four neighbours of a and of b a trip
  // a max unrolls into one MAX of its neighbours
  UOp max = kernel(input({8, 64}).max({1}));
  UOp max_unrolled = applied(max, {{Opt::UNROLL, numbered(max, 64), 4}});
  CHECK(nodes_of(max_unrolled, Op::REDUCE).size() == 1);
  CHECK(nodes_of(max_unrolled, Op::MAX).size() >= 3);
}

TEST_CASE("opts: an illegal opt is refused with the reason", "[lowering][opts]") {
  UOp k = matmul();
  int64_t rows = numbered(k, 8), cols = numbered(k, 64), red = numbered(k, 128);
  auto says = [&](const std::vector<Opt>& opts, const std::string& part) {
    std::string why = refused(k, opts);
    INFO(why);
    CHECK(why.find(part) != std::string::npos);
  };
  says({{Opt::UPCAST, 99, 2}}, "upcast r99:2: the kernel has no range r99");
  says({{Opt::UPCAST, red, 4}}, fmt::format("r{} is a reduce range: upcast copies outputs", red));
  says({{Opt::UPCAST, cols, 3}}, fmt::format("r{0} has 64 trips, which 3 does not divide (pad r{0}:3 first)", cols));
  says({{Opt::UPCAST, cols, 1}}, "the factor must be 2 or more");
  says({{Opt::SUM, cols, 4}}, "is an output range: sum takes a reduce range");
  says({{Opt::UNROLL, rows, 2}}, "is an output range: unroll takes a reduce range");
  says({{Opt::SPLIT, rows, 8}}, "has 8 trips: a split takes a factor below that");
  says({{Opt::SWAP, rows, red}}, "a reduction's loops run inside its outputs'");
  says({{Opt::SWAP, rows, rows}}, "a range swaps with another");
  says({{Opt::THREAD, red}}, "is a reduce range: threads share output loops");
  says({{Opt::PAD, cols, 4}}, "64 trips are a multiple of 4 already");
  says({{Opt::UPCAST, cols, 2}, {Opt::PAD, rows, 3}}, "pad r" + std::to_string(rows) + " before the upcasts");
  says({{Opt::UPCAST, cols, 64}, {Opt::UPCAST, rows, 8}, {Opt::SUM, red, 4}}, "more than 1024 copies");
  UOp max = kernel(input({8, 64}).max({1}));
  std::string why = refused(max, {{Opt::SUM, numbered(max, 64), 4}});
  CHECK(why.find("is reduced by MAX: partial sums are for sums") != std::string::npos);
  // a refused opt leaves nothing half done: the check runs before the mark
  CHECK(!lowering::check_opt(k, {Opt::UPCAST, cols, 4}));
  llvm::Error e = lowering::check_opt(k, {Opt::UPCAST, cols, 3});
  CHECK(bool(e));
  llvm::consumeError(std::move(e));
}

TEST_CASE("optimize: a matmul's tile is a vector of columns by rows that share the loads", "[lowering][opts]") {
  // b's load is shared across the rows, a's across the columns (read in order: the vector side)
  UOp k = matmul();
  int64_t rows = numbered(k, 8), cols = numbered(k, 64);
  // 4 of the 8 rows: the outermost loop (the threads') keeps two trips
  CHECK(heuristic(k, 32) == std::vector<Opt>{{Opt::UPCAST, cols, 32}, {Opt::UPCAST, rows, 4}});
  // a limit of 4 caps the vector side (4 lanes, still 4 rows); under 4 there is no vector side, so the two axes that
  // share loads, 2 each; nothing to gain without a reduction, or with PATGRAD_UPCAST=1
  CHECK(heuristic(k, 4) == std::vector<Opt>{{Opt::UPCAST, cols, 4}, {Opt::UPCAST, rows, 4}});
  CHECK(heuristic(k, 2) == std::vector<Opt>{{Opt::UPCAST, cols, 2}, {Opt::UPCAST, rows, 2}});
  CHECK(heuristic(kernel(input({4, 64}) * 2.0), 32).empty());
  CHECK(heuristic(k, 1).empty());
  // AVX2: half the lanes and half the registers, so half the vector side (two registers) and a quarter of the rows:
  // eight accumulators of 16 registers (32 by 8 would be 32 of them: LLVM spills, 40 GFLOP/s against 83 measured)
  CHECK(heuristic(k, 32, avx2) == std::vector<Opt>{{Opt::UPCAST, cols, 16}, {Opt::UPCAST, rows, 4}});
}

TEST_CASE("optimize: a packed matmul's tile on AVX2 is 6 rows of 2 registers, padded, inside the column panels",
          "[lowering][opts]") {
  // 100 x 256 @ 256 x 1024: b is packed first (a kernel of its own) as 32 panels of 256 rows by 32 columns. Twelve
  // accumulators of AVX2's 16 registers: 6 rows, not a power of two, so the rows are padded to 102 (their last tile's
  // extra rows store nothing); the rows run inside the panels, so that a panel stays in cache for every row tile
  Tensor a = input({100, 256}), b = input({256, 1024});
  lowering::Schedule s = lowering::schedule({a.matmul(b).uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 2);
  const rewriter::Library& lib = rewriter::builtin_library();
  UOp k = expect_ok(lowering::lower_to_optimize(s.kernels[1], "CPU", lib));
  std::vector<UOp> outs = outputs(k);
  REQUIRE(trips_of(outs) == std::vector<int64_t>{100, 32, 32, 1});
  int64_t rows = number(outs[0]), panels = number(outs[1]), cols = number(outs[2]);
  std::vector<Opt> opts = heuristic(k, 64, avx2);
  CHECK(opts == std::vector<Opt>{
                    {Opt::SWAP, rows, panels}, {Opt::PAD, rows, 6}, {Opt::UPCAST, cols, 16}, {Opt::UPCAST, rows, 6}});
  // and it computes the product (the packing kernel first), against float64
  const runtime::Target& cpu = *expect_ok(runtime::find_target("CPU"));
  auto run = [&](const lowering::Kernel& kernel, const lowering::Lowered& lowered) {
    std::vector<runtime::Buffer*> bufs;
    for (const UOp& buf : kernel.buffers) bufs.push_back(&runtime::buffer(buf));
    CHECK(message(expect_ok(cpu.compile(lowered, kernel.name))->run(bufs)).empty());
  };
  run(s.kernels[0], expect_ok(lowering::lower_kernel(s.kernels[0], "CPU", lib)));
  run(s.kernels[1], expect_ok(lowering::lower_with_opts(s.kernels[1], k, opts, "CPU", lib)));
  const float* got = static_cast<const float*>(runtime::buffer(s.outputs[0]).data);
  std::vector<float> as = a.to_vector<float>(), bs = b.to_vector<float>();
  for (int i = 0; i < 100; i++)
    for (int j = 0; j < 1024; j += 7) {
      double want = 0;
      for (int l = 0; l < 256; l++) want += double(as[size_t(i * 256 + l)]) * bs[size_t(l * 1024 + j)];
      CHECK(got[i * 1024 + j] == float(want)); // small integers: exact in any order
    }
}

TEST_CASE("index: an output axis of one element is no loop, so that threads share the next", "[lowering][opts]") {
  // a batch norm's (1, C, 1, 1) statistics: the outermost loop is the one the CPU splits across its cores
  CHECK(trips_of(outputs(kernel(input({8, 32, 4, 4}).sum({0, 2, 3}, true)))) == std::vector<int64_t>{32, 1, 1});
  CHECK(trips_of(outputs(kernel(input({1, 1, 4, 4}).sum({}, true)))) == std::vector<int64_t>{1}); // one is kept
}

TEST_CASE("optimize: a convolution's tile is a row of pixels (vectors) by output channels", "[lowering][opts]") {
  // out[n, co, y, x] = sum x[n, ci, y + ky, x + kx] * w[co, ci, ky, kx]: the image's loads are the vectors (along x,
  // 16 lanes); output channels share them, rows would share only the weight's scalars
  UOp k = kernel(input({4, 16, 18, 18}).conv2d(input({16, 16, 3, 3})));
  std::vector<UOp> outs = outputs(k);
  REQUIRE(trips_of(outs) == std::vector<int64_t>{4, 1, 16, 16, 16, 1, 1, 1}); // the kept reduce axes last
  // a vector of one register by 8 channels would load a scalar per FMA: 4 channels by 2 rows load half as many; the
  // channels run inside the rows (whose input rows they share)
  CHECK(heuristic(k, 32) == std::vector<Opt>{{Opt::SWAP, number(outs[2]), number(outs[3])},
                                             {Opt::UPCAST, number(outs[4]), 16},
                                             {Opt::UPCAST, number(outs[2]), 4},
                                             {Opt::UPCAST, number(outs[3]), 2}});
  // a row of 56: one vector of 56 lanes (3.5 registers of 16), not 28 (16 + 8 + 4)
  UOp wide = kernel(input({1, 8, 58, 58}).conv2d(input({16, 8, 3, 3})));
  std::vector<UOp> wide_outs = outputs(wide);
  REQUIRE(trips_of(wide_outs) == std::vector<int64_t>{16, 56, 56, 1, 1, 1}); // one image: no loop of one trip
  std::vector<Opt> wide_opts = heuristic(wide, 64);
  CHECK(llvm::is_contained(wide_opts, Opt{Opt::UPCAST, number(wide_outs[2]), 56}));
}

TEST_CASE("optimize: a small image's convolution makes vectors of output channels, stored channels last",
          "[lowering][opts]") {
  // rows of 6 pixels fill few lanes: the frontend stores the weight channels last first (a kernel of its own), so its
  // loads along the 64 output channels are in order, and they are the vector side; the other side is the output's
  // rows, which no load reads in order (columns would lead the vectorizer to vectors of 2 pixels)
  Tensor out = input({8, 16, 8, 8}).conv2d(input({64, 16, 3, 3}));
  lowering::Schedule s = lowering::schedule({out.uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 2);
  UOp k = run_pass("sym", run_pass("index", s.kernels[1].ast));
  std::vector<UOp> outs = outputs(k);
  REQUIRE(trips_of(outs) == std::vector<int64_t>{8, 1, 64, 6, 6, 1, 1, 1});
  std::vector<Opt> opts = heuristic(k, 32);
  REQUIRE(opts.size() == 2);
  CHECK(opts[0] == Opt{Opt::UPCAST, number(outs[2]), 32});
  CHECK(opts[1].range == number(outs[3]));
  // AVX2 cannot scatter: the channels are not next to each other in the output, so LLVM would make no vectors of
  // them at all; the 6 columns, stored in order, are the vector side there
  std::vector<Opt> avx2_opts = heuristic(k, 32, avx2);
  CHECK(llvm::is_contained(avx2_opts, Opt{Opt::UPCAST, number(outs[4]), 6}));
  CHECK(!llvm::any_of(
      avx2_opts, [&](const Opt& o) { return o.kind == Opt::UPCAST && o.range == number(outs[2]) && o.amount > 8; }));
  // and the values are the convolution's (the channels-last copy is read right)
  Tensor small = input({1, 16, 4, 4}), w = input({16, 16, 3, 3});
  std::vector<float> got = small.conv2d(w).to_vector<float>(), xs = small.to_vector<float>(), ws = w.to_vector<float>();
  for (int co = 0; co < 16; co++)
    for (int y = 0; y < 2; y++)
      for (int x = 0; x < 2; x++) {
        double want = 0;
        for (int ci = 0; ci < 16; ci++)
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
              want +=
                  double(xs[size_t((ci * 4 + y + ky) * 4 + x + kx)]) * ws[size_t(((co * 16 + ci) * 3 + ky) * 3 + kx)];
        CHECK(got[size_t((co * 2 + y) * 2 + x)] == float(want));
      }
}

TEST_CASE("optimize: sums whose output axes share no load and are not contiguous take partial sums",
          "[lowering][opts]") {
  // out[i] = sum_k x[i, k]: i strides by 256 through x, so no vectors of outputs; k is read in order: 16 partial
  // sums of it share the loop
  UOp rows = kernel(input({64, 256}).sum({1}));
  CHECK(heuristic(rows, 32) == std::vector<Opt>{{Opt::SUM, numbered(rows, 256), 16}});
  UOp done = applied(rows, heuristic(rows, 32));
  CHECK(no_marks(done));
  CHECK(nodes_of(done, Op::REDUCE).size() == 16);
  // a batch norm's sum per channel over images and pixels: the innermost range (a row of 20 pixels) whole, as one
  // vector of 20 partial sums
  UOp bn = kernel(input({64, 8, 20, 20}).sum({0, 2, 3}));
  std::vector<Opt> bn_opts = heuristic(bn, 32);
  REQUIRE(bn_opts.size() == 1);
  CHECK(bn_opts[0].kind == Opt::SUM);
  CHECK(bn_opts[0].amount == 20);
  // column sums read the output axis in order: it is the vector side
  UOp cols = kernel(input({256, 64}).sum({0}));
  CHECK(heuristic(cols, 32) == std::vector<Opt>{{Opt::UPCAST, numbered(cols, 64), 32}});
}

TEST_CASE("optimize: a weight gradient is a tile of output channels (vectors) by input channels", "[lowering][opts]") {
  // convolve_backward: dw as (kh, kw, groups, cin, rcout) = sum over images and pixels of x's windows times g
  // transposed to (n, oh, ow, cout), first over parts of the batch (2 of 2 images here): rcout is read in order from
  // g (the vector side), g's load does not use cin
  Tensor x = input({4, 16, 10, 10}), w = input({16, 16, 3, 3}), g = input({4, 16, 8, 8});
  w.requires_grad_();
  Tensor dw = gradients((x.conv2d(w) * g).sum(), {w})[0];
  lowering::Schedule s = lowering::schedule({dw.uop()}, runtime::new_buffer);
  const lowering::Kernel* k = nullptr;
  for (const lowering::Kernel& c : s.kernels)
    if (c.node->shape == uops::Shape{2, 3, 3, 1, 16, 16}) k = &c;
  REQUIRE(k);
  UOp ast = run_pass("sym", run_pass("index", k->ast));
  std::vector<UOp> outs = outputs(ast);
  CHECK(heuristic(ast, 32) == std::vector<Opt>{{Opt::UPCAST, number(outs[5]), 16}, {Opt::UPCAST, number(outs[4]), 8}});
}

TEST_CASE("optimize: a long float sum to one number becomes partial sums in one loop", "[lowering][opts]") {
  UOp k = kernel(input({1 << 16}).sum());
  int64_t inner = numbered(k, 1024); // the tree's innermost level
  CHECK(heuristic(k, 32) == std::vector<Opt>{{Opt::SUM, inner, 16}});
  UOp done = applied(k, heuristic(k, 32));
  INFO(uops::sexpr(done));
  // 16 REDUCEs over one range of 64 trips (which keeps its number), each of 64 neighbours 16 apart, added up
  std::vector<UOp> parts;
  for (const UOp& r : nodes_of(done, Op::REDUCE))
    if (number(r->src[1]) == inner) parts.push_back(r);
  REQUIRE(parts.size() == 16);
  for (const UOp& r : parts) {
    CHECK(r->src[1] == parts[0]->src[1]);
    CHECK(trips(r->src[1]) == 64);
  }
  // integer sums are left alone
  CHECK(heuristic(kernel(input({1 << 16}, DType::i32).sum()), 32).empty());
}
