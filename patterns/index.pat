# Tensor graphs to loops and index arithmetic. The schedule cuts a tensor graph into kernels, each
# SINK(OUTPUT(PARAM 0, x)): x stored at every index of its shape, its inputs PARAMs (a realized node is its PARAM
# reshaped to the node's shape). INDEX(x, gate, i...) is tensor x at the index i..., where the bool gate says whether
# the index is in bounds (a padded region's loads are gated off). These rules push INDEX down to the PARAMs: movement
# ops become index arithmetic, elementwise ops apply to what their sources give, a REDUCE_AXIS becomes a REDUCE over
# new ranges, and a PARAM a LOAD. A node reached twice with one index is one INDEX node, rewritten once.
include "prelude.pat";

opset ELEMENTWISE = {ALU, CAST, BITCAST};

group index_tensors {
  # a reshape is the same elements in the same order: the kernel stores its source, in the source's loops (a packed
  # matrix product's (m, n / 32, 32) then needs no division to find its columns)
  [output_reshape] OUTPUT(p:PARAM, RESHAPE(x)) => OUTPUT(p, x);
  # the kernel: x at every index of its shape, in loops that close after the store (a scalar has none)
  [index_output]  OUTPUT(p:PARAM<t>, x) if len(x.shape) > 0 => END(STORE(DEFINE_GLOBAL<t>[at(p.arg, 0)], flatten(rs, x.shape), INDEX<x>(x, true, ...rs)), ...rs)
      where rs = fresh_ranges(x.shape);
  # an output axis of one element is index 0, not a loop: the outermost loop is the threads' (target_cpu.pat), and a
  # batch norm's (1, C, 1, 1) statistics would otherwise run on one core
  [output_unit_range] END(x, r:RANGE(n:CONST), s:RANGE, ...rs) if n.val == 1 => END(subst(x, r, CONST<index>[0]), s, ...rs);
  [index_output_scalar] OUTPUT(p:PARAM<t>, x) => STORE(DEFINE_GLOBAL<t>[at(p.arg, 0)], CONST<index>[0], INDEX<x>(x, true));

  # memory: a load, gated unless the gate is true; a realized node's index flattens straight into its buffer
  [index_param]       INDEX(p:PARAM<t>, true, i)  => LOAD<t>(DEFINE_GLOBAL<t>[at(p.arg, 0)], i);
  [index_param_gated] INDEX(p:PARAM<t>, g, i)     => LOAD<t>(DEFINE_GLOBAL<t>[at(p.arg, 0)], i, g);
  [index_realized]    INDEX(n:RESHAPE(p:PARAM), g, ...idx) => INDEX<p>(p, g, flatten(idx, n.shape));

  # movement ops: the source's index in terms of the result's
  [index_reshape] INDEX(n:RESHAPE(x), g, ...idx) => INDEX<x>(x, g, ...unflatten(flatten(idx, n.shape), x.shape));
  [index_permute] INDEX(n:PERMUTE(x), g, ...idx) => INDEX<x>(x, g, ...pick(idx, inverse(n.arg)));
  [index_expand]  INDEX(EXPAND(x), g, ...idx)    => INDEX<x>(x, g, ...[choose(s == 1, 0, i) for i, s in idx, x.shape]);
  [index_shrink]  INDEX(n:SHRINK(x), g, ...idx)  => INDEX<x>(x, g, ...[i + lo for i, lo in idx, evens(n.arg)]);
  [index_flip]    INDEX(n:FLIP(x), g, ...idx)    => INDEX<x>(x, g, ...[choose(f == 1, CONST[s - 1] + i * -1, i) for i, f, s in idx, n.arg, x.shape]);
  # PAD: inside the source on every padded axis, the source's value (its loads gated by that too); else 0
  [index_pad]     INDEX(n:PAD(x), g, ...idx)     => WHERE(inside, INDEX<x>(x, g & inside, ...shifted), 0)
      where shifted = [i + CONST[-lo] for i, lo in idx, evens(n.arg)],
            inside = all(...[choose(lo == 0 && hi == 0, true, ((j < 0) ^ true) & (j < s)) for j, lo, hi, s in shifted, evens(n.arg), odds(n.arg), x.shape]);

  # a reduction: over no elements its identity; else the source over a new range per reduced axis
  [index_sum_empty]  INDEX(REDUCE_AXIS[(ADD, ...axes)](x<t>), _g, ...) if prod(pick(x.shape, axes)) == 0 => CONST<t>[0];
  [index_prod_empty] INDEX(REDUCE_AXIS[(MUL, ...axes)](x<t>), _g, ...) if prod(pick(x.shape, axes)) == 0 => CONST<t>[1];
  [index_max_empty]  INDEX(REDUCE_AXIS[(MAX, ...axes)](x<t>), _g, ...) if prod(pick(x.shape, axes)) == 0 => CONST<t>[lowest(t)];
  # a max over a small window (a max pooling's): unrolled, so that the loop inside the window's is the output's own,
  # which LLVM makes vectors of, rather than a loop of two or three trips
  [index_max_small] INDEX(REDUCE_AXIS[(MAX, ...axes)](x), g, ...idx) if prod(pick(x.shape, axes)) <= 16
      => maximum(...[INDEX<x>(x, g, ...put(idx, axes, unflatten(CONST<index>[j], pick(x.shape, axes)))) for j in iota(prod(pick(x.shape, axes)))]);
  [index_reduce]  INDEX(n:REDUCE_AXIS(x), g, ...idx) => REDUCE<x>[at(n.arg, 0)](INDEX<x>(x, g, ...put(idx, drop(n.arg, 1), rs)), ...rs)
      where rs = fresh_ranges(pick(x.shape, drop(n.arg, 1)));

  # values: elementwise ops apply to their sources' values at the same index (a scalar source has none: it
  # broadcasts); constants are everywhere the same
  [index_elementwise] INDEX(n:ELEMENTWISE(...srcs), g, ...idx) => n(...[choose(len(s.shape) == 0, INDEX<s>(s, g), INDEX<s>(s, g, ...idx)) for s in srcs]);
  [index_const]       INDEX(c:CONST, _g, ...)  => c;
  [index_through]     INDEX({CONTIGUOUS, DETACH}(x), g, ...idx) => INDEX<x>(x, g, ...idx);
}

