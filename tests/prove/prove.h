// Shared inside tests/prove: how prove_rules turns one rule into Z3 queries. A rule is proved per instance (one op
// for every op set in its pattern, one dtype for every node); each instance becomes "LHS defined and the guard holds
// and the result can be built, yet the result is undefined or differs", which must be unsatisfiable.
#pragma once
#include "rewriter/rules.h"
#include <stdexcept>
#include <z3++.h>

namespace patgrad::prove {

using rewriter::Build;
using rewriter::Expr;
using rewriter::Pat;
using rewriter::Rule;
using uops::DType;
using uops::Op;
using Wide = __int128;

// A construct the encoder has no meaning for (gcd, a node arg, a source list): the rule is reported, not proved.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// instances.cpp: the ways a rule's pattern can be typed over integer and bool dtypes.
struct Instance {
  std::vector<std::optional<Op>> ops; // per pattern node, in preorder: its op, or none (a capture of any op)
  std::vector<DType> dtypes;          // per pattern node
  std::string key;                    // the instance with widths left out: width twins share it
  int width = 0;                      // the widest fixed-width dtype, 0 if none
  std::string describe() const;       // the dtypes, root first: "i32" or "bool(i8)"
};
// Sorted so that width twins are neighbours, narrowest first.
std::vector<Instance> instances(const Rule& rule);
std::vector<const Pat*> preorder(const Pat& root);

// semantics.cpp: the reference semantics (uops/eval.cpp) over Z3 terms. Fixed-width integers are bit-vectors of
// their width, bool is a Bool, index an unbounded Int (index_bits = 0) or, for a bounded proof, a signed bit-vector
// whose overflow `fits` assumes away.
struct Val {
  DType dtype;
  z3::expr e;
};
struct Eval {
  z3::expr value;
  z3::expr defined;
};
bool has_semantics(Op op); // ops eval() gives an integer or bool meaning to

class Semantics {
public:
  Semantics(z3::context& c, int index_bits);

  const int index_bits;           // 0: index is an unbounded Int
  z3::expr fits;                  // bounded index: no index value overflowed
  bool bitwise_index = false;     // index leaves carry their 64-bit two's complement, for AND, OR and XOR
  bool abstract_division = false; // quotients and remainders are free but for the lemmas (division.cpp)

  z3::sort sort(DType d);
  z3::expr leaf(const std::string& name, DType d);                // a fresh variable
  z3::expr constant(DType d, Wide v);                             // v wrapped to d, as uops::int_value
  z3::expr convert(const Val& v, DType to);                       // int_value(to, as_wide(v)): wraps; to bool: "!= 0"
  z3::expr less(const Val& a, const Val& b, bool or_equal) const; // on mathematical values; one dtype
  z3::expr is_zero(const Val& v);
  z3::expr equal(const Val& a, const Val& b) const; // one dtype
  // op applied to args whose dtype is `in`, giving `out`; defined where eval() returns a value.
  Eval apply(Op op, DType out, DType in, const std::vector<z3::expr>& args);
  bool is_bv(DType d) const; // a bit-vector: fixed-width, or a bounded index
  int width(DType d) const;  // of a bit-vector

  // division.cpp
  bool has_divisions() const { return !divisions.empty(); }
  void add_congruences();  // lemmas that need divisions of their own: once, after encoding
  z3::expr lemmas() const; // valid facts about the divisions made

private:
  struct Division {
    DType dtype;
    z3::expr a, b, floor, mod, trunc, rem; // IDIV, MOD, CDIV and CMOD of a by b
  };

  z3::context& c;
  std::vector<std::pair<z3::expr, z3::expr>> bits; // an Int term and its two's complement, for bitwise ops on index
  std::vector<Division> divisions;
  z3::expr congruences;

  std::optional<z3::expr> bits_of(const z3::expr& e) const;
  Eval index_op(Op op, const std::vector<z3::expr>& x);
  Eval index_bitwise(Op op, const z3::expr& a, const z3::expr& b);
  Eval bv_op(Op op, DType d, const std::vector<z3::expr>& x);
  Eval bool_op(Op op, const std::vector<z3::expr>& x);
  Eval convert_op(Op op, DType out, DType in, const z3::expr& a);

