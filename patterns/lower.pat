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
