# The pipeline: every stage from a tensor graph to a target's program, in the order they run. A stage is a rule pass
# (its groups and how to traverse) or `native`: C++ for what is not a local rewrite, registered by name in
# lowering/pipeline.cpp (schedule in frontend/realize.cpp). `target=NAME` runs a stage for that target only. A user's
# file adds a stage where it belongs with before=STAGE or after=STAGE; `patgrad passes` prints the result.
# Autograd's `grad` pass (gradient.pat) runs on tensor graphs, node by node, before any of this.

# Tensor graph to kernels: which nodes get a buffer, and one kernel each, SINK(OUTPUT(PARAM, tensor graph)).
pass schedule = native (stage=tensor);

# The kernel's loops: movement ops become index arithmetic, reductions REDUCEs over new ranges, long float sums trees.
pass index = index_tensors, sum_tree (order=post, fixpoint);

# Index arithmetic to a canonical, simplified form; every later pass leans on it.
pass sym = symbolic, given_gate (order=post, fixpoint, limit=250000);

# The kernel's optimizations: a list of named opts (upcast, sum, unroll, split, swap, thread, pad; lowering/opts.cpp),
# chosen by a heuristic (lowering/optimize.cpp: a register tile of neighbouring outputs per trip of a reduction's
# loops, partial sums, or copies of an innermost range that index arithmetic divides; PATGRAD_UPCAST, default 64, caps
# a tile's vector side), each checked, marked in the graph and carried out by the rules of the `opts` pass (opts.pat)
# before the next; then the copies' index arithmetic simplified.
pass optimize = native;
pass opts = opts, opts_reduce (order=post, fixpoint, stage=optimize);
pass resym = symbolic (order=post, fixpoint, limit=250000);

# What targets lack: floor division and modulo become C-style division (CDIV, CMOD), conversions to bf16 go through
# f32; after `sym`, whose rules are written for floor semantics.
pass lower = lower_divmod, lower_bf16, symbolic (order=post, fixpoint);

# Each REDUCE becomes an accumulator: set, updated in its loops, read after them.
pass reduce = reduce_to_acc (order=post, fixpoint);

# Accumulators over the same ranges share their loops (an upcast kernel's copies); then one END per range.
pass merge_ends = native;
pass ends = split_ends (order=post, fixpoint);

# CPU: each call of a kernel runs a share of its outermost loop; LLVM's terms for gates, max and min, bools in memory
# and bf16 arithmetic (whose conversions from f64 lower_bf16 makes again).
pass threads = thread_loop (order=post, once, target=CPU);
pass lower_cpu = lower_llvm, gated_loads, min_max_selects, lower_bf16 (order=post, fixpoint, target=CPU);

# RDNA3: each lane computes a trip of the outermost output loop; what the instruction set lacks (target_rdna3.pat).
pass gpu_dims = gpu_dims (order=post, once, target=RDNA3);
pass lower_rdna3 = gated_loads, min_max_selects, divide_rdna3 (order=post, fixpoint, target=RDNA3);

# The graph as an ordered list, then as the target's program text (its render group).
pass linearize = native;
pass render = native;
