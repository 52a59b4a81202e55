# Lowering kernels for targets: floor division and modulo (Python's, what index math means) become C-style CDIV
# and CMOD, which CPUs and LLVM have. Runs in the `lower` pass after `sym`; the rules hold with wraparound too.
include "prelude.pat";


group lower_divmod {
  # where both sides are non-negative, or unsigned, the two divisions agree
  [idiv_nonneg]  x<ints> // y if x.vmin >= 0 && y.vmin > 0                        => CDIV(x, y);
  [mod_nonneg]   x<ints> % y if x.vmin >= 0 && y.vmin > 0                         => CMOD(x, y);
  [idiv_uint]    x<uints> // y                                                    => CDIV(x, y);
  [mod_uint]     x<uints> % y                                                     => CMOD(x, y);
  # otherwise C rounds toward zero: step down when the division is inexact and the signs differ
  [idiv_signed]  x<sidx> // y => WHERE((CMOD(x, y) != 0) & ((x < 0) != (y < 0)), CDIV(x, y) - 1, CDIV(x, y));
  [mod_signed]   x<sidx> % y  => WHERE((CMOD(x, y) != 0) & ((CMOD(x, y) < 0) != (y < 0)), CMOD(x, y) + y, CMOD(x, y));
}

# Conversions to bf16 go through f32, where the renderer converts exactly: from f16 exactly; from f64 rounded to odd
# (setting the last bit where f32 dropped any), so that rounding again to bf16 is correct: f32 keeps 16 more bits.
# Where f32 overflowed to infinity the bit must stay clear.
group lower_bf16 {
  [cast_bf16_f16]  CAST<bf16>(x<f16>) => CAST<bf16>(CAST<f32>(x));
  [cast_bf16_f64]  CAST<bf16>(x<f64>) => CAST<bf16>(WHERE((CAST<f64>(CAST<f32>(x)) != x) & (CAST<f32>(x) != inf) & (CAST<f32>(x) != -inf), BITCAST<f32>(BITCAST<u32>(CAST<f32>(x)) | 1), CAST<f32>(x)));
}
