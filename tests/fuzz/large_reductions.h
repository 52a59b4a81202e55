// fuzz_tensors' check of large float reductions against long double (large_reductions.cpp).
#pragma once
#include "tests/fuzz/tensor_programs.h"

namespace patgrad::tensor_fuzz {

// Draws one large f32 reduction from seed and runs it on dev: what went wrong, or "". listing describes the case.
std::string large_reduction(uint64_t seed, std::string_view dev, std::string& listing);

} // namespace patgrad::tensor_fuzz
