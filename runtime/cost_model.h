// The cost model: what a kernel's linear program will cost on this CPU, estimated without compiling it (R4 of
// research/search.md). run.cpp shares a search budget by estimate_cost; the search ranks candidates by model_cost
// and measures only the best-ranked few.
#pragma once
#include "lowering/lowering.h"
#include "uops/uop.h"
#include <vector>

namespace patgrad::runtime {

// What one run of a kernel does: each ALU op on values is a flop (MULACC two), not those that compute addresses and
// load gates; each LOAD and STORE moves its element's bytes; both times the trip counts of the loops around them.
// Gated loads count in full and caches are ignored: an estimate, not a measurement.
struct Cost {
  double flops = 0, bytes = 0;
};
Cost estimate_cost(const std::vector<uops::UOp>& program);

// The model's features of a program and the time it estimates from them. The hot loop is the loop body that costs
// the most cycles; its features are those a register tile is chosen by.
struct CostFeatures {
  Cost cost;
  int lanes = 1;      // fp32 lanes the hot loop's values fill (of the unit's), from neighbouring loads and stores
  int chains = 0;     // independent accumulator chains in the hot loop (vectors of lanes accumulators)
  int chain_ops = 0;  // dependent float ops a trip adds to each chain (an unroll's adds)
  int registers = 0;  // vector registers the hot loop keeps live (of the unit's)
  double threads = 1; // cores the thread loop keeps busy (its trips shared out in whole trips)
  double l1_miss_bytes = 0, l2_miss_bytes = 0, l3_miss_bytes = 0; // traffic from beyond each cache level
  int64_t nodes = 0;                                              // the program's size
  double compute_ms = 0, memory_ms = 0, ms = 0; // cycles over the clock and cores; traffic over bandwidth; the estimate
};
// Only for ranking plans of one kernel: the absolute times are rough. unit: the vector registers (the host's).
CostFeatures model_cost(const std::vector<uops::UOp>& program,
                        const lowering::VectorUnit& unit = lowering::host_vector_unit());

} // namespace patgrad::runtime
