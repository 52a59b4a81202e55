// Lowering: tensor graphs to kernels (schedule), and each kernel through the pipeline's stages to a linear program and
// its target's text (lower_kernel, the driver); the native stages' C++ is declared here too.
#pragma once
#include "rewriter/rewriter.h"
#include <functional>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::lowering {

using uops::DType;
using uops::Op;
using uops::UOp;

struct Kernel {
  std::string name;         // E_4_8 (elementwise) or R_4_1 (with a reduction), by output shape
  UOp ast;                  // SINK(OUTPUT(PARAM 0, x)): the tensor graph x with PARAMs for its inputs (index.pat)
  std::vector<UOp> buffers; // the BUFFER node of each PARAM, by parameter number; [0] is the output
  UOp node;                 // the tensor-graph node it computes
};

// schedule.cpp: the kernels that compute roots, in an order that respects their dependencies. Each root gets the
// BUFFER that new_buffer(dtype, size) makes, as do the intermediate results that cannot fuse into their consumers
// (a reduction that is expanded or reduced again, an explicit CONTIGUOUS); everything else fuses.
struct Schedule {
  std::vector<Kernel> kernels;
  std::vector<UOp> outputs; // BUFFER of each root
};
// known(node), if given, returns the BUFFER already holding a node's value (or a null UOp): such a node is loaded, not
// computed, and what only it needs is not scheduled.
Schedule schedule(llvm::ArrayRef<UOp> roots, const std::function<UOp(DType, int64_t)>& new_buffer,
                  const std::function<UOp(const uops::Node*)>& known = {});

// optimize.cpp: the kernel (after sym) with its optimizations marked for opts.pat: a register tile, UPCAST of one or
// two output ranges, where the kernel reduces (limit caps the inner side, a vector of neighbours that some load reads
// in order); or partial sums, UPCAST around a float sum (to one number, or where no output axis makes vectors); the
// kernel itself where nothing fits.
// upcast_limit(): PATGRAD_UPCAST (1 turns upcasting off), default 64.
UOp optimize(const UOp& ast, int64_t limit);
// The optimizations marked in a kernel, for DEBUG=2: "upcast r2:8 r3:20" (a tile), "sum r4:16" (partial sums), "" none.
std::string describe_opts(const UOp& ast);
int64_t upcast_limit();

// merge_ends.cpp: ENDs over the same ranges as one END of a GROUP (an upcast kernel's copies share their loops).
llvm::Expected<UOp> merge_ends(const UOp& ast);
// linearize.cpp: the kernel as an ordered list: RANGE opens a loop, END closes it, each node after its sources;
// errors name what makes a graph unorderable (see the file's contract).
llvm::Expected<std::vector<UOp>> linearize(const UOp& ast);
// pipeline.cpp: whether the driver has a native stage of this name.
bool is_native_stage(llvm::StringRef name);

// pipeline.cpp: a kernel through every stage of the library's pipeline for a target ("CPU", "INTERP"): the linear
// program, and the program text where the target has a render group (empty otherwise: INTERP runs the program).
struct Lowered {
  std::vector<UOp> program;
  std::string source;
  std::string opts; // describe_opts of the optimize stage's marks
};
llvm::Expected<Lowered> lower_kernel(const Kernel& k, std::string_view target, const rewriter::Library& lib,
                                     const rewriter::RewriteOptions& opts = {});

} // namespace patgrad::lowering
