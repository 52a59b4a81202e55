// Shared inside rewriter/: the declarations the checker resolves names against, and the run-time pieces of one rule
// (matching, guard evaluation, result building) that the engine drives.
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

// match.cpp
struct Bindings {
  std::vector<UOp> nodes;                 // by slot: captures and `where` bindings
  std::vector<std::vector<UOp>> lists;    // `...rest` slots
  std::vector<uops::Ints> ints;           // `...axes` slots of arg patterns
  std::vector<std::optional<DType>> dtypes; // dtype variables
  explicit Bindings(const Rule& r)
      : nodes(r.num_slots), lists(r.num_slots), ints(r.num_slots), dtypes(r.num_dtype_vars) {}
};

// What the firings of one graph_rewrite call share: the fresh() counters (so ids are unique within the call and,
// since the traversal is deterministic, the same in every run) and the memo of ranges(x).
struct PassContext {
  PassContext() = default; // not an aggregate: the engine's Rewriter is brace-initialized without it
  llvm::SmallVector<int64_t, 4> counters; // by counter number (Scope::counters)
  llvm::DenseMap<const uops::Node*, std::pair<UOp, std::vector<UOp>>> open_ranges; // node (held alive) -> ranges

  int64_t fresh(int counter);
  // The RANGEs x depends on that are still open at x, by their number: a RANGE is open at itself; REDUCE(y, r...)
  // and END(y, r...) close their ranges r.
  const std::vector<UOp>& ranges(const UOp& x);
};

bool match(const Pat& pat, const UOp& node, Bindings& b);
// The rule's guard, bindings and result on a successful match: the new node, or nothing (guard false, a hook said
// no, a computed value undefined).
std::optional<UOp> fire(const Rule& rule, Bindings& b, DType root, PassContext& ctx);
// Every commutative order of a pattern (capped), the original first.
std::vector<Pat> commuted_variants(const Pat& pat, size_t cap = 16);
// The ops a node matched by pat can have at its sources, for the early reject.
OpMask required_src_ops(const Pat& pat);
// The value of a guard-style expression: for render placeholders and tests.
std::optional<uops::Value> eval_expr(const Expr& e, const Bindings& b, DType* dtype_out = nullptr);

} // namespace patgrad::rewriter
