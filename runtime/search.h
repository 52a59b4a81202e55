// Search: a kernel's opts measured on the device (search.cpp says how), for BEAM=n.
#pragma once
#include "lowering/lowering.h"
#include "runtime/target.h"
#include <cmath>
#include <llvm/Support/JSON.h>
#include <optional>

namespace patgrad::runtime {

// search_log.cpp: the search log (a JSON line per measured plan, beside the database; appending to it), and its
// summary per search: plans, the heuristic's time and the best, the plans over twice the best, compile time, and how
// well the cost model ranks the plans (`patgrad search-log`). Errors: the file cannot be read (unreadable lines are
// counted, not errors).
std::string search_log_path();
void append_to_search_log(llvm::json::Object line);
llvm::Expected<std::string> summarize_search_log(const std::string& path);

// BEAM from the environment: the number of plans each round keeps; 0 (the default) is no search.
int search_beam();

struct Searched {
  std::vector<lowering::Opt> opts;                 // the winner (the heuristic's plan when nothing beat it)
  UOp ast;                                         // the kernel they apply to: after the stages before optimize
  bool from_db = false;                            // found in the search database: nothing was measured
  double default_ms = 0, ms = 0;                   // the heuristic plan's time and the winner's, on scratch buffers
  double search_ms = 0;                            // wall time of the search
  double lower_ms = 0, compile_ms = 0, run_ms = 0; // its parts
  double model_ms = 0;                             // and the cost model's part
  int candidates = 0;                              // plans timed
  int compiled = 0;                                // plans compiled
  bool model_chose = false;                        // the cost model chose which plans were measured
  std::vector<std::string> failures;               // "plan: why" for each plan that crashed, hung or computed wrong
  std::vector<std::pair<double, double>> progress; // after each timed plan: ms into the search, best ms so far
  // a winner other than the heuristic's plan timed again beside it, in turns: its best time and the winner's; the
  // winner is kept only where it is 2% faster there too
  std::optional<std::pair<double, double>> confirm_ms;
};
// The best opts found for kernel k on target with a beam of `beam` plans in about `seconds` (at most
// PATGRAD_SEARCH_SECONDS, default 10; no new round or timing starts after it), from the database when it holds a
// result of at least that beam. With no seconds, a kernel whose buffers pass 1 GiB, or a target that cannot compile on
// several threads, the heuristic's plan unmeasured. A candidate that crashes, hangs or computes a wrong output is
// listed in failures and skipped. Errors: a plan does not lower or compile, or the incumbent does not run.
llvm::Expected<Searched> search_kernel(const lowering::Kernel& k, const Target& target, int beam,
                                       double seconds = INFINITY);
// Stores a plan found by search_kernel with no time (the heuristic's) as the kernel's winner: a kernel too small a
// share of its schedule to search is then not timed again by the next run.
void store_unsearched(const Searched& plan, const Target& target, int beam);

} // namespace patgrad::runtime
