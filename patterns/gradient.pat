# Reverse-mode derivatives: GRAD(y, g), where g is d(loss)/dy, becomes a TUPLE of d(loss)/d(source) for each source
# of y (NOGRAD where there is none). frontend/autograd.cpp applies the `grad` pass to one node at a time, from the
# loss back to the inputs. Float tensors only: integers and bools carry no gradient. Constants broadcast. GRAD has no
# value to compare, so the rule fuzzer leaves these rules to gradcheck (tests/frontend/autograd_test.cpp).
include "prelude.pat";

group gradient {
  # arithmetic
  [grad_add]      GRAD(_x<floats> + _y, g)             => TUPLE(g, g);
  [grad_sub]      GRAD(_x<floats> - _y, g)             => TUPLE(g, NEG(g));
  [grad_mul]      GRAD(x<floats> * y, g)               => TUPLE(g * y, g * x);
  [grad_fdiv]     GRAD(x<floats> / y, g)               => TUPLE(g / y, NEG(g * x / (y * y)));
  [grad_neg]      GRAD(NEG(_x<floats>), g)             => TUPLE(NEG(g));
  [grad_mulacc]   GRAD(MULACC(x<floats>, y, _z), g)    => TUPLE(g * y, g * x, g);
  # the unary math ops: each derivative in terms of the result r where that is cheaper
  [grad_recip]    GRAD(r:RECIP(_x<floats>), g)         => TUPLE(NEG(g * r * r));
  [grad_sqrt]     GRAD(r:SQRT(_x<floats>), g)          => TUPLE(g / (r * 2.0));
  [grad_exp2]     GRAD(r:EXP2(_x<floats>), g)          => TUPLE(g * r * 0.6931471805599453);
  [grad_log2]     GRAD(LOG2(x<floats>), g)             => TUPLE(g / (x * 0.6931471805599453));
  [grad_sin]      GRAD(SIN(x<floats>), g)              => TUPLE(g * SIN(x + 1.5707963267948966));
  [grad_pow]      GRAD(r:POW(x<floats>, y), g)         => TUPLE(g * y * POW(x, y - 1.0), g * r * LOG2(x) * 0.6931471805599453);
  [grad_trunc]    GRAD(TRUNC(_x<floats>), _g)          => TUPLE(NOGRAD);
  # selection: the gradient follows the value that was chosen; ties of MAX and MIN share it
  [grad_where]    GRAD(WHERE(c, _a<floats>, _b), g)    => TUPLE(NOGRAD, WHERE(c, g, 0.0), WHERE(c, 0.0, g));
  [grad_max]      GRAD(MAX(x<floats>, y), g)           => TUPLE(WHERE(x < y, 0.0, WHERE(x == y, g * 0.5, g)), WHERE(y < x, 0.0, WHERE(x == y, g * 0.5, g)));
  [grad_min]      GRAD(MIN(x<floats>, y), g)           => TUPLE(WHERE(y < x, 0.0, WHERE(x == y, g * 0.5, g)), WHERE(x < y, 0.0, WHERE(x == y, g * 0.5, g)));
  # conversions: back to the source's dtype; from or to a non-float dtype nothing flows
  [grad_cast]     GRAD(CAST<floats>(_x<t:floats>), g)  => TUPLE(CAST<t>(g));
  [grad_cast_none] GRAD(CAST(_x), _g)                  => TUPLE(NOGRAD);
  [grad_contig]   GRAD(CONTIGUOUS(_x<floats>), g)      => TUPLE(g);
  [grad_detach]   GRAD(DETACH(_x), _g)                 => TUPLE(NOGRAD);
  # movement ops and sums map g (of the node's shape) back onto the source's shape; an expanded axis sums
  [grad_reshape]  GRAD(n:RESHAPE(x<floats>), g) if g.shape == n.shape  => TUPLE(RESHAPE[x.shape](g));
  [grad_permute]  GRAD(n:PERMUTE(_x<floats>), g) if g.shape == n.shape => TUPLE(PERMUTE[inverse(n.arg)](g));
  [grad_expand]   GRAD(n:EXPAND(x<floats>), g) if g.shape == n.shape   => TUPLE(choose(x.shape == n.shape, g, REDUCE_AXIS[(ADD, ...differ(x.shape, n.shape))](g)));
  [grad_flip]     GRAD(n:FLIP(_x<floats>), g) if g.shape == n.shape    => TUPLE(FLIP[n.arg](g));
  [grad_sum]      GRAD(n:REDUCE_AXIS[(ADD, ...)](x<floats>), g) if g.shape == n.shape => TUPLE(EXPAND[x.shape](g));
  # PAD and SHRINK undo each other: PAD (lo, hi) of an axis of size s is SHRINK (lo, lo + s); SHRINK (lo, hi) is PAD (lo, s - hi)
  [grad_pad]      GRAD(n:PAD(x<floats>), g) if g.shape == n.shape      => TUPLE(SHRINK[interleave(evens(n.arg), evens(n.arg) + x.shape)](g));
  [grad_shrink]   GRAD(n:SHRINK(x<floats>), g) if g.shape == n.shape   => TUPLE(PAD[interleave(evens(n.arg), x.shape - odds(n.arg))](g));
  # max: g flows to the elements equal to the maximum, shared equally between ties
  [grad_max_reduce] GRAD(n:REDUCE_AXIS[(MAX, ...axes)](x<t:floats>), g) => TUPLE(hit * EXPAND[x.shape](g / REDUCE_AXIS[(ADD, ...axes)](hit)))
      where hit = WHERE(x == EXPAND[x.shape](n), CONST<t>[1.0], CONST<t>[0.0]);
  # product: g times the product of the other elements, exact with zeros: where x has no zero that is prod / x; where
  # one element is zero, only it gets the product of the rest (the nonzero ones); with two zeros every gradient is 0
  [grad_prod_reduce] GRAD(REDUCE_AXIS[(MUL, ...axes)](x<t:floats>), g) => TUPLE(WHERE(z, WHERE(zeros == 1.0, p, 0.0), WHERE(zeros == 0.0, p / x, 0.0)) * EXPAND[x.shape](g))
      where z = x == 0.0, p = EXPAND[x.shape](REDUCE_AXIS[(MUL, ...axes)](WHERE(z, 1.0, x))),
            zeros = EXPAND[x.shape](REDUCE_AXIS[(ADD, ...axes)](WHERE(z, CONST<t>[1.0], CONST<t>[0.0])));
}

# Not a kernel pass: autograd runs it on tensor graphs, one node at a time.
pass grad = gradient (order=walk, stage=tensor);
