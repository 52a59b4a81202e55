// The intern table and node lifetime.
#include "uops/uop.h"
#include <bit>
#include <fmt/format.h>
#include <llvm/ADT/DenseSet.h>
#include <llvm/ADT/Hashing.h>
#include <llvm/ADT/Twine.h>
#include <llvm/Support/ErrorHandling.h>

namespace patgrad::uops {
namespace {

struct Key {
  Op op;
  DType dtype;
  llvm::ArrayRef<UOp> src;
  const Arg& arg;
  size_t hash;
};

size_t hash_arg(const Arg& arg) {
  return std::visit(
      [](const auto& a) -> size_t {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, std::monostate>) return 0;
        else if constexpr (std::is_same_v<T, Value>) return llvm::hash_combine(a.i, std::bit_cast<uint64_t>(a.f));
        else if constexpr (std::is_same_v<T, Var>) return llvm::hash_combine(a.name, a.min, a.max);
        else if constexpr (std::is_same_v<T, Ints>) return llvm::hash_combine_range(a.begin(), a.end());
        else return llvm::hash_value(a);
      },
      arg);
}

size_t hash_key(Op op, DType dtype, llvm::ArrayRef<UOp> src, const Arg& arg) {
  llvm::hash_code h = llvm::hash_combine(int(op), int(dtype), hash_arg(arg));
  for (const UOp& s : src) h = llvm::hash_combine(h, s.get());
  return h;
}

struct NodeInfo {
  static Node* getEmptyKey() { return llvm::DenseMapInfo<Node*>::getEmptyKey(); }
  static Node* getTombstoneKey() { return llvm::DenseMapInfo<Node*>::getTombstoneKey(); }
  static unsigned getHashValue(const Node* n) { return unsigned(n->hash); }
  static unsigned getHashValue(const Key& k) { return unsigned(k.hash); }
  static bool isEqual(const Node* a, const Node* b) { return a == b; }
  static bool isEqual(const Key& k, const Node* n) {
    if (n == getEmptyKey() || n == getTombstoneKey()) return false;
    return n->hash == k.hash && n->op == k.op && n->dtype == k.dtype && n->src.size() == k.src.size() &&
           std::equal(k.src.begin(), k.src.end(), n->src.begin()) && n->arg == k.arg;
  }
};

llvm::DenseSet<Node*, NodeInfo>& table() {
  static llvm::DenseSet<Node*, NodeInfo> t;
  return t;
}

bool arity_ok(Op op, size_t n) { return op_info(op).arity < 0 || size_t(op_info(op).arity) == n; }

// A CONST holds its value as eval produces it (wrapped to the width, rounded to the format): else one value could
// intern as two nodes, and eval would compute on a value the dtype cannot hold.
bool is_canonical(DType d, Value v) {
  if (is_float(d)) return v.i == 0 && float_value(d, v.f) == v;
  return std::bit_cast<uint64_t>(v.f) == 0 && int_value(d, as_wide(d, v)) == v;
}

std::string leaf_reason(Op op, DType dtype, const Arg& arg) {
  const OpInfo& info = op_info(op);
  if (op == Op::CONST && !std::holds_alternative<Value>(arg)) return "CONST needs a value";
  if (op == Op::DEFINE_VAR && (!std::holds_alternative<Var>(arg) || !is_int(dtype))) return "DEFINE_VAR needs bounds";
  if (op != Op::SINK && !(info.operands & bit(dtype)))
    return fmt::format("{} is not defined on {}", info.name, name(dtype));
  if (op == Op::CONST && !is_canonical(dtype, std::get<Value>(arg)))
    return fmt::format("CONST of {} holds {{i: {}, f: {}}}, not a {} value", name(dtype), std::get<Value>(arg).i,
                       std::get<Value>(arg).f, name(dtype));
  if (op == Op::DEFINE_VAR) {
    const Var& v = std::get<Var>(arg);
    if (std::max<__int128>(v.min, dtype_min(dtype)) > std::min<__int128>(v.max, dtype_max(dtype)))
      return fmt::format("DEFINE_VAR {}[{}..{}] holds no {} value", v.name, v.min, v.max, name(dtype));
  }
  return "";
}

} // namespace

