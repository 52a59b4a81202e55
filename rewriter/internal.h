// Shared inside rewriter/: the declarations the checker resolves names against, the checker's parts, and the run-time
// pieces of one rule (matching, guard evaluation, result building) that the engine drives.
#pragma once
#include "rewriter/ast.h"
#include "rewriter/rewriter.h"
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/StringMap.h>

namespace patgrad::rewriter {

// Names declared so far, across all files (one namespace, declaration before use).
struct Scope {
  llvm::StringMap<OpMask> opsets;
  llvm::StringMap<DTypeSet> dtype_classes;
  llvm::StringMap<std::pair<int, Loc>> hooks; // declared hook -> index into hooks()
  llvm::StringMap<Group*> groups;
  llvm::StringMap<Rule*> rules;
  llvm::StringMap<std::string> rule_texts; // canonical text of each rule -> its name, for duplicates
  llvm::StringMap<int> counters; // fresh(name) -> the counter's number in a PassContext
};

// symbolic_hooks.cpp: registers symbolic.pat's hooks; the loader calls it before it reads any file.
void register_symbolic_hooks();

// checker.cpp: one rule from its AST; errors go to diags and leave the rule unusable (returns null). New fresh()
// counters are added to scope.
std::unique_ptr<Rule> check_rule(const AstRule& ast, bool render, Scope& scope, Diagnostics& diags);
// An earlier rule with no guard whose pattern matches everything `later` matches.
bool shadows(const Rule& earlier, const Rule& later);
std::string canonical_text(const AstRule& ast);

// What a dtype a node can have, given its op and its sources' possible dtypes.
DTypeSet op_result_dtypes(const OpMask& ops, const std::vector<DTypeSet>& srcs);

// The result functions that give a list of nodes (spliced with `...f(...)`, or bound by `where rs = f(...)`).
inline bool is_node_list_builtin(const std::string& name) {
  return name == "ranges" || name == "without" || name == "fresh_ranges" || name == "pick" || name == "put" ||
         name == "unflatten";
}

// What a name of a rule holds: a node (a capture or a `where` binding), a captured source list (`...rest`), or an
// integer list captured from an arg (`REDUCE_AXIS[(MAX, ...axes)]`).
enum class Slot { NODE, LIST, INTS };

// The checker of one rule, across four files: the rule as a whole and its names (checker.cpp), its pattern
// (check_patterns.cpp), its guard and computed values (check_values.cpp), its bindings and result (check_results.cpp).
struct RuleChecker {
  Scope& scope;
  Diagnostics& diags;
  Rule& rule;
  bool render;
  bool ok = true;
  bool in_result = false; // checking the bindings or the result, where fresh() may appear
  llvm::StringMap<int> slots;
  std::vector<int> uses;            // per slot: occurrences in pattern, guard, bindings and result
  std::vector<DTypeSet> slot_dtypes; // per slot: what the pattern allows
  std::vector<Slot> slot_kind;
  std::vector<bool> slot_is_binding;
  std::vector<Loc> slot_loc;
  llvm::StringMap<bool> pending; // `where` names not defined yet
  llvm::StringMap<int> dtype_vars;
  DTypeSet all_dtypes = 0; // every dtype some pattern value can have: the rule's domain

  // checker.cpp
  void error(const Loc& loc, const std::string& message);
  int new_slot(const std::string& name, const Loc& loc, Slot kind = Slot::NODE);
  int slot_of(const std::string& name, Slot kind);
  void unbound(const Loc& loc, const std::string& name, const std::string& otherwise);
  static std::optional<Op> op_name(const AstExpr* e);
  std::optional<DTypeSet> resolve_dtypes(const std::string& name);
  int dtype_var(const std::string& name);
  void apply_ty(const TySpec& ty, DTypeSet& set, int& var);
  std::optional<OpMask> resolve_ops(const std::vector<std::pair<std::string, Loc>>& names);
  static std::optional<Op> infix_op(const std::string& sym);
  static std::optional<std::pair<uops::Value, bool>> literal(const AstExpr* e);
  void check_arity(const OpMask& ops, size_t n, bool rest, const Loc& loc);
  void check(const AstRule& ast);
  Domain classify(DTypeSet s);

  // check_patterns.cpp
  Pat pattern(const AstExpr* e);
  void bind(Pat& p, const std::string& name);
  DTypeSet pat_dtypes(const Pat& p);
  Pat finish(Pat& p);
  Pat node_pattern(const AstExpr* e);
  void arg_tuple(Pat& p, const AstExpr* t);

  // check_values.cpp
  std::unique_ptr<Expr> value(const AstExpr* e);
  std::unique_ptr<Expr> fresh(const AstExpr* e, std::unique_ptr<Expr> x);
  std::unique_ptr<Expr> call(const AstExpr* e, std::unique_ptr<Expr> x);
  std::unique_ptr<Expr> trips(const AstExpr* e, std::unique_ptr<Expr> x);

