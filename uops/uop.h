// UOp: an immutable, interned, reference-counted node {op, dtype, src, arg}. Interning makes structural equality
// pointer equality; a node is freed when the last handle to it goes (iteratively, so a long chain cannot overflow the
// stack). Each node caches facts derived at construction: its value range and the set of its sources' ops.
// UOps are built and dropped on one thread: the intern table takes no lock.
#pragma once
#include "uops/ops.h"
#include <bitset>
#include <cstddef>
#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/ADT/SmallVector.h>
#include <string>
#include <variant>

namespace patgrad::uops {

struct Var {
  std::string name;
  int64_t min, max; // inclusive
  bool operator==(const Var&) const = default;
};
// CONST: Value; DEFINE_VAR: Var; RANGE, DEFINE_GLOBAL: int64_t; BUFFER, movement ops, REDUCE_AXIS: Ints.
using Ints = std::vector<int64_t>;
using Arg = std::variant<std::monostate, Value, int64_t, std::string, Var, Ints>;
using Shape = llvm::SmallVector<int64_t, 4>;

using OpMask = std::bitset<num_ops>;

class UOp;
struct Node;

class UOp {
public:
  UOp() = default;
  UOp(const UOp& o) : n(o.n) { retain(); }
  UOp(UOp&& o) noexcept : n(o.n) { o.n = nullptr; }
  UOp& operator=(UOp o) noexcept {
    std::swap(n, o.n);
    return *this;
  }
  ~UOp() { release(); }

  // Validates the node (arity, source dtypes, result dtype) and aborts on a violation: callers that build nodes from
  // input check with invalid_reason() first.
  static UOp make(Op op, DType dtype, llvm::ArrayRef<UOp> src = {}, Arg arg = {});
  static UOp constant(DType dtype, Value v);
  static UOp constant(DType dtype, __int128 v) { return constant(dtype, int_value(dtype, v)); }
  static UOp var(std::string name, int64_t min, int64_t max, DType dtype = DType::index);
  // An ALU op whose result dtype follows from its sources by the op table's typing.
  static UOp alu(Op op, llvm::ArrayRef<UOp> src);

  const Node* operator->() const { return n; }
  const Node& operator*() const { return *n; }
  const Node* get() const { return n; }
  explicit operator bool() const { return n != nullptr; }
  bool operator==(const UOp& o) const { return n == o.n; }

private:
  friend struct Node;
  explicit UOp(Node* node) : n(node) { retain(); }
  void retain() const;
  void release();
  Node* n = nullptr;
};

struct Node {
  Op op;
  DType dtype;
  llvm::SmallVector<UOp, 3> src;
  Arg arg;
  // derived at construction
  size_t hash;
  __int128 vmin, vmax; // value range of int, index and bool nodes (bool: 0 or 1)
  OpMask src_ops;      // ops among the direct sources, for the matcher's early reject
  Shape shape;         // of tensor-graph nodes (shape.cpp); empty for scalars and kernel nodes
  mutable uint32_t refs = 0;
  mutable bool watched = false; // the watch hook hears of its release

  bool is_const() const { return op == Op::CONST; }
  Value value() const { return std::get<Value>(arg); }
};

inline void UOp::retain() const {
  if (n) n->refs++;
}

// Why a node would be malformed, or "" if it is fine.
std::string invalid_reason(Op op, DType dtype, llvm::ArrayRef<UOp> src, const Arg& arg);
// Number of nodes alive now (for leak tests).
size_t live_uops();
// Called with a BUFFER node's id when the node is freed: the runtime frees the memory then.
void set_buffer_release_hook(void (*hook)(int64_t id));
// Called when a node marked watched is freed (the frontend drops what it remembers of the node then).
void set_watch_release_hook(void (*hook)(const Node* n));

// toposort.cpp: every node reachable from roots, each after its sources
std::vector<UOp> toposort(llvm::ArrayRef<UOp> roots);
// the same, but the sources of a node where stop(node) holds are not visited (the node itself is included)
std::vector<UOp> toposort(llvm::ArrayRef<UOp> roots, llvm::function_ref<bool(const Node*)> stop);
// root with every node for which replace gives a node replaced by it (not looked into), the rest rebuilt over the
// replaced sources
UOp substitute(const UOp& root, llvm::function_ref<UOp(const Node*)> replace);

// shape.cpp: the shape of a tensor-graph node, and why a node's shapes do not fit ("" if they do)
Shape compute_shape(Op op, llvm::ArrayRef<UOp> src, const Arg& arg);
std::string shape_error(Op op, llvm::ArrayRef<UOp> src, const Arg& arg);
int64_t prod(llvm::ArrayRef<int64_t> shape);                        // of a valid shape: no check
std::optional<int64_t> checked_prod(llvm::ArrayRef<int64_t> shape); // empty if a size is negative or it overflows

// range.cpp: the value range of a node from its sources' ranges (sound: every value the node can take lies inside)
std::pair<__int128, __int128> compute_range(Op op, DType dtype, llvm::ArrayRef<UOp> src, const Arg& arg);

// print.cpp
std::string sexpr(const UOp& u); // (ADD:index (DEFINE_VAR:index a[0..10]) (CONST:index 2))
std::string infix(const UOp& u); // a+2, in the syntax of `patgrad rewrite`
std::string format_value(DType d, Value v);
std::string format_wide(__int128 v);

} // namespace patgrad::uops

template <>
struct std::hash<patgrad::uops::UOp> {
  size_t operator()(const patgrad::uops::UOp& u) const { return std::hash<const void*>()(u.get()); }
};
