// Running code that may crash or hang (a search's new candidate) in a child process, so that the caller survives it.
#pragma once
#include <llvm/ADT/STLFunctionalExtras.h>
#include <string>

namespace patgrad::runtime {

struct Isolated {
  enum Outcome { passed, failed, crashed, timed_out } outcome;
  int signal = 0;               // what killed it, when it crashed
  std::string describe() const; // "passed", "failed", "crashed (SIGSEGV)", "timed out"
};
// Runs body in a fork()ed child, which must finish within deadline_ms or is killed; body's result is passed or
// failed. The child has only the calling thread: parallel_for runs serially there, and body must take no lock another
// thread may hold (no allocation is safest) and must not return through the caller's code (the child leaves with
// _exit, its signal handlers reset so that a crash is the caller's to report). Where fork fails, body runs here.
Isolated run_isolated(llvm::function_ref<bool()> body, double deadline_ms);

} // namespace patgrad::runtime
