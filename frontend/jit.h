// Capture and replay (tinygrad's TinyJit). A Jit wraps a step function of tensors (a training step: forward,
// backward, optimizer update). Its first calls run the function as any code runs, recording the kernels each call
// launches and the buffers they read and write; once two calls in a row launch the same kernels over buffers that
// play the same parts, the second call's record is the capture. Later calls run the captured kernels directly over the
// new arguments' buffers: no graph is built, nothing is scheduled, lowered or looked up in a cache.
//
// What a replay does, so what the function may do:
// - Tensors it assigns (parameters, optimizer moments, running statistics) are state: a replay reads each one's
//   current buffer and gives it a new one with the updated value, as the call did.
// - Its results are new tensors on every call (not views of the capture's buffers).
// - Every other buffer is the capture's: intermediates are reused, and tensors the function reads but neither takes as
//   an argument nor assigns (a frozen layer, a constant) are read as they were captured.
// - Host code inside the function does not run again: printing, item(), a Python counter. Host data made into a
//   tensor inside it would be frozen, so a value that differs between the two calls compared (a random key, a step
//   count as a tensor) is an error at capture, naming the kernel that reads it: pass such values as arguments.
// A replayed call whose arguments differ in number, shape, dtype or device from the capture's is a TensorError.
#pragma once
#include "frontend/tensor.h"
#include "runtime/target.h"
#include <functional>

namespace patgrad {

class Jit {
public:
  using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
  // Calls before capture give up past this many without two alike: the function builds another graph every time.
  static constexpr int max_warmup_calls = 4;

  explicit Jit(Fn fn) : fn_(std::move(fn)) {}
  // The function's results for these arguments (realized), by running it or by replaying its capture.
  std::vector<Tensor> operator()(const std::vector<Tensor>& args);
  bool captured() const { return captured_.has_value(); }
  size_t kernels() const { return captured_ ? captured_->launches.size() : 0; } // launches a replay runs
  void reset();                                                                 // forget the capture; record again

  struct Record; // one call's launches and what each buffer was to that call (jit.cpp)

private:
  struct Replay {
    std::vector<runtime::Launch> launches;
    std::vector<Tensor> args;                              // as captured: shape, dtype and device to match
    std::vector<uops::UOp> arg_buffers;                    // the captured call's argument buffers
    std::vector<std::weak_ptr<detail::TensorImpl>> states; // tensors the call assigned
    std::vector<uops::UOp> state_in, state_out;            // their buffers before and after the captured call
    std::vector<uops::UOp> results;                        // the buffers of the results
    std::vector<std::pair<Shape, const runtime::Target*>> result_forms;
  };
  std::vector<Tensor> replay(const std::vector<Tensor>& args);

  Fn fn_;
  int calls_ = 0;
  std::shared_ptr<Record> last_; // the previous call's record, to compare the next with
  std::optional<Replay> captured_;
};

namespace detail {
// Tensor::assign's report to a recording Jit: impl's value is about to change from `before` (its buffer).
void note_assign(TensorImpl& impl);
} // namespace detail

} // namespace patgrad
