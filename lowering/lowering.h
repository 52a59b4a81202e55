// Lowering: tensor graphs to kernels (schedule), and each kernel through the pipeline's stages to a linear program and
// its target's text (lower_kernel, the driver); the native stages' C++ is declared here too.
#pragma once
#include "rewriter/rewriter.h"
#include <functional>
#include <llvm/ADT/DenseMap.h>
#include <optional>

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

// opts.cpp: a kernel optimization, one named action on a range (by number: r3 is RANGE[3]) of the kernel after sym.
//   upcast rN:k   k neighbouring outputs of output range rN per trip (copies of the body; two make a register tile)
//   sum rN:k      k partial sums of reduce range rN, one accumulator each (a vector of them), added at the end
//   unroll rN:k   k neighbours of reduce range rN a trip, into one accumulator
//   split rN:k    rN as an outer range of a k-th of it and a new innermost range of k trips (of the same END or REDUCE)
//   swap rN rM    two output ranges, or two ranges of one reduction, trade loops
//   thread rN     output range rN becomes the outermost, the loop the target shares between threads
//   pad rN:m      rN runs to the next multiple of m (its extra trips store nothing, or reduce the op's identity)
struct Opt {
  enum Kind : uint8_t { UPCAST, SUM, UNROLL, SPLIT, SWAP, THREAD, PAD } kind;
  int64_t range;
  int64_t amount = 0; // the factor or multiple; swap: the other range's number
  bool operator==(const Opt&) const = default;
};
std::string to_string(const Opt& o);                               // "upcast r2:8", "swap r1 r3", "thread r2"
std::string to_string(llvm::ArrayRef<Opt> opts);                   // joined by ", "
llvm::Expected<std::vector<Opt>> parse_opts(llvm::StringRef text); // to_string's text back; "" is no opts
// The opts a search tries next on this kernel: upcasts of each output range by 2-32, thread, swaps of neighbouring
// output ranges, sums and unrolls of each reduce range by 2-16; only the legal ones.
std::vector<Opt> opt_actions(const UOp& ast);
// Whether o applies to the kernel; the error says why not ("upcast r3:4: r3 has 10 trips, which 4 does not divide
// (pad r3:4 first)").
llvm::Error check_opt(const UOp& ast, const Opt& o);
// Whether o copies the kernel's body (upcast, sum, unroll: its amount times): what caps an opt list.
bool copies_body(const Opt& o);
int64_t body_copies(llvm::ArrayRef<Opt> opts); // the copies of the body a list makes: the product of those amounts
// The kernel with o checked, marked and carried out by rules (the `opts` pass, stage=optimize); opts in order, their
// copies of the body (upcasts, sums, unrolls) at most 1024 together.
llvm::Expected<UOp> apply_opt(const UOp& ast, const Opt& o, const rewriter::Pass& rules);
llvm::Expected<UOp> apply_opts(const UOp& ast, llvm::ArrayRef<Opt> opts, const rewriter::Pass& rules);

// optimize.cpp: the heuristic's opts for a kernel after sym: a register tile (upcasts of one or two output ranges,
// where the kernel reduces; limit caps the inner side, a vector of neighbours that some load reads in order); or
// partial sums of a float sum (to one number, or where no output axis makes vectors); or copies of an elementwise
// kernel's innermost range that index arithmetic divides; nothing where nothing fits.
// upcast_limit(): PATGRAD_UPCAST (1 turns upcasting off), default 64.
// The host's vector registers: fp32 lanes in one, and how many there are (AVX-512: 16 and 32; AVX2: 8 and 16; NEON:
// 4 and 32; SSE: 4 and 16; only AVX-512 scatters), from LLVM's reading of the CPU's features, once. A register tile is
// sized by them.
struct VectorUnit {
  int64_t lanes = 16;
  int64_t registers = 32;
  bool scatter = true; // stores to lanes apart in memory (AVX-512): else a tile's vector side must be stored in order
};
VectorUnit host_vector_unit();
std::vector<Opt> optimize(const UOp& ast, int64_t limit, const VectorUnit& unit = host_vector_unit());
int64_t upcast_limit();
// PATGRAD_RANDOM_OPTS=seed: instead, random legal opts for every kernel (tests compare what they do with INTERP), a
// repeatable choice per kernel text; the kernel with them applied.
std::optional<uint64_t> random_opts_seed();
llvm::Expected<std::pair<UOp, std::vector<Opt>>> random_opts(const UOp& ast, uint64_t seed,
                                                             const rewriter::Pass& rules);

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
  std::string opts; // the optimize stage's opts, for DEBUG=2 (to_string)
};
llvm::Expected<Lowered> lower_kernel(const Kernel& k, std::string_view target, const rewriter::Library& lib,
                                     const rewriter::RewriteOptions& opts = {});
// The same in two halves, for a search over opts: the kernel through the stages before `optimize` (what opts apply
// to), then from `optimize` on with the given opts instead of the heuristic's.
llvm::Expected<UOp> lower_to_optimize(const Kernel& k, std::string_view target, const rewriter::Library& lib);
llvm::Expected<Lowered> lower_with_opts(const Kernel& k, const UOp& ast, llvm::ArrayRef<Opt> opts,
                                        std::string_view target, const rewriter::Library& lib);

} // namespace patgrad::lowering
