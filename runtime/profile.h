// PROFILE=1 (or PROFILE=FILE.json): the run's timeline in the trace-event format of Chrome's trace viewer and
// Perfetto (https://ui.perfetto.dev, chrome://tracing): each schedule, kernel lowering, compile, search and kernel run
// as a span on the thread that did it, a kernel's span with its opts and estimated FLOPs and bytes. Written at exit
// (PROFILE=1: patgrad_profile.json in the working directory), whole or not at all; one line on stderr says where.
#pragma once
#include <chrono>
#include <llvm/Support/JSON.h>
#include <string>

namespace patgrad::runtime {

using ProfileClock = std::chrono::steady_clock;

// Whether spans are being recorded: PROFILE is set and not 0, or a test turned it on.
bool profiling();
// Records a span (category: schedule, lower, compile, search, kernel); safe from any thread. Nothing when not
// profiling.
void profile_span(llvm::StringRef category, llvm::StringRef name, ProfileClock::time_point start,
                  ProfileClock::time_point end, llvm::json::Object args = {});

// For tests: record from now on (whatever PROFILE says), and the spans so far as a trace-event document
// ({"traceEvents": [...], "displayTimeUnit": "ms"}; times in microseconds since the first span's process start).
void start_profiling();
llvm::json::Value profile_trace();

} // namespace patgrad::runtime
