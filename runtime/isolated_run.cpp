// run_isolated (isolated_run.h): fork, a deadline, waitpid. The child's memory is a copy of the caller's, so what
// body writes (a kernel's output) stays in the child; only passed or failed comes back, as the exit status.
#include "runtime/isolated_run.h"
#include "runtime/thread_pool.h"
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace patgrad::runtime {

std::string Isolated::describe() const {
  switch (outcome) {
  case passed: return "passed";
  case failed: return "failed";
  case crashed: {
    const char* name = sigabbrev_np(signal);
    return name ? fmt::format("crashed (SIG{})", name) : fmt::format("crashed (signal {})", signal);
  }
  case timed_out: return "timed out";
  }
  return "?";
}

Isolated run_isolated(llvm::function_ref<bool()> body, double deadline_ms) {
  pid_t pid = fork();
  if (pid < 0) return {body() ? Isolated::passed : Isolated::failed};
  if (pid == 0) {
    // the caller's crash handlers (LLVM's stack printer, a test framework's) would report as if it had crashed
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) std::signal(s, SIG_DFL);
    rlimit no_core{0, 0}; // a crash is expected here, not a core file
    setrlimit(RLIMIT_CORE, &no_core);
    run_serially_in_this_process();
    _exit(body() ? 0 : 1);
  }
  auto start = std::chrono::steady_clock::now();
  auto wait = std::chrono::microseconds(20);
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) { // cannot happen for our own child; never a pass
      kill(pid, SIGKILL);
      return {Isolated::failed};
    }
    if (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() > deadline_ms) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return {Isolated::timed_out};
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::microseconds(1000)); // prompt for short runs, cheap for long ones
  }
  if (WIFSIGNALED(status)) return {Isolated::crashed, WTERMSIG(status)};
  return {WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Isolated::passed : Isolated::failed};
}

} // namespace patgrad::runtime