std::string invalid_reason(Op op, DType dtype, llvm::ArrayRef<UOp> src, const Arg& arg) {
  const OpInfo& info = op_info(op);
  if (!arity_ok(op, src.size()))
    return fmt::format("{} takes {} sources, not {}", info.name, info.arity, src.size());
  for (const UOp& s : src)
    if (!s) return fmt::format("{} has a null source", info.name);
  if (std::string e = shape_error(op, src, arg); !e.empty()) return e;
  auto dt = [](DType d) { return std::string(name(d)); };
  switch (info.typing) {
  case Typing::LEAF: return leaf_reason(op, dtype, arg);
  case Typing::SAME:
    if (!(info.operands & bit(dtype))) return fmt::format("{} is not defined on {}", info.name, dt(dtype));
    for (const UOp& s : src)
      if (s->dtype != dtype) return fmt::format("{} of {} has a {} source", info.name, dt(dtype), dt(s->dtype));
    return "";
  case Typing::CMP:
    if (dtype != DType::bool_) return fmt::format("{} produces bool, not {}", info.name, dt(dtype));
    if (src[0]->dtype != src[1]->dtype)
      return fmt::format("{} compares {} with {}", info.name, dt(src[0]->dtype), dt(src[1]->dtype));
    if (!(info.operands & bit(src[0]->dtype)))
      return fmt::format("{} is not defined on {}", info.name, dt(src[0]->dtype));
    return "";
  case Typing::SELECT:
    if (src[0]->dtype != DType::bool_) return fmt::format("{} needs a bool condition", info.name);
    if (src[1]->dtype != dtype || src[2]->dtype != dtype) return fmt::format("{} selects between other dtypes", info.name);
    if (!(info.operands & bit(dtype))) return fmt::format("{} is not defined on {}", info.name, dt(dtype));
    return "";
  case Typing::FREE: // shape_error checked the sources of memory and loop ops
    if (op == Op::INDEX && dtype != src[0]->dtype) return fmt::format("INDEX of a {} tensor is {}", dt(src[0]->dtype), dt(dtype));
    if (op == Op::FUNCTION && dtype != src[0]->dtype) return fmt::format("FUNCTION of a {} value is {}", dt(src[0]->dtype), dt(dtype));
    return "";
  case Typing::CONVERT:
    if (dtype == DType::void_ || src[0]->dtype == DType::void_) return fmt::format("{} of void", info.name);
    if (op == Op::BITCAST && (bits(dtype) != bits(src[0]->dtype) || dtype == DType::index || src[0]->dtype == DType::index))
      return fmt::format("BITCAST from {} to {} changes the width", dt(src[0]->dtype), dt(dtype));
    return "";
  }
  return "";
}

UOp UOp::make(Op op, DType dtype, llvm::ArrayRef<UOp> src, Arg arg) {
  size_t h = hash_key(op, dtype, src, arg);
  auto& t = table();
  auto it = t.find_as(Key{op, dtype, src, arg, h});
  if (it != t.end()) return UOp(*it);
  if (std::string why = invalid_reason(op, dtype, src, arg); !why.empty())
    llvm::report_fatal_error(llvm::Twine("patgrad internal error: malformed UOp: ") + why);
  Node* n = new Node{op, dtype, llvm::SmallVector<UOp, 3>(src.begin(), src.end()), std::move(arg), h, 0, 0, {}};
  std::tie(n->vmin, n->vmax) = compute_range(op, dtype, n->src, n->arg);
  n->shape = compute_shape(op, n->src, n->arg);
  for (const UOp& s : n->src) n->src_ops.set(int(s->op));
  t.insert(n);
  return UOp(n);
}

namespace {
void (*buffer_release_hook)(int64_t) = nullptr;
void (*watch_release_hook)(const Node*) = nullptr;
} // namespace

void set_buffer_release_hook(void (*hook)(int64_t)) { buffer_release_hook = hook; }
void set_watch_release_hook(void (*hook)(const Node*)) { watch_release_hook = hook; }

void UOp::release() {
  if (!n || --n->refs) return;
  // Free iteratively: a node's sources go on a worklist instead of the stack.
  llvm::SmallVector<Node*, 16> dead{n};
  while (!dead.empty()) {
    Node* d = dead.pop_back_val();
    table().erase(d);
    if (d->op == Op::BUFFER && buffer_release_hook) buffer_release_hook(std::get<Ints>(d->arg)[0]);
    if (d->watched && watch_release_hook) watch_release_hook(d);
    for (UOp& s : d->src) {
      if (--s.n->refs == 0) dead.push_back(s.n);
      s.n = nullptr;
    }
    delete d;
  }
  n = nullptr;
}

UOp UOp::constant(DType dtype, Value v) { return make(Op::CONST, dtype, {}, v); }

UOp UOp::var(std::string name, int64_t min, int64_t max, DType dtype) {
  return make(Op::DEFINE_VAR, dtype, {}, Var{std::move(name), min, max});
}

UOp UOp::alu(Op op, llvm::ArrayRef<UOp> src) {
  switch (op_info(op).typing) {
  case Typing::CMP: return make(op, DType::bool_, src);
  case Typing::SELECT: return make(op, src.size() > 1 ? src[1]->dtype : DType::void_, src);
  default: return make(op, src.empty() ? DType::void_ : src[0]->dtype, src);
  }
}

size_t live_uops() { return table().size(); }

} // namespace patgrad::uops
