# Rules for testing prove_rules itself (`prove_rules --patterns tests/prove/bad` must fail): the first two are wrong
# the way research found rules to be wrong, and Z3 must show a counterexample for each; the last is right.
group prove_bad {
  # (x + c0) < c1 is x < c1 - c0 on unbounded index only: at 32 bits x + c0 wraps
  [bad_lt]    (x<i32> + c0:CONST) < c1:CONST                     => x < CONST[c1 - c0];
  # c1 * c2 can wrap at 8 bits, and x // -1 is undefined for x = -128
  [bad_idiv]  (x<i8> // c1:CONST) // c2:CONST if c1 != 0 && c2 > 0 => x // CONST[c1 * c2];
  # lt_add_c with other names (a rule may not duplicate another)
  [good_lt]   (y<index> + a:CONST) < b:CONST                      => y < CONST[b - a];
}
