// Shared inside frontend/: how messages spell shapes, bit views used where adding zeros must be exact, whether new
// tensors carry gradients, the checks of sizes and indices, and where buffers come from.
#pragma once
#include "frontend/tensor.h"
#include <llvm/ADT/STLFunctionalExtras.h>

namespace patgrad::detail {

// (2,3), (4,) and () as Python prints tuples
inline std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) out += (i ? "," : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// Bits as an unsigned integer of the same width: adding zeros to them is exact where adding values is not (-0.0).
inline DType bits_dtype(DType d) {
  switch (uops::bits(d)) {
  case 1:
  case 8: return DType::u8;
  case 16: return DType::u16;
  case 32: return DType::u32;
  default: return DType::u64;
  }
}
inline Tensor to_bits(const Tensor& t) {
  return uops::is_bool(t.dtype()) ? t.cast(DType::u8) : t.bitcast(bits_dtype(t.dtype()));
}
inline Tensor from_bits(const Tensor& t, DType d) { return uops::is_bool(d) ? t.cast(d) : t.bitcast(d); }

// False while a Tensor::NoGrad is alive on this thread (autograd.cpp).
bool grad_enabled();

// tensor.cpp: a TensorError unless every size is non-negative and the element count and the byte size of shape in
// dtype fit in int64, so that no count downstream can wrap.
void check_shape(llvm::ArrayRef<int64_t> shape, DType dtype, const char* what);
// A new buffer of size elements (zeroed with Fill::zeros), or OutOfMemory naming what wanted it.
uops::UOp new_buffer(DType dtype, int64_t size, runtime::Fill fill, const char* what);

// tensor_index.cpp. An op that selects by index values (gather, Embedding, one_hot, nll_loss, cross_entropy) checks
// them against [0, size), skipping `ignored`, when they are known: when the index is a realized buffer (host data:
// a tensor made from a list, a DataLoader batch), or a reshape, permute, expand, flip or integer cast of one, its
// values are scanned on the host, and the first value outside is a TensorError with message(value). A lazy index is not
// computed for the check (that would cost a kernel and a buffer in every training step); its out-of-range values
// give the result the op documents, unless the environment has PATGRAD_CHECK=1, which realizes every index first.
void check_indices(const Tensor& index, int64_t size, llvm::function_ref<std::string(const std::string&)> message,
                   std::optional<int64_t> ignored = std::nullopt);

// realize.cpp: what Tensor::run_stats() reports, for the runs that do not go through realize (a replayed capture).
runtime::RunStats& run_totals();

} // namespace patgrad::detail