  // division.cpp
  const Division& divide(DType d, const z3::expr& a, const z3::expr& b);
  Division exact_division(DType d, const z3::expr& a, const z3::expr& b);
  Eval div_op(Op op, DType d, const z3::expr& a, const z3::expr& b, const z3::expr& defined);
  z3::expr division_lemmas(const Division& x) const;
  z3::expr division_defined(const Division& x) const;
  Val zero_of(DType d) const;
};

// encode.cpp + guards.cpp: one instance as Z3 terms.
struct Named {
  std::string name;
  DType dtype;
  z3::expr e;
  bool is_op = false; // an op number, printed by name
};
// A guard value (match.cpp's GVal): a number of a dtype, a dtype, or an op; defined or not.
struct GVal {
  enum Kind { NUM, DTYPE, OP } kind;
  DType dtype;
  z3::expr e;                                 // NUM: the value; OP: the op's number, an 8-bit vector
  z3::expr ok;                                // defined: the matcher's evaluator returns a value
  std::optional<Wide> literal = std::nullopt; // an integer literal, index until it meets a typed value
};

bool mentions_bitwise(const Rule& rule, const Instance& inst); // AND, OR or XOR anywhere in the rule

class Encoder {
public:
  // index_bits: 0 for an unbounded index, else the width of a bounded proof; abstract: see division.cpp
  Encoder(z3::context& c, const Rule& rule, const Instance& inst, int index_bits, bool abstract);
  bool divides() const { return sem.has_divisions(); }
  // Builds every term; false if the pattern cannot match in this instance (a literal the dtype cannot hold).
  bool encode();
  z3::expr premise() const;       // the rule fires: the LHS is defined, the guard holds, the result can be built
  z3::expr query() const;         // satisfiable iff the rule is wrong for this instance
  std::string result_dtype_error; // the result has another dtype than the root: wrong without asking Z3
  bool buildable = true;          // false: the result can never be built here (the rule never fires)
  const std::vector<Named>& vars() const { return names; }
  Val lhs_value() const { return *lhs; }
  Val rhs_value() const { return *rhs; }
  z3::expr rhs_defined() const { return rhs_ok; }

private:
  struct Slot {
    int node = -1;
    std::optional<Val> value;
    std::optional<z3::expr> lo, hi, op; // x.vmin, x.vmax, x.op: made when the guard asks
  };
  struct Built {
    Val v;
    z3::expr fires, ok;
  };

  z3::context& c;
  const Rule& rule;
  const Instance& inst;
  Semantics sem;
  std::vector<const Pat*> nodes;
  std::vector<Slot> slots;
  std::vector<Named> names;
  z3::expr assumptions, lhs_ok, fires, rhs_ok;
  std::optional<Val> lhs, rhs;
  int next_node = 0, anonymous = 0;
  bool matchable = true;

  // encode.cpp
  Val pattern(const Pat& p);
  Val leaf(const Pat& p, int node);
  std::optional<Built> build(const Build& b, std::optional<DType> want);
  std::optional<Built> build_node(const Build& b, std::optional<DType> want);
  std::optional<DType> static_dtype(const Build& b);
  std::optional<DType> given(const Build& b);
  std::optional<Op> slot_op(int slot) const;
  DType slot_dtype(int slot) const;
  z3::expr fresh(const std::string& name, DType d, bool is_op = false);
  z3::expr fresh_leaf(const std::string& name, DType d);
  z3::expr op_of(int slot);
  std::pair<z3::expr, z3::expr> range_of(int slot);
  void finish_slots();

  // guards.cpp
  GVal guard(const Expr& e);
  GVal capture(int slot);
  GVal field(const Expr& e);
  GVal unary(const Expr& e);
  GVal apply_guard(Op op, GVal a, GVal b);
  GVal call(const Expr& e);
  GVal number(DType d, z3::expr v, z3::expr ok);
  GVal literal(Wide v);
  GVal adopt(const GVal& lit, DType d);
  GVal as_index(const GVal& v);
  z3::expr truthy(const GVal& v);
  GVal pow2_test(const GVal& a);
  GVal log2_of(const GVal& a);
  GVal eval_call(const Expr& e, bool only_defined);
};

// solve.cpp: one query with a timeout.
enum class Verdict { PROVED, REFUTED, UNKNOWN };
struct Outcome {
  Verdict verdict;
  std::string counterexample; // for REFUTED: every variable's value, the LHS and the RHS
};
Outcome solve(z3::context& c, Encoder& enc, unsigned timeout_ms);
bool can_fire(z3::context& c, Encoder& enc, unsigned timeout_ms); // the premise is satisfiable
std::string format_value(const z3::model& m, const Val& v);

// proof.cpp: one rule, every instance.
struct ProofOptions {
  unsigned timeout_ms = 4000; // per query; eight times that for the narrowest width of each instance
  bool verbose = false;       // every instance into Report::log
  bool smt2 = false;          // every query into Report::log
};
enum class Status { PROVED, REFUTED, UNKNOWN, UNSUPPORTED, SKIPPED };
struct Report {
  Status status = Status::PROVED;
  std::string detail;                // the counterexample, or why it was not proved or skipped
  std::vector<std::string> timeouts; // instances that timed out while a narrower twin was proved
  std::vector<std::string> bounded;  // index instances proved only for values of a bounded width
  int instances = 0;                 // proved (timeouts and bounded proofs are listed above)
  std::string log;                   // --verbose and --smt2 output
};
Report prove_rule(const Rule& rule, const ProofOptions& o);

} // namespace patgrad::prove
