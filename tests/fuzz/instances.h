// Instances of a rule's pattern for the rule fuzzer (fuzz_rules.cpp): which ops and dtypes the pattern allows, worked
// out from the op table's typing, and graphs of that shape whose leaves are DEFINE_VARs (or CONSTs) with values the
// fuzzer then varies. Constants are edge-biased; 8-bit values can be enumerated exhaustively.
#pragma once
#include "rewriter/rewriter.h"
#include <string>
#include <vector>

namespace patgrad::fuzz {

using rewriter::Pat;
using rewriter::Rule;
using uops::DType;
using uops::DTypeSet;
using uops::Op;
using uops::UOp;
using uops::Value;
using Wide = __int128;

// splitmix64: small, fast and the same on every platform, so a seed reproduces a run anywhere.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(int percent) { return below(100) < uint64_t(percent); }
  Wide between(Wide lo, Wide hi); // inclusive
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

private:
  uint64_t state;
};

// One node of a pattern with its op chosen. Pattern nodes come in preorder; implicit leaves follow their parent's
// pattern sources (the sources of `x:ADD` or of `...rest`).
struct ShapeNode {
  const Pat* pat = nullptr; // null: an implicit leaf
  int op = -1;              // an Op; -1: a leaf (a capture or `_`), any node of the dtype
  std::vector<int> src;
  int defining = -1; // the occurrence of this node's capture that is generated (the one with an op, else the first)
};

// A concrete shape: an op and a dtype for every node of the pattern.
struct Assignment {
  std::vector<ShapeNode> nodes; // nodes[0]: the root
  std::vector<DType> dtypes;
  std::vector<Wide> constants; // the integer literals of the rule's pattern and guard: seeds for the draws
  std::vector<Op> guard_ops;   // ops the guard compares a capture's op with (`x.op == ADD`): leaves to build
  std::string str(const Rule& rule) const; // the pattern with ops and dtypes filled in
  bool has_8bit() const;
};

// Every assignment the pattern allows (sampled evenly if there are more than cap); empty with a reason if none.
std::vector<Assignment> assignments(const Rule& rule, size_t cap, std::string& why_none);

// A DEFINE_VAR of an instance and the values the fuzzer tries for it (all of them when exhaustive).
struct InstanceVar {
  UOp node;
  std::vector<Value> candidates;
  bool exhaustive = false;
  DType bits_of = DType::void_; // the var is a bit pattern of this dtype (a leaf the fuzzer BITCASTs), for messages
};

struct Instance {
  UOp lhs;
  std::vector<InstanceVar> vars;
};

// What an exhaustive run fixes: a constant's value, or a leaf that is a var enumerated over all its values.
enum class LeafMode : uint8_t { RANDOM, FULL, NARROW };
struct Fixed {
  std::vector<std::optional<Value>> consts; // by node
  std::vector<LeafMode> leaves;             // by node
};

// The nodes an exhaustive run enumerates over all 256 values: at most two 8-bit constants or leaves (constants
// first, as guards test them).
std::vector<int> exhaustive_dims(const Assignment& a);

// A random instance of the assignment (fixed: what the caller chose instead of drawing it), or nothing if the drawn
// values make a node malformed.
std::optional<Instance> make_instance(const Assignment& a, Rng& rng, const Fixed* fixed = nullptr);

} // namespace patgrad::fuzz
