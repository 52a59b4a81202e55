// The PROFILE timeline (profile.h). Spans are kept in memory until exit: a training run of a few thousand steps
// makes a few hundred thousand, tens of MB, which the viewers still open.
#include "runtime/profile.h"
#include "runtime/atomic_file.h"
#include <atomic>
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

namespace patgrad::runtime {
namespace {

struct Span {
  std::string category, name;
  double start_us, duration_us;
  unsigned thread;
  llvm::json::Object args;
};

const ProfileClock::time_point process_start = ProfileClock::now();

const char* profile_env() {
  const char* p = std::getenv("PROFILE");
  return p && *p && std::string_view(p) != "0" ? p : nullptr;
}

std::atomic<bool> forced{false};

struct Profile {
  std::mutex mutex;
  std::vector<Span> spans;
  llvm::DenseMap<size_t, unsigned> threads; // std::thread::id's hash to 0, 1, ... in order of first span

  unsigned thread_number() {
    size_t id = std::hash<std::thread::id>()(std::this_thread::get_id());
    return threads.try_emplace(id, unsigned(threads.size())).first->second;
  }

  llvm::json::Value trace() {
    std::lock_guard lock(mutex);
    llvm::json::Array events;
    int pid = int(getpid());
    for (unsigned t = 0; t < threads.size(); t++) // names for the viewer's rows
      events.push_back(llvm::json::Object{
          {"name", "thread_name"},
          {"ph", "M"},
          {"pid", pid},
          {"tid", t},
          {"args", llvm::json::Object{{"name", t ? fmt::format("worker {}", t) : std::string("main")}}}});
    for (const Span& s : spans)
      events.push_back(llvm::json::Object{{"name", s.name},
                                          {"cat", s.category},
                                          {"ph", "X"},
                                          {"ts", s.start_us},
                                          {"dur", s.duration_us},
                                          {"pid", pid},
                                          {"tid", s.thread},
                                          {"args", llvm::json::Object(s.args)}});
    return llvm::json::Object{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
  }
};

Profile& profile() {
  static Profile* p = new Profile; // never destroyed: the exit handler and late threads may still use it
  return *p;
}

void write_at_exit() {
  const char* env = profile_env();
  if (!env) return;
  std::string path = std::string_view(env) == "1" ? "patgrad_profile.json" : env;
  size_t n = profile().spans.size();
  llvm::json::Value trace = profile().trace();
  if (auto e = write_file_atomically(path, [&](llvm::raw_ostream& os) {
        os << trace;
        return llvm::Error::success();
      }))
    fmt::print(stderr, "patgrad: warning: the profile was not written: {}\n", llvm::toString(std::move(e)));
  else
    fmt::print(stderr, "profile: {} spans in {} (open it in https://ui.perfetto.dev or chrome://tracing)\n", n, path);
}

} // namespace

bool profiling() {
  static const bool from_env = [] {
    if (!profile_env()) return false;
    std::atexit(write_at_exit);
    return true;
  }();
  return from_env || forced.load(std::memory_order_relaxed);
}

void profile_span(llvm::StringRef category, llvm::StringRef name, ProfileClock::time_point start,
                  ProfileClock::time_point end, llvm::json::Object args) {
  if (!profiling()) return;
  auto us = [](ProfileClock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
  Profile& p = profile();
  std::lock_guard lock(p.mutex);
  p.spans.push_back(
      {category.str(), name.str(), us(start - process_start), us(end - start), p.thread_number(), std::move(args)});
}

void start_profiling() { forced = true; }

llvm::json::Value profile_trace() { return profile().trace(); }

} // namespace patgrad::runtime