  // check_results.cpp
  Build result(const AstExpr* e);
  Build node_result(const AstExpr* e);
  void result_dtype(const TySpec& ty, Build& b); // OP<ty>(...) or op<ty>(...): b's dtype
  Build captured_list(const std::string& name, const Loc& loc);
  Build node_list(const AstExpr* e);
  Build source(const AstExpr* e);
  Build each(const AstExpr* e);
  Build list_operand(const AstExpr* e);
  Build builtin_result(const AstExpr* e);
  void binding(const AstBinding& w);
  Build hook_result(const AstExpr* e);
  DTypeSet build_dtypes(const Build& b);
  void check_template(const std::string& text, const Loc& loc);
};

// engine.cpp: rules indexed by the op they match at the root, each commutative order a candidate, with the ops its
// sources must include for an early reject. A pass's matcher covers its groups; a render group has its own.
struct Candidate {
  const Rule* rule;
  Pat pattern;  // one commutative order
  OpMask needs; // ops the node's sources must include
};
struct Matcher {
  std::vector<Candidate> by_op[uops::num_ops]; // in rule order
  explicit Matcher(llvm::ArrayRef<const Group*> groups);
};
const Matcher& matcher_of(const Pass& pass);
const Matcher& matcher_of(const Group& group);

// match.cpp: what a match binds, by slot
struct Bindings {
  std::vector<UOp> nodes;                 // by slot: captures and `where` bindings
  std::vector<std::vector<UOp>> lists;    // `...rest` slots
  std::vector<uops::Ints> ints;           // `...axes` slots of arg patterns
  std::vector<std::optional<DType>> dtypes; // dtype variables
  explicit Bindings(const Rule& r)
      : nodes(r.num_slots), lists(r.num_slots), ints(r.num_slots), dtypes(r.num_dtype_vars) {}
};

// pass_context.cpp: what the firings of one graph_rewrite call share: the fresh() counters (so ids are unique within
// the call and, since the traversal is deterministic, the same in every run) and the memo of ranges(x).
struct PassContext {
  PassContext() = default; // not an aggregate: the engine's Rewriter is brace-initialized without it
  llvm::SmallVector<int64_t, 4> counters; // by counter number (Scope::counters)
  llvm::DenseMap<const uops::Node*, std::pair<UOp, std::vector<UOp>>> open_ranges; // node (held alive) -> ranges

  int64_t fresh(int counter);
  // The RANGEs x depends on that are still open at x, by their number: a RANGE is open at itself; REDUCE(y, r...)
  // and END(y, r...) close their ranges r.
  const std::vector<UOp>& ranges(const UOp& x);
};

// match.cpp
bool match(const Pat& pat, const UOp& node, Bindings& b);
// Every commutative order of a pattern (capped), the original first.
std::vector<Pat> commuted_variants(const Pat& pat, size_t cap = 16);
// The ops a node matched by pat can have at its sources, for the early reject.
OpMask required_src_ops(const Pat& pat);

// Which builtins give an integer list, and which of their arguments are lists (the rest are numbers).
inline bool gives_list(Expr::Builtin b) {
  return b == Expr::INVERSE || b == Expr::DIFFER || b == Expr::EVENS || b == Expr::ODDS || b == Expr::INTERLEAVE ||
         b == Expr::STRIDES || b == Expr::PICK || b == Expr::DROP || b == Expr::IOTA;
}
inline bool takes_list(Expr::Builtin b, size_t arg) {
  if (b == Expr::IOTA) return false;
  return gives_list(b) ? (b != Expr::DROP || arg == 0) : b == Expr::AT ? arg == 0 : b == Expr::LEN || b == Expr::PROD;
}

// evaluate.cpp
using Wide = __int128;

// A guard value: a number in a dtype (literals are index-typed and adopt the other operand's dtype), a dtype, an op
// or a list of integers.
struct GVal {
  DType dtype = DType::index;
  uops::Value v;
  bool literal = false;
  bool is_dtype = false;
  std::optional<Op> op;           // an op, to compare with another
  std::optional<uops::Ints> list; // a shape, an arg, a tuple
};

inline bool truthy(const GVal& g) { return uops::is_float(g.dtype) ? g.v.f != 0 : g.v.i != 0; }

inline Wide wide(const GVal& g) { return uops::as_wide(g.dtype, g.v); }

inline bool is_number(const GVal& g) { return !g.is_dtype && !g.op && !g.list; }

// The value of a guard or a computed value (a CONST's value, an arg); fresh() draws from ctx, null outside a rewrite.
std::optional<GVal> evaluate(const Expr& e, const Bindings& b, PassContext* ctx);
// The value of a guard-style expression: for render placeholders and tests.
std::optional<uops::Value> eval_expr(const Expr& e, const Bindings& b, DType* dtype_out = nullptr);

// fire.cpp: the rule's guard, bindings and result on a successful match: the new node, or nothing (guard false, a
// hook said no, a computed value undefined).
std::optional<UOp> fire(const Rule& rule, Bindings& b, DType root, PassContext& ctx);

} // namespace patgrad::rewriter
