# Reductions to accumulators. REDUCE(x, ranges) becomes a variable, set to the op's identity once per trip of the
# loops around the REDUCE (the ranges open at it: those x uses that it does not close), updated once per trip of its
# own loops, and read after them. The graph states the order: the update reads the variable AFTER its setting and
# inside the loops; END closes the loops after the update; the result reads the variable AFTER the END. So linearize
# only sorts.
include "prelude.pat";

# f16 and bf16 keep a multiply and an add: their MULACC is rounded once by f64 arithmetic (target_cpu.pat), which
# costs more than it saves here
dtypes fma_floats = {f32, f64};

group reduce_to_acc {
  # A float sum of products accumulates with MULACC, one rounding a step (the target's fused multiply-add): a sum's
  # order of additions is the lowering's choice already (partial sums, trees), and this one rounds less. Half the
  # instructions of a multiply and an add, which is what a matmul's or a convolution's inner loop is made of.
  [acc_mulacc] red:REDUCE<t:fma_floats>[ADD](MUL(a, b), r, ...rs)
      => AFTER<t>(acc, END(ASSIGN(acc, MULACC(a, b, AFTER<t>(acc, init, r, ...rs))), r, ...rs))
      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[0], ...ranges(red));
  [acc_add] red:REDUCE<t>[ADD](x, r, ...rs) => AFTER<t>(acc, END(ASSIGN(acc, AFTER<t>(acc, init, r, ...rs) + x), r, ...rs))
      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[0], ...ranges(red));
  [acc_mul] red:REDUCE<t>[MUL](x, r, ...rs) => AFTER<t>(acc, END(ASSIGN(acc, AFTER<t>(acc, init, r, ...rs) * x), r, ...rs))
      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[1], ...ranges(red));
  [acc_max] red:REDUCE<t>[MAX](x, r, ...rs) => AFTER<t>(acc, END(ASSIGN(acc, MAX(AFTER<t>(acc, init, r, ...rs), x)), r, ...rs))
      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[lowest(t)], ...ranges(red));
}
