// Shapes of tensor-graph nodes, and the checks that keep a graph well formed: elementwise sources agree, movement
// args fit the source. Kernel nodes have no shape; their sources are checked here too (memory and loop structure).
#include "uops/uop.h"
#include <fmt/format.h>
#include <llvm/ADT/STLExtras.h>

namespace patgrad::uops {
namespace {

std::string str(llvm::ArrayRef<int64_t> s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) out += (i ? "," : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

const Ints* ints(const Arg& arg) { return std::get_if<Ints>(&arg); }

// A shape the op makes must count its elements in int64: kernels index with it, and a wrapped count (2^64 is 0)
// would pass every later check.
std::string count_error(Op op, llvm::ArrayRef<int64_t> s) {
  if (checked_prod(s)) return "";
  return fmt::format("{} to {} has more than 2^63-1 elements", op_info(op).name, str(s));
}

std::string movement_error(Op op, const Shape& in, const Ints& a) {
  size_t n = in.size();
  switch (op) {
  case Op::RESHAPE:
    for (int64_t d : a)
      if (d < 0) return fmt::format("RESHAPE to {} has a negative size", str(a));
    if (std::string e = count_error(op, a); !e.empty()) return e;
    if (prod(a) != prod(in)) return fmt::format("cannot RESHAPE {} to {}", str(in), str(a));
    return "";
  case Op::PERMUTE: {
    if (a.size() != n) return fmt::format("PERMUTE {} of {} needs {} axes", str(a), str(in), n);
    std::vector<bool> seen(n);
    for (int64_t p : a) {
      if (p < 0 || p >= int64_t(n) || seen[p]) return fmt::format("PERMUTE {} is not a permutation of {} axes", str(a), n);
      seen[p] = true;
    }
    return "";
  }
  case Op::EXPAND:
    if (a.size() != n) return fmt::format("cannot EXPAND {} to {}", str(in), str(a));
    for (size_t i = 0; i < n; i++)
      if (a[i] < 0 || (in[i] != a[i] && in[i] != 1)) return fmt::format("cannot EXPAND {} to {}", str(in), str(a));
    return count_error(op, a);
  case Op::PAD:
  case Op::SHRINK: {
    if (a.size() != 2 * n) return fmt::format("{} of {} needs 2 numbers per axis", op_info(op).name, str(in));
    Shape out = in;
    for (size_t i = 0; i < n; i++) {
      if (op == Op::PAD && (a[2 * i] < 0 || a[2 * i + 1] < 0)) return fmt::format("PAD {} is negative", str(a));
      if (op == Op::SHRINK && !(0 <= a[2 * i] && a[2 * i] <= a[2 * i + 1] && a[2 * i + 1] <= in[i]))
        return fmt::format("SHRINK {} does not fit {}", str(a), str(in));
      if (op == Op::PAD &&
          (__builtin_add_overflow(in[i], a[2 * i], &out[i]) || __builtin_add_overflow(out[i], a[2 * i + 1], &out[i])))
        return fmt::format("PAD {} of {} has more than 2^63-1 elements", str(a), str(in));
    }
    return op == Op::PAD ? count_error(op, out) : "";
  }
  case Op::FLIP:
    if (a.size() != n) return fmt::format("FLIP {} of {} needs one flag per axis", str(a), str(in));
    return "";
  case Op::REDUCE_AXIS:
    if (a.empty() || (a[0] != int64_t(Op::ADD) && a[0] != int64_t(Op::MUL) && a[0] != int64_t(Op::MAX)))
      return "REDUCE_AXIS needs ADD, MUL or MAX";
    for (size_t i = 1; i < a.size(); i++)
      if (a[i] < 0 || a[i] >= int64_t(n)) return fmt::format("REDUCE_AXIS axis {} is out of range for {}", a[i], str(in));
    return "";
  default: return "";
  }
}

const Shape& elementwise_shape(llvm::ArrayRef<UOp> src) {
  for (const UOp& s : src)
    if (!s->shape.empty()) return s->shape;
  return src[0]->shape;
}

bool is_movement(Op op) {
  return op == Op::RESHAPE || op == Op::PERMUTE || op == Op::EXPAND || op == Op::PAD || op == Op::SHRINK ||
         op == Op::FLIP || op == Op::REDUCE_AXIS;
}

} // namespace

int64_t prod(llvm::ArrayRef<int64_t> shape) {
  int64_t p = 1;
  for (int64_t d : shape) p *= d;
  return p;
}

std::optional<int64_t> checked_prod(llvm::ArrayRef<int64_t> shape) {
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; })) return std::nullopt;
  if (llvm::is_contained(shape, 0)) return 0; // (2^32, 2^32, 0) has no elements, though its prefix overflows
  int64_t p = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(p, d, &p)) return std::nullopt;
  return p;
}

