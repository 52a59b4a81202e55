// What the benchmarks share about their work: random inputs, and the kernel of a schedule that does the work.
#pragma once
#include "frontend/tensor.h"
#include "lowering/lowering.h"
#include <random>

namespace patgrad::bench {

// Uniform in [-1, 1), the same values every run.
inline Tensor random(const Shape& shape) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(size_t(uops::prod(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape).realize();
}

// The kernel of the schedule that does the work: the one reading the most elements.
inline lowering::Kernel main_kernel(const Tensor& t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  const lowering::Kernel* best = &s.kernels[0];
  auto reads = [](const lowering::Kernel& k) {
    int64_t n = 0;
    for (size_t i = 1; i < k.buffers.size(); i++) n += runtime::buffer(k.buffers[i]).size;
    return n;
  };
  for (const lowering::Kernel& k : s.kernels)
    if (reads(k) > reads(*best)) best = &k;
  return *best;
}

} // namespace patgrad::bench
