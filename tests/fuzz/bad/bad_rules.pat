# Wrong rules that fuzz_rules must reject: the traps of research/dsl.md section 4.7. tests/CMakeLists.txt runs
# `fuzz_rules --patterns tests/fuzz/bad --rule NAME` on each and expects it to fail.
include "prelude.pat";

group fuzz_bad {
  # holds on index only: at 32 bits x + c0 wraps
  [bad_lt]   (x<i32> + c0:CONST) < c1:CONST                      => x < CONST[c1 - c0];
  # at 8 bits c1 * c2 wraps (16 * 16 is 0)
  [bad_idiv] (x<i8> // c1:CONST) // c2:CONST if c1 > 0 && c2 > 0 => x // CONST[c1 * c2];
  # -0.0 + 0.0 is +0.0: only a relaxed rule may say this (written 0.0 + x: the other order is fadd_zero's text)
  [bad_fadd] 0.0 + x<floats>                                     => x;
}