std::string shape_error(Op op, llvm::ArrayRef<UOp> src, const Arg& arg) {
  if ((op == Op::BUFFER || op == Op::PARAM) && (!ints(arg) || ints(arg)->size() != 2 || (*ints(arg))[1] < 0))
    return fmt::format("{} needs {{{}, size}}", op_info(op).name, op == Op::BUFFER ? "id" : "number");
  if (op == Op::OUTPUT && (src[0]->op != Op::PARAM || prod(src[1]->shape) != src[0]->shape[0]))
    return "OUTPUT stores a tensor in a PARAM of its size";
  if (op == Op::INDEX && (src.size() < 2 || src[1]->dtype != DType::bool_ || src.size() - 2 != src[0]->shape.size() ||
                          llvm::any_of(llvm::ArrayRef(src).drop_front(2), [](const UOp& s) { return s->dtype != DType::index; })))
    return "INDEX takes a tensor, a bool gate and an index per axis";
  if (op == Op::FUNCTION && (src.empty() || !ints(arg) || ints(arg)->empty()))
    return "FUNCTION takes its value and its inputs, and {function, parameters...}";
  if (is_movement(op)) return ints(arg) ? movement_error(op, src[0]->shape, *ints(arg)) : "a movement op needs its arg";
  if (op == Op::RANGE && (src.empty() || src.size() == 2 || src.size() > 3 ||
                          llvm::any_of(src, [](const UOp& s) { return s->dtype != DType::index; })))
    return "RANGE takes an index end, or an end and the [start, stop) of a thread's share";
  if (op == Op::SPECIAL && src[0]->dtype != DType::index) return "SPECIAL takes an index end";
  if ((op == Op::LOAD || op == Op::STORE) && (src.size() < 2 || src[0]->op != Op::DEFINE_GLOBAL || src[1]->dtype != DType::index))
    return fmt::format("{} needs a DEFINE_GLOBAL and an index", op_info(op).name);
  if (op == Op::LOAD && src.size() == 3 && src[2]->dtype != DType::bool_) return "a LOAD's gate is bool";
  if (op == Op::STORE && (src.size() < 3 || src.size() > 4 || (src.size() == 4 && src[3]->dtype != DType::bool_)))
    return "STORE takes a buffer, an index, a value and an optional bool gate";
  if (op == Op::LOAD && src.size() > 3) return "LOAD takes a buffer, an index and an optional gate";
  if (op == Op::REDUCE || op == Op::END) {
    if (src.size() < 2) return fmt::format("{} needs a source and the RANGEs it runs over", op_info(op).name);
    for (size_t i = 1; i < src.size(); i++)
      if (src[i]->op != Op::RANGE) return fmt::format("{} runs over RANGEs", op_info(op).name);
  }
  if (op == Op::UPCAST || op == Op::UNROLL || op == Op::SPLIT || op == Op::SWAP || op == Op::THREAD || op == Op::PAD_TO) {
    size_t args = op == Op::SPLIT ? 2 : op == Op::SWAP || op == Op::THREAD ? 0 : 1;
    if (src.size() != (op == Op::SWAP ? 3u : 2u) ||
        llvm::any_of(src.drop_front(), [](const UOp& s) { return s->op != Op::RANGE; }) ||
        (args ? !ints(arg) || ints(arg)->size() != args || ints(arg)->at(0) < 1 : !std::holds_alternative<std::monostate>(arg)))
      return fmt::format("{} marks {} RANGE{}{}", op_info(op).name, op == Op::SWAP ? "two" : "a",
                         op == Op::SWAP ? "s" : "", args == 2 ? " with {factor, new range number}" : args ? " with {factor}" : "");
  }
  if ((op == Op::ASSIGN && src.size() < 2) || (op == Op::AFTER && src.empty()) ||
      ((op == Op::ASSIGN || op == Op::AFTER) && src[0]->op != Op::DEFINE_ACC))
    return fmt::format("{} takes a DEFINE_ACC first", op_info(op).name);
  // elementwise: the sources have one shape, except scalars (shape ()), which broadcast to it
  const OpInfo& info = op_info(op);
  if (info.typing == Typing::SAME || info.typing == Typing::CMP || info.typing == Typing::SELECT ||
      info.typing == Typing::CONVERT) {
    const Shape& first = elementwise_shape(src);
    for (const UOp& s : src)
      if (!s->shape.empty() && s->shape != first)
        return fmt::format("{} of shapes {} and {}", info.name, str(first), str(s->shape));
  }
  return "";
}

Shape compute_shape(Op op, llvm::ArrayRef<UOp> src, const Arg& arg) {
  const Ints* a = ints(arg);
  switch (op) {
  case Op::BUFFER: case Op::PARAM: return Shape{(*a)[1]};
  case Op::RESHAPE: case Op::EXPAND: return Shape(a->begin(), a->end());
  case Op::PERMUTE: {
    Shape s;
    for (int64_t p : *a) s.push_back(src[0]->shape[p]);
    return s;
  }
  case Op::PAD: case Op::SHRINK: {
    Shape s = src[0]->shape;
    for (size_t i = 0; i < s.size(); i++)
      s[i] = op == Op::PAD ? s[i] + (*a)[2 * i] + (*a)[2 * i + 1] : (*a)[2 * i + 1] - (*a)[2 * i];
    return s;
  }
  case Op::GRAD: case Op::FUNCTION: return src[0]->shape;
  case Op::REDUCE_AXIS: {
    Shape s = src[0]->shape;
    for (size_t i = 1; i < a->size(); i++) s[(*a)[i]] = 1;
    return s;
  }
  default: {
    const OpInfo& info = op_info(op);
    if (info.typing == Typing::FREE || src.empty()) return {};
    return elementwise_shape(src); // elementwise, FLIP, CONTIGUOUS
  }
  }
}

} // namespace patgrad::uops
