# Reverse-mode derivatives: GRAD(y, g), where g is d(loss)/dy, becomes a TUPLE of d(loss)/d(source) for each source
# of y (NOGRAD where there is none). frontend/autograd.cpp applies the `grad` pass to one node at a time, from the
# loss back to the inputs. Float tensors only: integers and bools carry no gradient. Constants broadcast.
include "prelude.pat";
hook grad_movement(node, g);
hook grad_reduce_max(node, g);

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
  # movement ops and reductions map g back onto the source's shape
  [grad_movement] GRAD(n:{RESHAPE, PERMUTE, EXPAND, PAD, SHRINK, FLIP, REDUCE_AXIS}(_x<floats>), g) => cpp::grad_movement(n, g);
  [grad_max_reduce] GRAD(n:REDUCE_AXIS(_x<floats>), g) => cpp::grad_reduce_max(n, g);
}

# Not a kernel pass: autograd runs it on tensor graphs, one node at a time.
pass grad = gradient (order=walk, stage=tensor);
