# One END per range: a loop nest closes from the inside out, and linearize places each loop by its own END.
include "prelude.pat";

group split_ends {
  [split_end] END(x, r, s, ...rs) => END(END(x, s, ...rs), r);
}
