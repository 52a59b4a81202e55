// The rewriter: loads and checks pattern files, compiles their rules into matchers and rewrites UOp graphs.
#pragma once
#include "rewriter/rules.h"
#include <functional>
#include <llvm/Support/Error.h>

namespace patgrad::rewriter {

// hooks.cpp: makes a C++ function callable from rules as cpp::name(...) with `arity` captures, once a pattern file
// declares it (`hook name(a, b);`). The component that owns a hook registers it from an init function of its own,
// called before a library that declares the hook loads (the rewriter registers symbolic.pat's itself). Registering
// the same hook again does nothing.
void register_hook(std::string name, int arity, HookFn fn);

// library.cpp: every file, group, pass and typemap loaded, checked and resolved.
struct Library {
  std::vector<std::unique_ptr<SourceFile>> files;
  std::vector<std::unique_ptr<Rule>> rules;
  std::vector<std::unique_ptr<Group>> groups;
  std::vector<std::unique_ptr<Pass>> passes; // the pipeline: in declaration order, except where before=/after= say
  std::map<std::string, std::map<DType, std::string>> typemaps;
  std::map<std::string, const Group*> targets; // `target NAME (render=GROUP);`; null: the target renders nothing

  const Group* group(std::string_view name) const;
  const Pass* pass(std::string_view name) const;
  Rule* rule(std::string_view name) const;
};

struct LoadOptions {
  bool builtin = true;                  // the embedded patterns/*.pat
  std::vector<std::string> dirs;        // every .pat file in these folders, after the built-ins
  std::vector<std::string> files;       // these files, after the folders
  bool use_env = true;                  // also PATGRAD_PATTERNS=dir1:dir2
};
// All diagnostics of all files in one error (each `file:line:col: error: ...` with the line and a caret).
llvm::Expected<std::unique_ptr<Library>> load(const LoadOptions& opts);
// Parses and checks text as if it were a file of that name (tests, `patgrad check`).
llvm::Expected<std::unique_ptr<Library>> load_text(std::string name, std::string text, bool with_builtin = true);
// The built-in library, loaded once per process (with PATGRAD_PATTERNS applied); exits with the diagnostics on error.
const Library& builtin_library();

// engine.cpp
struct Firing {
  const Rule* rule;
  UOp before, after;
};
struct RewriteOptions {
  std::vector<Firing>* trace = nullptr; // every firing, in order
  bool stats = false;                   // per-rule attempts, hits and time in Rule
};
// Rewrites root with the pass's rules until none applies (or once per node for order=walk). Errors: the limit was
// reached, or a cycle (the message names the pass and the rules that took part).
llvm::Expected<UOp> graph_rewrite(const UOp& root, const Pass& pass, const RewriteOptions& opts = {});
// The first rule of the pass that rewrites node itself (no traversal): autograd's use. Errors: a rule produced a node
// of another dtype.
llvm::Expected<std::optional<UOp>> rewrite_node(const UOp& node, const Pass& pass);
// One rule on one node, every commutative order tried: the node it rewrites to, or nothing.
std::optional<UOp> apply_rule(const Rule& rule, const UOp& node);
// The pass named "sym" of the built-in library (symbolic.pat).
llvm::Expected<UOp> simplify(const UOp& root);

// render.cpp: the text of the first render rule of group that matches node; placeholders take node names from
// name_of and type names from the typemap named like the group.
std::optional<std::string> render(const Library& lib, const Group& group, const UOp& node,
                                  const std::function<std::string(const UOp&)>& name_of);

} // namespace patgrad::rewriter
