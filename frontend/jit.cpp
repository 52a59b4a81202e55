// Capture and replay (jit.h). A call is recorded through the runtime's launch recorder (every kernel run() runs,
// with its buffers) and Tensor::assign's report of each tensor it is about to change. After the call, every buffer a
// launch touches gets a role: an argument, a state's buffer before or after, written by launch k, host data made
// during the call (with a hash of its bytes), or a buffer from outside the call. Two calls are alike when they ran the
// same executables with the same roles in every slot; then the second is the capture.
#include "frontend/jit.h"
#include "frontend/tensor_internal.h"
#include "runtime/profile.h"
#include <chrono>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/Support/xxhash.h>

namespace patgrad {

using uops::UOp;

using uops::Op;

struct Jit::Record {
  int64_t first_buffer = 0; // buffers with this id or larger were made during the call
  std::vector<runtime::Launch> launches;
  std::vector<std::pair<std::weak_ptr<detail::TensorImpl>, UOp>> assigned; // a tensor and its buffer before the call
  std::vector<std::string> roles; // each launch's buffers in order, by role; compared between calls
};

namespace {

using Clock = std::chrono::steady_clock;

thread_local Jit::Record* recording = nullptr;

// The buffer a tensor is a reshape of, or null when it is not realized.
UOp buffer_of(const detail::TensorImpl& impl) {
  UOp u = impl.uop;
  while (u->op == Op::RESHAPE) u = u->src[0];
  return u->op == Op::BUFFER ? u : UOp();
}

// Records the launches of the calls made while it lives.
struct Recording {
  explicit Recording(Jit::Record& r) {
    recording = &r;
    runtime::record_launches(&r.launches);
  }
  ~Recording() {
    recording = nullptr;
    runtime::record_launches(nullptr);
  }
};

std::string describe(const Tensor& t) {
  return fmt::format("{} {}", detail::shape_str(t.shape()), uops::name(t.dtype()));
}

} // namespace

void detail::note_assign(TensorImpl& impl) {
  if (!recording) return;
  UOp before = buffer_of(impl);
  if (!before) return; // not realized when the call assigned it: made during the call, not state
  for (const auto& [t, b] : recording->assigned)
    if (t.lock().get() == &impl) return;
  recording->assigned.emplace_back(impl.weak_from_this(), before);
}

void Jit::reset() {
  calls_ = 0;
  last_.reset();
  captured_.reset();
}

std::vector<Tensor> Jit::operator()(const std::vector<Tensor>& args) {
  if (recording) throw TensorError("jit: a function being captured called a jit (captures do not nest)");
  if (captured_) return replay(args);
  Tensor::realize_all(args); // and any assignment pending from before the call: neither belongs to it
  std::vector<UOp> arg_buffers;
  for (size_t i = 0; i < args.size(); i++) {
    arg_buffers.push_back(args[i].buffer());
    for (size_t j = 0; j < i; j++)
      if (arg_buffers[j] == arg_buffers[i])
        throw TensorError(
            fmt::format("jit: arguments {} and {} are the same buffer: a replay could not tell them apart", j, i));
  }
  auto rec = std::make_shared<Record>();
  rec->first_buffer = runtime::next_buffer_id();
  std::vector<Tensor> results;
  {
    Recording on(*rec);
    results = fn_(args);
    Tensor::realize_all(results); // and what the call assigned
  }

  // What each buffer is to the call.
  llvm::DenseMap<const uops::Node*, std::string> role;
  for (size_t i = 0; i < args.size(); i++) role[arg_buffers[i].get()] = fmt::format("argument {}", i);
  Replay r;
  for (const auto& [weak, before] : rec->assigned) {
    std::shared_ptr<detail::TensorImpl> impl = weak.lock();
    if (!impl) continue; // a tensor the call made and dropped
    UOp after = Tensor(impl).buffer();
    if (after == before) continue;
    if (role.count(before.get()))
      throw TensorError("jit: the function assigns one of its arguments: a replay reads arguments, never writes them");
    role[before.get()] = fmt::format("state {} before", static_cast<void*>(impl.get()));
    role[after.get()] = fmt::format("state {} after", static_cast<void*>(impl.get()));
    r.states.push_back(impl);
    r.state_in.push_back(before);
    r.state_out.push_back(after);
  }
  llvm::DenseMap<const uops::Node*, size_t> writer;
  for (size_t k = 0; k < rec->launches.size(); k++) {
    const runtime::Launch& l = rec->launches[k];
    writer.try_emplace(l.buffers[0].get(), k);
    for (const UOp& b : l.buffers) {
      auto it = role.find(b.get());
      std::string what;
      if (it != role.end())
        what = it->second;
      else if (auto w = writer.find(b.get()); w != writer.end())
        what = fmt::format("written by {}", w->second);
      else if (runtime::buffer_id(b) >= rec->first_buffer) {
        const runtime::Buffer& data = runtime::buffer(b);
        size_t bytes = size_t(data.size) * std::max(1, uops::bits(data.dtype) / 8);
        what = fmt::format("host data {} {:016x}", bytes, llvm::xxh3_64bits({static_cast<uint8_t*>(data.data), bytes}));
      } else
        what = fmt::format("outside {}", runtime::buffer_id(b));
      rec->roles.push_back(std::move(what));
    }
  }
  for (size_t j = 0; j < r.state_out.size(); j++)
    if (!writer.count(r.state_out[j].get()))
      throw TensorError("jit: the function assigns a tensor a value that none of its kernels computes (a view of "
                        "another buffer): a replay could not reproduce it");

  calls_++;
  auto alike = [](const Record& a, const Record& b) { // a: the call before, b: this one
    if (a.launches.size() != b.launches.size() || a.roles.size() != b.roles.size()) return false;
    for (size_t k = 0; k < a.launches.size(); k++)
      if (a.launches[k].executable != b.launches[k].executable) return false;
    size_t slot = 0;
    for (size_t k = 0; k < a.launches.size(); k++)
      for (size_t s = 0; s < b.launches[k].buffers.size(); s++, slot++) { // a's were dropped: one executable, one count
        if (a.roles[slot] == b.roles[slot]) continue;
        auto made = [](llvm::StringRef role) { return role.starts_with("host data "); };
        if (!made(a.roles[slot]) || !made(b.roles[slot])) return false;
        throw TensorError(fmt::format(
            "jit: kernel {} (launch {} of {}) reads host data made into a tensor inside the function (its input "
            "{}), and its value changed between calls; a replay would read the captured value. Make it outside "
            "the function and pass it as an argument (random numbers: draw them outside too)",
            b.launches[k].name, k + 1, b.launches.size(), s));
      }
    return true;
  };
  if (last_ && alike(*last_, *rec)) {
    r.launches = std::move(rec->launches);
    r.args = args;
    r.arg_buffers = std::move(arg_buffers);
    for (const Tensor& t : results) {
      r.results.push_back(t.buffer());
      r.result_forms.emplace_back(t.shape(), t.device());
    }
    captured_ = std::move(r);
    last_.reset();
    return results;
  }
  if (calls_ >= max_warmup_calls)
    throw TensorError(fmt::format("jit: the function ran other kernels on each of its first {} calls, so there is no "
                                  "one step to capture (does it build its graph differently each time?)",
                                  calls_));
  for (runtime::Launch& l : rec->launches) l.buffers.clear(); // a comparison needs the roles, not the memory
  rec->assigned.clear();
  last_ = std::move(rec);
  return results;
}

std::vector<Tensor> Jit::replay(const std::vector<Tensor>& args) {
  Replay& r = *captured_;
  if (args.size() != r.args.size())
    throw TensorError(
        fmt::format("jit: called with {} arguments; the captured step took {}", args.size(), r.args.size()));
  for (size_t i = 0; i < args.size(); i++)
    if (args[i].shape() != r.args[i].shape() || args[i].dtype() != r.args[i].dtype() ||
        args[i].device() != r.args[i].device())
      throw TensorError(fmt::format("jit: argument {} is {} on {}; the captured step took {} on {} (reset() the jit "
                                    "to capture again)",
                                    i, describe(args[i]), args[i].device()->name, describe(r.args[i]),
                                    r.args[i].device()->name));
  Tensor::realize_all(args);
  // The capture's buffers, by node, to this call's: arguments, the states' current buffers, new buffers for the
  // states' values and the results. The rest (intermediates, what the function reads from outside) stay.
  llvm::DenseMap<const uops::Node*, UOp> bind;
  for (size_t i = 0; i < args.size(); i++) bind[r.arg_buffers[i].get()] = args[i].buffer();
  auto fresh = [](const UOp& like) {
    const runtime::Buffer& b = runtime::buffer(like);
    return detail::new_buffer(b.dtype, b.size, runtime::Fill::any, "jit replay");
  };
  std::vector<UOp> state_out;
  for (size_t j = 0; j < r.states.size(); j++) {
    std::shared_ptr<detail::TensorImpl> impl = r.states[j].lock();
    if (!impl) throw TensorError("jit: a tensor the captured step assigns no longer exists (reset() the jit)");
    UOp now = Tensor(impl).buffer();
    if (runtime::buffer(now).size != runtime::buffer(r.state_in[j]).size || now->dtype != r.state_in[j]->dtype)
      throw TensorError(fmt::format("jit: a tensor the captured step assigns is now {}, not what it was captured with "
                                    "(reset() the jit)",
                                    describe(Tensor(impl))));
    bind[r.state_in[j].get()] = now;
    state_out.push_back(fresh(r.state_out[j]));
    bind[r.state_out[j].get()] = state_out.back();
  }
  for (const UOp& b : r.results)
    if (!bind.count(b.get())) bind[b.get()] = fresh(b);

  auto start = Clock::now();
  std::vector<runtime::Buffer*> buffers;
  for (const runtime::Launch& l : r.launches) {
    buffers.clear();
    for (const UOp& b : l.buffers) {
      auto it = bind.find(b.get());
      buffers.push_back(&runtime::buffer(it == bind.end() ? b : it->second));
    }
    auto t = runtime::profiling() ? Clock::now() : Clock::time_point();
    if (auto e = l.executable->run(buffers)) throw TensorError(llvm::toString(std::move(e)));
    if (runtime::profiling())
      runtime::profile_span("kernel", l.name, t, Clock::now(), llvm::json::Object{{"replayed", true}});
  }
  runtime::RunStats& stats = detail::run_totals();
  stats.run_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  stats.kernels += int64_t(r.launches.size());

  for (size_t j = 0; j < r.states.size(); j++) {
    std::shared_ptr<detail::TensorImpl> impl = r.states[j].lock();
    impl->uop =
        UOp::make(Op::RESHAPE, state_out[j]->dtype, {state_out[j]}, uops::Ints(impl->shape.begin(), impl->shape.end()));
  }
  std::vector<Tensor> results;
  for (size_t i = 0; i < r.results.size(); i++) {
    auto it = bind.find(r.results[i].get());
    UOp b = it == bind.end() ? r.results[i] : it->second;
    const auto& [shape, device] = r.result_forms[i];
    results.emplace_back(UOp::make(Op::RESHAPE, b->dtype, {b}, uops::Ints(shape.begin(), shape.end())), device);
  }
  return results;
}

} // namespace patgrad
