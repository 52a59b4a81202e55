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

# Conversions to bf16 go through f32, where the renderer rounds to nearest even. From f16 and small integers f32 is
# exact. From f64, f32 is rounded to odd: where it is inexact, of the two f32 values around x (t, x truncated toward
# zero, and the next one away from zero) the one whose last bit is set, so that rounding again to bf16 is correct
# (f32 keeps 16 more bits); nearest-then-odd would turn 1 + 2^-8 - 2^-30 into the tie 1 + 2^-8, which rounds up. t is
# the nearest f, or the value below it where f rounded away from zero. Where f32 overflowed to infinity it stays.
# 32-bit integers go through f64 (exact); 64-bit ones through f64 rounded to odd the same way, over the integers
# (past 2^63, or 2^64 unsigned, f64 rounded up: it cannot be converted back).
dtypes ints16 = {i8, i16, u8, u16}; # exact in f32
dtypes ints32 = {i32, u32};          # exact in f64
group lower_bf16 {
  [cast_bf16_f16]   CAST<bf16>(x<f16>) => CAST<bf16>(CAST<f32>(x));
  [cast_bf16_small] CAST<bf16>(x<ints16>) => CAST<bf16>(CAST<f32>(x));
  [cast_bf16_int32] CAST<bf16>(x<ints32>) => CAST<bf16>(CAST<f64>(x));
  [cast_bf16_f64]   CAST<bf16>(x<f64>) => CAST<bf16>(WHERE(inexact, BITCAST<f32>((BITCAST<u32>(f) - CAST<u32>(up)) | 1), f))
      where f = CAST<f32>(x), inexact = (CAST<f64>(f) != x) & (f != inf) & (f != -inf),
            up = WHERE(x > 0.0, CAST<f64>(f) > x, CAST<f64>(f) < x);
  [cast_bf16_i64]   CAST<bf16>(x<i64>) => CAST<bf16>(WHERE(inexact, BITCAST<f64>((BITCAST<u64>(d) - CAST<u64>(up)) | 1), d))
      where d = CAST<f64>(x), past = d >= 9223372036854775808.0, back = CAST<i64>(WHERE(past, 0.0, d)),
            inexact = past | (back != x), up = past | WHERE(x > 0, back > x, back < x);
  [cast_bf16_u64]   CAST<bf16>(x<u64>) => CAST<bf16>(WHERE(inexact, BITCAST<f64>((BITCAST<u64>(d) - CAST<u64>(up)) | 1), d))
      where d = CAST<f64>(x), past = d >= 18446744073709551616.0, back = CAST<u64>(WHERE(past, 0.0, d)),
            inexact = past | (back != x), up = past | (back > x);
}

# A gated load reads element 0 where its gate is false (every buffer holds at least one element) and yields 0 there:
# for targets whose loads take no gate (CPU, RDNA3).
group gated_loads {
  [gate_load] LOAD<t>(g, i, c) => WHERE(c, LOAD<t>(g, WHERE(c, i, 0)), 0);
}

# Max and min of floats as selects of one compare each, for targets whose own instructions differ from the op table
# (NaN propagates, -0 is below +0). x86 has no scalar float select, so LLVM's llvm.maximum (which orders -0 below +0
# by testing a sign bit) becomes a branch per op where it is not vectorized: a 2x2 max pooling's four loads ran at
# 3 GB/s on random data, 11 as selects. RDNA3's v_max_f32 returns the other operand of a NaN. Equal values differ at
# most in the sign of zero, which their bits' AND (max) or OR (min) settles; unordered ones give NaN.
group min_max_selects {
  [max_select_f32] MAX<f32>(a, b) => WHERE(b < a, a, WHERE(a < b, b, WHERE(a == b, BITCAST<f32>(BITCAST<u32>(a) & BITCAST<u32>(b)), a + b)));
  [max_select_f64] MAX<f64>(a, b) => WHERE(b < a, a, WHERE(a < b, b, WHERE(a == b, BITCAST<f64>(BITCAST<u64>(a) & BITCAST<u64>(b)), a + b)));
  [min_select_f32] MIN<f32>(a, b) => WHERE(a < b, a, WHERE(b < a, b, WHERE(a == b, BITCAST<f32>(BITCAST<u32>(a) | BITCAST<u32>(b)), a + b)));
  [min_select_f64] MIN<f64>(a, b) => WHERE(a < b, a, WHERE(b < a, b, WHERE(a == b, BITCAST<f64>(BITCAST<u64>(a) | BITCAST<u64>(b)), a + b)));
}
