// IDIV, MOD, CDIV and CMOD of one (a, b) come from one division: Euclidean on an unbounded index (Z3's div and mod),
// truncating on bit-vectors (bvsdiv or bvudiv, the remainder by multiplying back: one divider per pair); the other
// results are steps from it.
// Z3 reasons poorly about division by a variable, so every query carries lemmas: facts true of every division
// (monotone in the dividend for a positive divisor, exact for a small dividend, the quotient-remainder identity),
// instantiated for the divisions the query contains; being valid, they remove no counterexample. A query is first
// tried with every quotient and remainder abstracted to a fresh variable that only the lemmas constrain: if that is
// unsatisfiable, so is the exact one, and most rules about division need no more than the lemmas.
#include "tests/prove/prove.h"
#include <fmt/format.h>

namespace patgrad::prove {
// IDIV, MOD, CDIV and CMOD of a by b, exactly as eval() computes them where defined.
Semantics::Division Semantics::exact_division(DType d, const z3::expr& a, const z3::expr& b) {
  if (!is_bv(d)) { // Euclidean (0 <= r < |b|): floor is one less for b < 0 with a remainder; truncating moves
    z3::expr q = a / b, r = z3::mod(a, b); // toward zero for a < 0 with a remainder; remainders stay linear in r
    z3::expr step = b < 0 && r != 0, exact = a >= 0 || r == 0;
    return {d,
            a,
            b,
            z3::ite(step, q - 1, q),
            z3::ite(step, r + b, r),
            z3::ite(exact, q, z3::ite(b > 0, q + 1, q - 1)),
            z3::ite(exact, r, z3::ite(b > 0, r - b, r + b))};
  }
  if (!uops::is_signed(d)) {
    z3::expr q = z3::udiv(a, b);
    return {d, a, b, q, a - b * q, q, a - b * q}; // one divider: the remainder by multiplying back
  }
  int n = width(d);
  z3::expr zero = c.bv_val(0, n), trunc = a / b, rem = a - b * trunc;
  z3::expr step = rem != zero && (z3::slt(rem, zero) != z3::slt(b, zero)); // the remainder's sign differs from b's
  // both floor results as steps from the truncating ones, linear in them (the identity lemma gives a - b * floor)
  return {d, a, b, z3::ite(step, trunc - 1, trunc), z3::ite(step, rem + b, rem), trunc, rem};
}

const Semantics::Division& Semantics::divide(DType d, const z3::expr& dividend, const z3::expr& divisor) {
  z3::expr a = dividend.simplify(), b = divisor.simplify(); // so that one division written two ways is one
  for (const Division& x : divisions)
    if (x.dtype == d && z3::eq(x.a, a) && z3::eq(x.b, b)) return x;
  if (abstract_division) {
    auto v = [&](const char* what) {
      return c.constant(fmt::format("div{}.{}", divisions.size(), what).c_str(), sort(d));
    };
    divisions.push_back({d, a, b, v("floor"), v("mod"), v("trunc"), v("rem")});
  } else
    divisions.push_back(exact_division(d, a, b));
  return divisions.back();
}

Eval Semantics::div_op(Op op, DType d, const z3::expr& a, const z3::expr& b, const z3::expr& defined) {
  const Division& x = divide(d, a, b);
  z3::expr v = op == Op::IDIV ? x.floor : op == Op::MOD ? x.mod : op == Op::CDIV ? x.trunc : x.rem;
  return {v, defined};
}

// Where eval() defines the division: b != 0, and not MIN // -1 at fixed width (its encoding wraps there).
z3::expr Semantics::division_defined(const Division& x) const {
  Val zero = zero_of(x.dtype);
  z3::expr ok = x.b != zero.e;
  if (is_bv(x.dtype) && uops::is_signed(x.dtype)) {
    int n = width(x.dtype);
    ok = ok && !(x.a == c.bv_val(uint64_t(1) << (n - 1), n) && x.b == c.bv_val(-1, n));
  }
  return ok;
}

Val Semantics::zero_of(DType d) const { return {d, is_bv(d) ? c.bv_val(0, width(d)) : c.int_val(0)}; }

// Facts of one division: the identities hold everywhere by construction, the rest where it is defined.
z3::expr Semantics::division_lemmas(const Division& x) const {
  Val zero = zero_of(x.dtype);
  Val a{x.dtype, x.a}, b{x.dtype, x.b}, mod{x.dtype, x.mod}, rem{x.dtype, x.rem};
  z3::expr positive = less(zero, b, false), negative = less(b, zero, false), nonneg = less(zero, a, true);
  z3::expr all = x.a == x.b * x.floor + x.mod && x.a == x.b * x.trunc + x.rem;
  z3::expr facts =
      z3::implies(positive, less(zero, mod, true) && less(mod, b, false)) &&
      z3::implies(negative, less(b, mod, false) && less(mod, zero, true)) &&
      z3::implies(positive && nonneg && less(a, b, false), x.floor == zero.e && x.mod == x.a) &&
      z3::implies(negative && less(b, a, false) && less(a, zero, true), x.floor == zero.e && x.mod == x.a) &&
      z3::implies(nonneg, x.trunc == x.floor || negative) && z3::implies(positive && nonneg, x.rem == x.mod);
  if (uops::is_signed(x.dtype)) // truncating rounds toward zero: the remainder takes a's sign
    facts = facts && z3::implies(nonneg, less(zero, rem, true)) && z3::implies(!nonneg, less(rem, zero, true));
  return all && z3::implies(division_defined(x), facts);
}

z3::expr Semantics::lemmas() const {
  z3::expr all = c.bool_val(true);
  for (const Division& x : divisions) {
    all = all && division_lemmas(x);
    Val zero = zero_of(x.dtype);
    for (const Division& y :
         divisions) { // floor division by one b is monotone in the dividend: up for b > 0, down for b < 0
      if (&x == &y || x.dtype != y.dtype || !z3::eq(x.b, y.b)) continue;
      z3::expr ordered = division_defined(x) && division_defined(y) && less({x.dtype, x.a}, {y.dtype, y.a}, true);
      z3::expr up = less({x.dtype, x.floor}, {y.dtype, y.floor}, true),
               down = less({y.dtype, y.floor}, {x.dtype, x.floor}, true);
      all = all && z3::implies(ordered, z3::ite(less(zero, {x.dtype, x.b}, false), up, down));
      // equal quotients: the dividends differ by the remainders (the identities, with the products cancelled)
      all = all && z3::implies(x.floor == y.floor, x.a - y.a == x.mod - y.mod);
    }
  }
  return all && congruences;
}

// On an unbounded index, dividends that differ by a multiple of b have one remainder and quotients that differ by
// that multiple's quotient; a product with a factor that b divides is divided factor-wise. These facts need
// divisions of their own (of a_i - a_j, of each factor), made here once the query's divisions are known. They fail
// with wraparound, so bit-vectors get none.
void Semantics::add_congruences() {
  auto index_of = [&](const z3::expr& a, const z3::expr& b) {
    const Division& d = divide(DType::index, a, b); // may grow the vector: take the index after the call
    return size_t(&d - divisions.data());
  };
  auto D = [&](size_t i) -> const Division& { return divisions[i]; };
  size_t n = divisions.size();
  // a remainder inside a dividend written as a - b * (a // b), so that a difference shows its factors
  z3::expr_vector mods(c), sums(c);
  for (size_t i = 0; i < n; i++)
    if (!is_bv(D(i).dtype)) mods.push_back(D(i).mod), sums.push_back(D(i).a - D(i).b * D(i).floor);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (i == j || is_bv(D(i).dtype) || D(j).dtype != D(i).dtype || !z3::eq(D(i).b, D(j).b)) continue;
      z3::expr b = D(i).b, diff = D(i).a - D(j).a;
      size_t k = index_of(diff.substitute(mods, sums).simplify(), b);
      congruences = congruences &&
                    z3::implies(b != 0 && D(k).mod == 0, D(i).mod == D(j).mod && D(i).floor == D(j).floor + D(k).floor);
    }
  for (size_t k = 0; k < divisions.size() && k < 4 * n + 8; k++) {
    z3::expr a = D(k).a, b = D(k).b;
    if (is_bv(D(k).dtype) || !a.is_app() || a.decl().decl_kind() != Z3_OP_MUL) continue;
    for (unsigned f = 0; f < a.num_args(); f++) {
      if (a.arg(f).is_numeral()) continue;
      z3::expr others = c.int_val(1);
      for (unsigned g = 0; g < a.num_args(); g++)
        if (g != f) others = others * a.arg(g);
      size_t factor = index_of(a.arg(f), b);
      congruences = congruences &&
                    z3::implies(b != 0 && D(factor).mod == 0, D(k).mod == 0 && D(k).floor == others * D(factor).floor);
    }
  }
  // nesting: a // b // c is a // (b * c), for b and c positive
  for (size_t i = 0, n2 = divisions.size(); i < n2; i++)
    for (size_t j = 0; j < n2; j++) {
      if (is_bv(D(i).dtype) || is_bv(D(j).dtype) || !z3::eq(D(j).a, D(i).floor.simplify())) continue;
      z3::expr b = D(i).b, c2 = D(j).b;
      size_t k = index_of(D(i).a, b * c2);
      congruences = congruences && z3::implies(b > 0 && c2 > 0, D(j).floor == D(k).floor);
    }
  // scaling: (u * v) % (z * v) is (u % z) * v, and (u * v) // (z * v) is u // z, for a division of a factor u by z
  for (size_t i = 0; i < divisions.size(); i++) {
    z3::expr a = D(i).a;
    if (is_bv(D(i).dtype) || !a.is_app() || a.decl().decl_kind() != Z3_OP_MUL || a.num_args() != 2) continue;
    for (size_t j = 0; j < divisions.size(); j++)
      for (unsigned f = 0; f < 2; f++) {
        if (i == j || is_bv(D(j).dtype) || !z3::eq(a.arg(f), D(j).a)) continue;
        z3::expr v = a.arg(1 - f), z = D(j).b;
        congruences =
            congruences && z3::implies(z != 0 && D(i).b == v * z, D(i).mod == D(j).mod * v && D(i).floor == D(j).floor);
      }
  }
}

} // namespace patgrad::prove
