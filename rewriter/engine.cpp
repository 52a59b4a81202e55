// The engine: a pass's rules compiled into a matcher that dispatches on the root op and rejects early on the
// sources' ops, and graph_rewrite, which drives it over a graph without recursing on the C++ stack.
#include "rewriter/internal.h"
#include <chrono>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>

namespace patgrad::rewriter {

Matcher::Matcher(llvm::ArrayRef<const Group*> groups) {
  for (const Group* g : groups)
    for (const Rule* r : g->rules)
      for (Pat& p : commuted_variants(r->pattern)) {
        OpMask needs = required_src_ops(p);
        for (int op = 0; op < uops::num_ops; op++)
          if (p.ops.none() || p.ops.test(op)) by_op[op].push_back({r, p, needs});
      }
}

const Matcher& matcher_of(const Pass& pass) {
  if (!pass.matcher) pass.matcher = std::make_shared<Matcher>(pass.groups);
  return *pass.matcher;
}

const Matcher& matcher_of(const Group& group) {
  if (!group.matcher) group.matcher = std::make_shared<Matcher>(llvm::ArrayRef<const Group*>{&group});
  return *group.matcher;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Rewriter {
  const Pass& pass;
  const Matcher& m;
  const RewriteOptions& opts;
  uint64_t rewrites = 0;
  PassContext ctx; // fresh() counters and ranges() memo: one per graph_rewrite call
  std::vector<const Rule*> recent; // the last rules that fired, to name them when a pass fails
  std::string failure;

  // The first rule that rewrites node, or nothing.
  std::optional<UOp> rewrite(const UOp& node) {
    for (const Candidate& c : m.by_op[int(node->op)]) {
      if ((node->src_ops & c.needs) != c.needs || c.rule->disabled) continue;
      c.rule->attempts++;
      auto start = opts.stats ? Clock::now() : Clock::time_point();
      Bindings b(*c.rule);
      std::optional<UOp> r;
      if (match(c.pattern, node, b)) r = fire(*c.rule, b, node->dtype, ctx);
      if (opts.stats) c.rule->nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
      if (!r || *r == node) continue; // a rule that returns its input did not fire
      if ((*r)->dtype != node->dtype) {
        failure = fmt::format("rule '{}' ({}) turned a {} node into a {} node", c.rule->name, c.rule->loc.str(),
                              uops::name(node->dtype), uops::name((*r)->dtype));
        return std::nullopt;
      }
      c.rule->hits++;
      if (opts.trace) opts.trace->push_back({c.rule, node, *r});
      recent.push_back(c.rule);
      if (recent.size() > 64) recent.erase(recent.begin());
      if (++rewrites > pass.limit)
        failure = fmt::format("pass '{}' stopped after {} rewrites (limit={})", pass.name, pass.limit, pass.limit);
      return r;
    }
    return std::nullopt;
  }

  std::string rules_involved() const {
    std::vector<std::string> names;
    for (const Rule* r : recent)
      if (std::find(names.begin(), names.end(), r->name) == names.end()) names.push_back(r->name);
    std::string out;
    for (auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  UOp rebuild(const UOp& n, const llvm::DenseMap<const uops::Node*, std::pair<UOp, UOp>>& done) {
    llvm::SmallVector<UOp, 4> src;
    bool changed = false;
    for (const UOp& s : n->src) {
      src.push_back(done.find(s.get())->second.second);
      changed |= !(src.back() == s);
    }
    return changed ? UOp::make(n->op, n->dtype, src, n->arg) : n;
  }

  // Post-order (sources first, then the node, again on what a rule returns) or pre-order (the node until no rule
  // applies, then its sources). An explicit stack; `done` memoizes each node's final form for the pass and holds
  // its key alive so that a freed node's address cannot alias a new one.
  llvm::Expected<UOp> run(const UOp& root) {
    struct Frame {
      UOp n;       // the node whose result this frame computes
      UOp cur;     // what it has become so far
      int stage;   // 0: visit, 1: sources done, 2: result of a rewrite done
    };
    llvm::DenseMap<const uops::Node*, std::pair<UOp, UOp>> done;
    llvm::DenseSet<const uops::Node*> active; // frames on the stack, to see a rewrite cycle
    std::vector<Frame> stack{{root, root, 0}};
    bool pre = pass.order == Order::PRE;
    bool again = pass.order != Order::WALK && pass.fixpoint;
    while (!stack.empty()) {
      if (!failure.empty()) break;
      Frame f = stack.back();
      stack.pop_back();
      if (done.count(f.n.get())) continue;
      if (f.stage == 0) {
        UOp cur = f.cur;
        if (pre) // rewrite the node itself to a fixed point before its sources
          for (int k = 0; auto r = rewrite(cur); k++) {
            cur = *r;
            if (!again || k > 1000) break;
          }
        active.insert(f.n.get());
        stack.push_back({f.n, cur, 1});
        for (auto it = cur->src.rbegin(); it != cur->src.rend(); ++it)
          if (!done.count(it->get())) stack.push_back({*it, *it, 0});
        continue;
      }
      if (f.stage == 1) {
        UOp cur = rebuild(f.cur, done);
        std::optional<UOp> r = pre ? std::nullopt : rewrite(cur);
        if (!failure.empty()) break;
        if (pre && !(cur == f.cur) && again) r = cur; // new sources may enable rules on the node: visit it again
        if (!r) {
          active.erase(f.n.get());
          done[f.n.get()] = {f.n, cur};
          continue;
        }
        if (!again) { // walk or once: one rewrite per node, and its result is final
          active.erase(f.n.get());
          done[f.n.get()] = {f.n, *r};
          continue;
        }
        if (active.count(r->get()))
          return llvm::createStringError(llvm::inconvertibleErrorCode(), "pass '%s' found a rewrite cycle; rules involved: %s",
                                         pass.name.c_str(), rules_involved().c_str());
        stack.push_back({f.n, *r, 2});
        stack.push_back({*r, *r, 0});
        continue;
      }
      // stage 2: f.cur was rewritten to completion; that is f.n's result too
      active.erase(f.n.get());
      done[f.n.get()] = {f.n, done.find(f.cur.get())->second.second};
    }
    if (!failure.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s; rules that fired last: %s", failure.c_str(),
                                     rules_involved().c_str());
    return done.find(root.get())->second.second;
  }
};

} // namespace

llvm::Expected<UOp> graph_rewrite(const UOp& root, const Pass& pass, const RewriteOptions& opts) {
  Rewriter rw{pass, matcher_of(pass), opts};
  return rw.run(root);
}

llvm::Expected<std::optional<UOp>> rewrite_node(const UOp& node, const Pass& pass) {
  RewriteOptions opts;
  Rewriter rw{pass, matcher_of(pass), opts};
  std::optional<UOp> r = rw.rewrite(node);
  if (!rw.failure.empty()) return llvm::createStringError(llvm::inconvertibleErrorCode(), rw.failure.c_str());
  return r;
}

llvm::Expected<UOp> simplify(const UOp& root) {
  const Pass* sym = builtin_library().pass("sym");
  if (!sym) return llvm::createStringError(llvm::inconvertibleErrorCode(), "the built-in patterns declare no pass 'sym'");
  return graph_rewrite(root, *sym);
}

} // namespace patgrad::rewriter