# Float sums of more than 1024 elements as a tree of sums of at most 1024 each. One accumulator over n elements loses
# about n roundings' worth (a float sum of ones stalls at 2^24); a tree's error grows with the logarithm of n, as a
# pairwise sum's does, and needs no memory. Outer ranges peel off until the inner ones fit a level; a range longer
# than a level splits into pieces of 1024, the last one padded with zeros (its index clamped, so that every load
# stays in bounds). Runs with index_tensors, sharing its range numbers.
group sum_tree {
  [tree_peel]  REDUCE<t:floats>[ADD](x, r, s, ...rs) if trips(r) * trips(s) * trips(rs) > 1024
      => REDUCE<t>[ADD](REDUCE<t>[ADD](x, s, ...rs), r);
  [tree_split] REDUCE<t:floats>[ADD](x, r) if trips(r) > 1024 && trips(r) % 1024 == 0
      => REDUCE<t>[ADD](REDUCE<t>[ADD](subst(x, r, o * 1024 + i), i), o)
      where o = RANGE<index>[fresh(range)](CONST<index>[trips(r) // 1024]), i = RANGE<index>[fresh(range)](CONST<index>[1024]);
  [tree_split_pad] REDUCE<t:floats>[ADD](x, r) if trips(r) > 1024
      => REDUCE<t>[ADD](REDUCE<t>[ADD](WHERE(k < CONST<index>[trips(r)], subst(x, r, MIN(k, CONST<index>[trips(r) - 1])), 0), i), o)
      where o = RANGE<index>[fresh(range)](CONST<index>[(trips(r) + 1023) // 1024]), i = RANGE<index>[fresh(range)](CONST<index>[1024]),
            k = o * 1024 + i;
}
