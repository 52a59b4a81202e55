# Simplification of integer, index and bool expressions: the `sym` pass (pipeline.pat) and every lowering pass
# after it. Rules over `ints` hold with wraparound and on unbounded index; rules that need index say x<index>:
# at fixed width an intermediate can wrap. Floats appear only where a rule is bit-exact for them.
include "prelude.pat";
hook fold_unary(root);
hook fold_divmod(root);
hook index_given_gate(load);

group symbolic {
  # constant folding, with the op table's semantics: nothing folds that the program would not compute
  [fold_binary]      op:BINARY(a:CONST, b:CONST) if defined(op, a, b)          => CONST[eval(op, a, b)];
  [fold_unary]       r:{UNARY, CAST, BITCAST}(CONST)                           => cpp::fold_unary(r);
  [fold_mulacc]      MULACC<ints>(a:CONST, b:CONST, c:CONST)                   => a * b + c;

  # subtraction and negation become sums of terms with coefficients: x - y is x + y*-1
  [sub_to_add]       x<ints> - y                                               => x + y * -1;
  [neg_to_mul]       NEG(x<ints>)                                              => x * -1;
  [neg_neg]          NEG(NEG(x))                                               => x;
  [mulacc_to_add]    MULACC(x<ints>, y, z)                                     => x * y + z;

  # identities
  [add_zero]         x<ints> + 0                                               => x;
  [mul_one]          x<numbers> * 1                                            => x;
  [mul_zero]         _x<ints> * 0                                              => 0;
  [idiv_one]         x<ints> // 1                                              => x;
  [mod_one]          _x<ints> % 1                                              => 0;
  [idiv_self]        x<ints> // x                                              => 1;
  [mod_self]         x<ints> % x                                               => 0;
  [idiv_zero]        0 // _x<ints>                                             => 0;
  [mod_zero]         0 % _x<ints>                                              => 0;
  [and_self]         x & x                                                     => x;
  [or_self]          x | x                                                     => x;
  [xor_self]         x ^ x                                                     => 0;
  [max_self]         MAX(x, x)                                                 => x;
  [min_self]         MIN(x, x)                                                 => x;
  [and_zero]         _x & 0                                                    => 0;
  [or_zero]          x | 0                                                     => x;
  [xor_zero]         x ^ 0                                                     => x;
  [and_minus_one]    x<sidx> & -1                                              => x;
  [and_true]         x<bool> & true                                            => x;
  [or_true]          _x<bool> | true                                           => true;
  [shl_zero]         x << 0                                                    => x;
  [shr_zero]         x >> 0                                                    => x;

  # like terms: x*3 + x*5 is x*8, also when other terms sit between (sums are sorted so like terms meet)
  [add_self]         x<ints> + x                                               => x * 2;
  [add_term_self]    x<ints> * c:CONST + x                                     => x * CONST[c + 1];
  [add_term_term]    x<ints> * c1:CONST + x * c2:CONST                         => x * CONST[c1 + c2];
  [add_chain_self]   (y<ints> + x) + x                                         => y + x * 2;
  [add_chain_term1]  (y<ints> + x * c:CONST) + x                               => y + x * CONST[c + 1];
  [add_chain_term2]  (y<ints> + x) + x * c:CONST                               => y + x * CONST[c + 1];
  [add_chain_terms]  (y<ints> + x * c1:CONST) + x * c2:CONST                   => y + x * CONST[c1 + c2];

  # canonical order: sums and products lean left, constants go to the right end, other terms in a stable order.
  # Patterns match both operand orders, so `x + (y + z)` alone would also match a left-leaning (y + z) + x and
  # rotate it forever: a lone sum operand moves left first (the other order rebuilds the node: no firing), and
  # reassociation applies only when both operands are sums.
  [comm_c_right]     op:{ADD, MUL, AND, OR, XOR, MAX, MIN, CMPEQ, CMPNE}(c:CONST, x) if !is_const(x) => op(x, c);
  [add_sum_left]     x<ints> + y if x.op != ADD && y.op == ADD                 => y + x;
  [mul_prod_left]    x<ints> * y if x.op != MUL && y.op == MUL                 => y * x;
  [add_assoc]        x<ints> + (y + z) if x.op == ADD                          => (x + y) + z;
  [mul_assoc]        x<ints> * (y * z) if x.op == MUL                          => (x * y) * z;
  [add_add_c]        (x<ints> + c1:CONST) + c2:CONST                           => x + CONST[c1 + c2];
  [mul_mul_c]        (x<ints> * c1:CONST) * c2:CONST                           => x * CONST[c1 * c2];
  [add_c_last]       (x<ints> + c:CONST) + y if !is_const(y)                   => (x + y) + c;
  [mul_c_last]       (x<ints> * c:CONST) * y if !is_const(y)                   => (x * y) * c;
  [add_sort]         x<ints> + y if !is_const(x) && !is_const(y) && before(y, x) && x.op != ADD => y + x;
  # a chain's last term is never a sum: the other operand order would take the whole chain for `a`
  [add_chain_sort]   (x<ints> + a) + b if a.op != ADD && !is_const(a) && !is_const(b) && before(b, a) => (x + b) + a;
  [mul_sort]         x<ints> * y if !is_const(x) && !is_const(y) && before(y, x) && x.op != MUL => y * x;
  [mul_chain_sort]   (x<ints> * a) * b if a.op != MUL && !is_const(a) && !is_const(b) && before(b, a) => (x * b) * a;
  # the other commutative ops only swap their two operands: max(b, a) is max(a, b)
  [comm_sort]        op:{AND, OR, XOR, MAX, MIN, CMPEQ, CMPNE}(x, y) if !is_const(x) && !is_const(y) && before(y, x) => op(y, x);
  [xor_xor_c]        (x ^ c1:CONST) ^ c2:CONST                                 => x ^ CONST[c1 ^ c2];
  [and_and_c]        (x & c1:CONST) & c2:CONST                                 => x & CONST[c1 & c2];
  [or_or_c]          (x | c1:CONST) | c2:CONST                                 => x | CONST[c1 | c2];

  # products of sums distribute, so that division sees the terms
  [mul_add_distrib]  (x<ints> + y) * c:CONST                                   => x * c + y * c;

  # floor division and modulo by a constant (of either sign: floor(y/c + n) is floor(y/c) + n), exact on index;
  # ranges make the rest fold
  [idiv_range]       x<ints> // c:CONST if c != 0 && x.vmin // c == x.vmax // c => CONST[x.vmin // c];
  [mod_range]        x<ints> % c:CONST if c != 0 && x.vmin // c == x.vmax // c => x - CONST[x.vmin // c * c];
  # a sum of any length divided by a constant: terms whose coefficient c divides come out, and what stays in may
  # fall within one multiple of c
  [fold_divmod]      r:{IDIV, MOD}(_x<index>, c:CONST) if c > 0                => cpp::fold_divmod(r);
  [idiv_mul]         (x<index> * c1:CONST) // c2:CONST if c2 != 0 && c1 % c2 == 0 => x * CONST[c1 // c2];
  [idiv_add_mul]     (y<index> + x * c1:CONST) // c2:CONST if c2 != 0 && c1 % c2 == 0 => y // c2 + x * CONST[c1 // c2];
  [idiv_add_c]       (x<index> + c1:CONST) // c2:CONST if c2 != 0 && c1 % c2 == 0 => x // c2 + CONST[c1 // c2];
  [idiv_idiv]        (x<index> // c1:CONST) // c2:CONST if c1 > 0 && c2 > 0   => x // CONST[c1 * c2];
  [mod_mul]          (_x<index> * c1:CONST) % c2:CONST if c2 != 0 && c1 % c2 == 0 => 0;
  [mod_add_mul]      (y<index> + _x * c1:CONST) % c2:CONST if c2 != 0 && c1 % c2 == 0 => y % c2;
  # the same one term deeper in a sum, so that flattened indices (r0*32 + r1*8 + r2) // 32 fold too
  [idiv_chain_mul]   ((y<index> + x * c1:CONST) + z) // c2:CONST if c2 != 0 && c1 % c2 == 0 => (y + z) // c2 + x * CONST[c1 // c2];
  [mod_chain_mul]    ((y<index> + _x * c1:CONST) + z) % c2:CONST if c2 != 0 && c1 % c2 == 0 => (y + z) % c2;
  [mod_add_c]        (x<index> + c1:CONST) % c2:CONST if c2 != 0 && c1 != c1 % c2 => (x + CONST[c1 % c2]) % c2;
  [mod_mod]          (x<ints> % c1:CONST) % c2:CONST if c2 > 0 && c1 > 0 && c1 % c2 == 0 => x % c2;
  [idiv_mod_small]   (_x<ints> % c1:CONST) // c2:CONST if c2 > 0 && c1 > 0 && c1 <= c2 => 0;
  # a factor of the divisor comes out: x*4 // 8 is x // 2, x*4 % 8 is x % 2 * 4
  [idiv_mul_factor]  (x<index> * c1:CONST) // c2:CONST if c1 != 0 && c2 % c1 == 0 => x // CONST[c2 // c1];
  [mod_mul_factor]   (x<index> * c1:CONST) % c2:CONST if c1 != 0 && c2 % c1 == 0 => x % CONST[c2 // c1] * c1;
  # by a non-constant divisor; y == 0 is undefined before and after
  [idiv_mul_self]    (x<index> * y) // y                                       => x;
  [mod_mul_self]     (_x<index> * y) % y                                       => 0;
  # x%c + (x//c)*c is x: the ring identity, so it holds with wraparound too
  [add_mod_idiv]     x<ints> % c + (x // c) * c                                => x;
  [add_chain_mod_idiv] (y<ints> + x % c) + (x // c) * c                        => y + x;
  [add_chain_idiv_mod] (y<ints> + (x // c) * c) + x % c                        => y + x;
  # and x - (x//c)*c is x%c, where the sum holds the product with its coefficient -c
  [add_idiv_mod]     x<ints> + (x // c:CONST) * c2:CONST if c2 == -c           => x % c;
  [add_chain_idiv_neg] (y<ints> + x) + (x // c:CONST) * c2:CONST if c2 == -c   => y + x % c;
  # digits: (x//c1)%c2*c1 + x%c1 is x%(c1*c2), for positive c1 and c2
  [add_mod_digits]   (x<index> // c1:CONST) % c2:CONST * c1 + x % c1 if c1 > 0 && c2 > 0 => x % CONST[c1 * c2];

  # shifts by constants are products and floor divisions on index
  [shl_c]            x<index> << c:CONST if c >= 0 && c < 62                   => x * CONST[1 << c];
  [shr_c]            x<index> >> c:CONST if c >= 0 && c < 62                   => x // CONST[1 << c];
  [mod_pow2_u]       x<uints> % c:CONST if is_pow2(c)                          => x & CONST[c - 1];
  [idiv_pow2_u]      x<uints> // c:CONST if is_pow2(c)                         => x >> CONST[log2(c)];

  # comparisons decided by value ranges
  [lt_true]          x<ints> < y if x.vmax < y.vmin                            => true;
  [lt_false]         x<ints> < y if x.vmin >= y.vmax                           => false;
  [le_true]          x<ints> <= y if x.vmax <= y.vmin                          => true;
  [le_false]         x<ints> <= y if x.vmin > y.vmax                           => false;
  [eq_true]          x<ints> == y if x.vmin == x.vmax && y.vmin == y.vmax && x.vmin == y.vmin => true;
  [eq_false]         x<ints> == y if x.vmax < y.vmin || y.vmax < x.vmin        => false;
  [ne_true]          x<ints> != y if x.vmax < y.vmin || y.vmax < x.vmin        => true;
  [ne_false]         x<ints> != y if x.vmin == x.vmax && y.vmin == y.vmax && x.vmin == y.vmin => false;
  [lt_self]          x < x                                                     => false;
  [eq_self]          x<ints> == x                                              => true;
  [ne_self]          x<ints> != x                                              => false;
  # moving constants across a comparison is exact on index only: at fixed width x + c0 can wrap
  [le_to_lt]         x<index> <= y                                             => x < y + 1;
  [lt_add_c]         (x<index> + c0:CONST) < c1:CONST                          => x < CONST[c1 - c0];
  [lt_mul_c]         (x<index> * c0:CONST) < c1:CONST if c0 > 0                => x < CONST[(c1 + c0 - 1) // c0];
  [lt_idiv_c]        (x<index> // c0:CONST) < c1:CONST if c0 > 0               => x < CONST[c1 * c0];
  [lt_mul_neg_c]     (x<index> * c0:CONST) < c1:CONST if c0 < 0                => CONST[-c1 // -c0] < x;
  [lt_c_add]         c0:CONST < x<index> + c1:CONST                            => CONST[c0 - c1] < x;
  [lt_c_mul]         c0:CONST < x<index> * c1:CONST if c1 > 0                  => CONST[c0 // c1] < x;
  [lt_c_mul_neg]     c0:CONST < x<index> * c1:CONST if c1 < 0                  => x < CONST[(-c0 - c1 - 1) // -c1];
  [lt_c_idiv]        c0:CONST < x<index> // c1:CONST if c1 > 0                 => CONST[(c0 + 1) * c1 - 1] < x;
  # between two non-constant sides the constant goes right, where x < x + c decides
  [lt_add_c_left]    (x<index> + c0:CONST) < y if !is_const(y)                 => x < y + CONST[-c0];
  [lt_self_add_c]    x<index> < x + c:CONST                                    => choose(c > 0, true, false);
  # adding a constant is a bijection, also with wraparound
  [eq_add_c]         (x<ints> + c0:CONST) == c1:CONST                          => x == CONST[c1 - c0];
  [ne_add_c]         (x<ints> + c0:CONST) != c1:CONST                          => x != CONST[c1 - c0];
  # on index x*c0 takes only multiples of c0
  [eq_mul_c]         (x<index> * c0:CONST) == c1:CONST if c0 != 0              => choose(c1 % c0 == 0, x == CONST[c1 // c0], false);
  [ne_mul_c]         (x<index> * c0:CONST) != c1:CONST if c0 != 0              => choose(c1 % c0 == 0, x != CONST[c1 // c0], true);

  # where: a condition the ranges decide, equal branches, negated conditions, nested selects on one condition
  [where_true]       WHERE(c, a, _) if c.vmin == 1                             => a;
  [where_false]      WHERE(c, _, b) if c.vmax == 0                             => b;
  [where_same]       WHERE(_, a, a)                                            => a;
  [where_not]        WHERE(c ^ true, a, b)                                     => WHERE(c, b, a);
  [where_bool]       WHERE(c, true, false)                                     => c;
  [where_bool_not]   WHERE(c, false, true)                                     => c ^ true;
  [where_nest_then]  WHERE(c, WHERE(c, a, _), b)                               => WHERE(c, a, b);
  [where_nest_else]  WHERE(c, a, WHERE(c, _, b))                               => WHERE(c, a, b);

  # boolean algebra
  [and_not_self]     x<bool> & (x ^ true)                                      => false;
  [or_not_self]      x<bool> | (x ^ true)                                      => true;
  [and_absorb]       x & (x | _)                                               => x;
  [or_absorb]        x | (x & _)                                               => x;
  [and_and_self]     x & (x & y)                                               => x & y;
  [or_or_self]       x | (x | y)                                               => x | y;
  [demorgan_and]     (x<bool> ^ true) & (y ^ true)                             => (x | y) ^ true;
  [demorgan_or]      (x<bool> ^ true) | (y ^ true)                             => (x & y) ^ true;
  [not_eq]           (x == y) ^ true                                           => x != y;
  [not_ne]           (x != y) ^ true                                           => x == y;
  [not_lt]           (x<index> < y) ^ true                                     => y < x + 1;
  # comparisons of bools are xors: x != y is x ^ y
  [ne_bool]          x<bool> != y                                              => x ^ y;
  [eq_bool]          x<bool> == y                                              => (x ^ y) ^ true;
  # selects of bools are conjunctions and disjunctions
  [where_and]        WHERE(c, x<bool>, false)                                  => c & x;
  [where_or]         WHERE(c, true, x<bool>)                                   => c | x;
  [where_not_and]    WHERE(c, false, x<bool>)                                  => (c ^ true) & x;
  [where_not_or]     WHERE(c, x<bool>, true)                                   => (c ^ true) | x;

  # two bounds on one value: the tighter one, or a decided result (comparisons are on values: any width)
  [and_lt_lt_c]      (x<ints> < c1:CONST) & (x < c2:CONST)                     => x < CONST[min(c1, c2)];
  [or_lt_lt_c]       (x<ints> < c1:CONST) | (x < c2:CONST)                     => x < CONST[max(c1, c2)];
  [and_gt_gt_c]      (c1:CONST < x<ints>) & (c2:CONST < x)                     => CONST[max(c1, c2)] < x;
  [or_gt_gt_c]       (c1:CONST < x<ints>) | (c2:CONST < x)                     => CONST[min(c1, c2)] < x;
  [and_lt_gt_c]      (x<ints> < c1:CONST) & (c2:CONST < x) if c1 <= c2 + 1     => false;
  [or_lt_gt_c]       (x<ints> < c1:CONST) | (c2:CONST < x) if c2 < c1          => true;

  # max and min decided by ranges, nested constants merged
  [max_left]         MAX(x<ints>, y) if x.vmin >= y.vmax                       => x;
  [min_left]         MIN(x<ints>, y) if x.vmax <= y.vmin                       => x;
  [max_max_c]        MAX(MAX(x<ints>, c1:CONST), c2:CONST)                     => MAX(x, CONST[max(c1, c2)]);
  [min_min_c]        MIN(MIN(x<ints>, c1:CONST), c2:CONST)                     => MIN(x, CONST[min(c1, c2)]);
  # x + c against x: exact on index only, at fixed width x + c can wrap below x
  [max_add_c_self]   MAX(x<index> + c:CONST, x)                                => choose(c > 0, x + c, x);
  [min_add_c_self]   MIN(x<index> + c:CONST, x)                                => choose(c > 0, x, x + c);
  [max_add_c_add_c]  MAX(x<index> + c1:CONST, x + c2:CONST)                    => x + CONST[max(c1, c2)];
  [min_add_c_add_c]  MIN(x<index> + c1:CONST, x + c2:CONST)                    => x + CONST[min(c1, c2)];
  # min and max of the same two values are those values, in some order
  [add_min_max]      MIN(x<ints>, y) + MAX(x, y)                               => x + y;
  [where_lt_min]     WHERE(x<ints> < y, x, y)                                  => MIN(x, y);
  [where_lt_max]     WHERE(x<ints> < y, y, x)                                  => MAX(x, y);

  # casts
  [cast_same]        CAST<t>(x<t>)                                             => x;
  [cast_widen_twice] CAST<index>(CAST<i64>(x<sints>))                          => CAST<index>(x);

  # floats: only what is bit-exact, NaN and signed zeros included
  [fadd_neg_zero]    x<floats> + -0.0                                          => x;
  [fdiv_one]         x<floats> / 1.0                                           => x;
  [fmul_neg_one]     x<floats> * -1.0                                          => NEG(x);
}

# A gated load's index simplified where its gate holds (the ranges the gate bounds, narrowed): only in `sym`, whose
# floor-division rules the hook runs.
group given_gate {
  [index_given_gate] l:LOAD(_b, _i, _g)                                       => cpp::index_given_gate(l);
}

# x + 0.0 is x except for x = -0.0: a relaxed rule, for passes that allow it (none of the built-in ones do).
group float_relaxed {
  [fadd_zero, relaxed] x<floats> + 0.0                                         => x;
}
