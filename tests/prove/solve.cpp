// One query to Z3 under a timeout, and a counterexample in the rule's own terms: every variable with its dtype's
// reading of the bits (signed or unsigned), then the two sides.
#include "tests/prove/prove.h"
#include <condition_variable>
#include <fmt/format.h>
#include <mutex>
#include <thread>

namespace patgrad::prove {

std::string format_value(const z3::model& m, const Val& v) {
  z3::expr r = m.eval(v.e, true);
  if (uops::is_bool(v.dtype)) return r.is_true() ? "true" : "false";
  if (!r.is_bv()) return Z3_get_numeral_string(r.ctx(), r);
  uint64_t bits = r.get_numeral_uint64();
  int n = int(r.get_sort().bv_size());
  if (!uops::is_signed(v.dtype)) return fmt::format("{}", bits);
  int64_t s = n == 64 ? int64_t(bits) : (int64_t(bits << (64 - n)) >> (64 - n)); // sign-extend
  return fmt::format("{}", s);
}

namespace {

std::string counterexample(const z3::model& m, const Encoder& enc) {
  std::string out;
  for (const Named& n : enc.vars()) {
    std::string value;
    if (n.is_op) {
      int64_t op = int64_t(m.eval(n.e, true).get_numeral_uint64());
      value = op >= 0 && op < uops::num_ops ? std::string(uops::op_info(Op(op)).name) : std::to_string(op);
    } else
      value = format_value(m, {n.dtype, n.e});
    out += fmt::format("{}{} = {}", out.empty() ? "" : ", ", n.name, value);
  }
  std::string rhs = m.eval(enc.rhs_defined(), true).is_true() ? format_value(m, enc.rhs_value()) : "undefined";
  return fmt::format("{}; LHS = {}, RHS = {}", out, format_value(m, enc.lhs_value()), rhs);
}

// Z3 4.8.12's own timeout runs a timer thread that can deadlock (seen here: a run hung for minutes with no CPU
// used), so a watchdog interrupts the context instead. An interrupt that lands just after the check leaves the
// context cancelled: callers give every attempt a fresh context.
z3::check_result check(z3::context& c, z3::solver& s, unsigned timeout_ms) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return done; })) c.interrupt();
  });
  z3::check_result r = s.check();
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  return r;
}

} // namespace

Outcome solve(z3::context& c, Encoder& enc, unsigned timeout_ms) {
  z3::solver s(c);
  s.add(enc.query());
  switch (check(c, s, timeout_ms)) {
  case z3::unsat: return {Verdict::PROVED, ""};
  case z3::sat: return {Verdict::REFUTED, counterexample(s.get_model(), enc)};
  case z3::unknown: break;
  }
  return {Verdict::UNKNOWN, s.reason_unknown()};
}

bool can_fire(z3::context& c, Encoder& enc, unsigned timeout_ms) {
  z3::solver s(c);
  s.add(enc.premise());
  return check(c, s, timeout_ms) == z3::sat;
}

} // namespace patgrad::prove
