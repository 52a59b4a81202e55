// lower_kernel (lowering/pipeline.cpp), the driver: every kernel stage of the library's pipeline for one target, in
// order. Its contract on hand-built kernels: an unknown target is an error; INTERP gets the linear program and no text
// (and no thread range: that is the CPU's stage); CPU gets LLVM IR of a function named like the kernel; a pipeline
// without linearize, or with a rule pass after it, is an error naming the problem.
#include "tests/lowering/kernel_graphs.h"

using namespace patgrad;
using namespace patgrad::testing;

namespace {

// out[i] = sum_j in[i*4 + j] for i < 3: R_3_1
lowering::Kernel sum_kernel() {
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1);
  UOp x = load(in, add(mul(r0, idx(4)), r1));
  return {"R_3_1", sink({end(store(out, r0, reduce(Op::ADD, x, {r1})), {r0})}), {}, {}};
}

std::unique_ptr<rewriter::Library> library(const std::string& name, const std::string& text, bool with_builtin) {
  return expect_ok(rewriter::load_text(name, text, with_builtin));
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("lower_kernel: an unknown target is an error naming it", "[lowering][lower_kernel]") {
  std::string err = expect_error(lowering::lower_kernel(sum_kernel(), "GPU", rewriter::builtin_library()));
  CHECK(has(err, "no target 'GPU'"));
}

TEST_CASE("lower_kernel: INTERP gets the linear program and no text", "[lowering][lower_kernel]") {
  lowering::Lowered l = expect_ok(lowering::lower_kernel(sum_kernel(), "INTERP", rewriter::builtin_library()));
  CHECK(l.source.empty());
  REQUIRE(!l.program.empty());
  int ranges = 0, ends = 0, accs = 0;
  for (const UOp& n : l.program) {
    CHECK(n->op != Op::REDUCE);
    CHECK(n->op != Op::SINK);
    if (n->op == Op::RANGE) {
      ranges++;
      CHECK(n->src.size() == 1); // no thread range: `threads` runs for CPU only
    }
    if (n->op == Op::END) {
      ends++;
      CHECK(n->src.size() == 2);
    }
    accs += n->op == Op::DEFINE_ACC;
  }
  CHECK(ranges == 2);
  CHECK(ends == 2);
  CHECK(accs == 1);
}

TEST_CASE("lower_kernel: CPU gets LLVM IR of a function named like the kernel", "[lowering][lower_kernel]") {
  lowering::Lowered l = expect_ok(lowering::lower_kernel(sum_kernel(), "CPU", rewriter::builtin_library()));
  INFO(l.source);
  CHECK(has(l.source, "define void @R_3_1(ptr noalias %bufs, i64 %start, i64 %end)"));
  CHECK(has(l.source, "phi i64 [%start,")); // the outer loop runs over the call's share
  CHECK(has(l.source, "alloca float"));
  CHECK(has(l.source, "fadd float"));
  int thread_ranges = 0;
  for (const UOp& n : l.program) thread_ranges += n->op == Op::RANGE && n->src.size() == 3;
  CHECK(thread_ranges == 1);
}

TEST_CASE("lower_kernel: a pipeline without linearize is an error", "[lowering][lower_kernel]") {
  auto lib = library("no_linearize.pat",
                     "include \"prelude.pat\";\ngroup g { [add0] x<index> + 0 => x; }\npass a = g;\ntarget T;", false);
  std::string err = expect_error(lowering::lower_kernel(sum_kernel(), "T", *lib));
  CHECK(has(err, "the pipeline has no linearize stage"));
  // the same with linearize lowers (and renders nothing: T has no render group)
  auto with = library("linearize.pat",
                      "include \"reduce.pat\";\ninclude \"ends.pat\";\ngroup g { [add0] x<index> + 0 => x; }\n"
                      "pass a = g;\npass reduce = reduce_to_acc (order=post, fixpoint);\n"
                      "pass ends = split_ends (order=post, fixpoint);\npass linearize = native;\ntarget T;",
                      false);
  lowering::Lowered l = expect_ok(lowering::lower_kernel(sum_kernel(), "T", *with));
  CHECK(l.source.empty());
  CHECK(!l.program.empty());
}

TEST_CASE("lower_kernel: a user rule pass after linearize is an error naming the pass", "[lowering][lower_kernel]") {
  auto lib = library("late.pat",
                     "group late_rules { [late_add0] x<index> + 0 => x; }\n"
                     "pass late = late_rules (after=linearize);",
                     true);
  std::string err = expect_error(lowering::lower_kernel(sum_kernel(), "INTERP", *lib));
  CHECK(has(err, "pass 'late' runs rules on a linear program; put it before linearize"));
  CHECK(has(err, "late.pat")); // where the pass is declared
  // before linearize, the same pass is fine
  auto early = library("early.pat",
                       "group early_rules { [early_add0] x<index> + 0 => x; }\n"
                       "pass early = early_rules (before=linearize);",
                       true);
  CHECK(!expect_ok(lowering::lower_kernel(sum_kernel(), "INTERP", *early)).program.empty());
}

TEST_CASE("lower_kernel: a native stage the driver does not know is an error", "[lowering][lower_kernel]") {
  CHECK(lowering::is_native_stage("linearize"));
  CHECK(!lowering::is_native_stage("mystery"));
  // the loader takes any name (it does not know the driver's stages); the driver refuses it
  auto lib = library("mystery.pat", "pass mystery = native (before=linearize);", true);
  std::string err = expect_error(lowering::lower_kernel(sum_kernel(), "INTERP", *lib));
  CHECK(has(err, "mystery.pat"));
  CHECK(has(err, "no native stage 'mystery'"));
}
