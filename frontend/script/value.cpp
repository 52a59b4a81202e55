// Values: dictionary hashing and equality (Python's: 1 == 1.0 == True are one key), attribute maps, constructors,
// destruction without recursion.
#include "frontend/script/interp.h"
#include <cmath>

namespace patgrad::script {

bool AttrMap::erase(llvm::StringRef name) {
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + it->second);
  index_.clear();
  for (unsigned i = 0; i < entries_.size(); i++) index_[entries_[i].first] = i;
  return true;
}

namespace {

thread_local bool releasing = false;    // a Releaser is active on this thread
thread_local std::vector<Value> doomed; // the values it will drop

// Tuples are hashed and compared for dict keys recursively; a tuple can be nested deeper than the stack allows.
struct TupleDepth {
  static inline thread_local int depth = 0;
  explicit TupleDepth(const char* doing) {
    if (++depth > Interp::max_nesting) {
      depth--;
      raise("RecursionError", std::string("maximum recursion depth exceeded while ") + doing + " a tuple");
    }
  }
  ~TupleDepth() { depth--; }
};

void check_hashable(const Value& v) {
  if (v.is(Type::List) || v.is(Type::Dict)) raise("TypeError", std::string("unhashable type: '") + type_name(v) + "'");
  if (v.is(Type::Tuple)) {
    TupleDepth guard("hashing");
    for (const Value& x : v.as<ListObj>().items) check_hashable(x);
  }
}

} // namespace

Releaser::Releaser() : outermost_(!releasing) { releasing = true; }

Releaser::~Releaser() {
  if (!outermost_) return;
  while (!doomed.empty()) {
    Value v = std::move(doomed.back());
    doomed.pop_back();
  } // v's object may die here; its destructor queues what it held
  releasing = false;
}

void Releaser::operator()(Value& v) {
  if (v.is(Type::List) || v.is(Type::Tuple) || v.is(Type::Dict) || v.is(Type::Instance)) doomed.push_back(std::move(v));
}

ListObj::~ListObj() {
  Releaser release;
  for (Value& v : items) release(v);
  items.clear(); // while the Releaser is active: what dies here queues its values too
}

DictObj::~DictObj() {
  Releaser release;
  index.clear();
  for (auto& [k, v] : entries) release(k), release(v);
  entries.clear();
}

void AttrMap::release() {
  Releaser release;
  index_.clear();
  for (auto& entry : entries_) release(entry.second);
  entries_.clear();
}

size_t ValueHash::operator()(const Value& v) const {
  switch (v.type()) {
  case Type::None: return 0x9e3779b9;
  case Type::Bool:
  case Type::Int: return std::hash<int64_t>()(v.as_int());
  case Type::Float: {
    double f = v.as_float();
    if (f == std::trunc(f) && std::fabs(f) < 9.2e18) return std::hash<int64_t>()(int64_t(f));
    return std::hash<double>()(f);
  }
  case Type::Str: return std::hash<std::string>()(v.as<StrObj>().s);
  case Type::Tuple: {
    TupleDepth guard("hashing");
    size_t h = 0x345678;
    for (const Value& x : v.as<ListObj>().items) h = h * 1000003 ^ (*this)(x);
    return h;
  }
  case Type::DType: return size_t(v.as<DTypeObj>().d) * 31 + 7;
  default: return std::hash<const void*>()(v.obj());
  }
}

bool ValueEq::operator()(const Value& a, const Value& b) const {
  if (a.is_number() && b.is_number()) {
    if (a.is(Type::Float) || b.is(Type::Float)) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
  case Type::None: return true;
  case Type::Str: return a.as<StrObj>().s == b.as<StrObj>().s;
  case Type::Tuple: {
    TupleDepth guard("comparing");
    auto &x = a.as<ListObj>().items, &y = b.as<ListObj>().items;
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); i++)
      if (!(*this)(x[i], y[i])) return false;
    return true;
  }
  case Type::DType: return a.as<DTypeObj>().d == b.as<DTypeObj>().d;
  default: return a.obj() == b.obj();
  }
}

Value* DictObj::find(const Value& key) {
  check_hashable(key);
  auto it = index.find(key);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

void DictObj::set(const Value& key, Value v) {
  check_hashable(key);
  auto [it, fresh] = index.try_emplace(key, entries.size());
  if (fresh)
    entries.emplace_back(key, std::move(v));
  else
    entries[it->second].second = std::move(v);
}

bool DictObj::erase(const Value& key) {
  check_hashable(key);
  auto it = index.find(key);
  if (it == index.end()) return false;
  size_t at = it->second;
  entries.erase(entries.begin() + long(at));
  index.erase(it);
  for (auto& [k, i] : index)
    if (i > at) i--;
  return true;
}

Value* ClassObj::lookup(llvm::StringRef attr) {
  for (ClassObj* c = this; c; c = c->base.get())
    if (Value* v = c->attrs.find(attr)) return v;
  return nullptr;
}

int64_t RangeObj::size() const {
  // in 128 bits: stop - start can overflow 64
  __int128 span = __int128(stop) - start;
  if (step > 0) return span <= 0 ? 0 : int64_t((span + step - 1) / step);
  return span >= 0 ? 0 : int64_t((-span + (-__int128(step)) - 1) / -__int128(step));
}

Value make_str(std::string s) { return Value(ObjRef(new StrObj(std::move(s)))); }
Value make_list(std::vector<Value> v) { return Value(ObjRef(new ListObj(Type::List, std::move(v)))); }
Value make_tuple(std::vector<Value> v) { return Value(ObjRef(new ListObj(Type::Tuple, std::move(v)))); }
Value make_tensor(Tensor t) { return Value(ObjRef(new TensorObj(std::move(t)))); }

const char* type_name(const Value& v) {
  switch (v.type()) {
  case Type::None: return "NoneType";
  case Type::Bool: return "bool";
  case Type::Int: return "int";
  case Type::Float: return "float";
  case Type::Str: return "str";
  case Type::List: return "list";
  case Type::Tuple: return "tuple";
  case Type::Dict: return "dict";
  case Type::Function: return "function";
  case Type::Builtin: return "builtin_function_or_method";
  case Type::BoundMethod: return "method";
  case Type::Class: return "type";
  case Type::Instance: return v.as<InstanceObj>().cls->name.c_str();
  case Type::Module: return "module";
  case Type::Range: return "range";
  case Type::Tensor: return "Tensor";
  case Type::DType: return "dtype";
  case Type::BuiltinType: return "type";
  case Type::Slice: return "slice";
  case Type::Super: return "super";
  }
  return "?";
}

bool truthy(Interp& in, const Value& v) {
  switch (v.type()) {
  case Type::None: return false;
  case Type::Bool:
  case Type::Int: return v.as_int() != 0;
  case Type::Float: return v.as_float() != 0;
  case Type::Str: return !v.as<StrObj>().s.empty();
  case Type::List:
  case Type::Tuple: return !v.as<ListObj>().items.empty();
  case Type::Dict: return !v.as<DictObj>().entries.empty();
  case Type::Range: return v.as<RangeObj>().size() > 0;
  case Type::Tensor: {
    const Tensor& t = v.as<TensorObj>().t;
    if (t.numel() != 1) raise("ValueError", "the truth value of a tensor with more than one element is ambiguous");
    return t.item() != 0;
  }
  case Type::Instance: {
    CallArgs none;
    if (auto f = in.try_getattr(v, "__bool__")) return truthy(in, in.call(*f, none));
    if (auto f = in.try_getattr(v, "__len__")) return truthy(in, in.call(*f, none));
    return true;
  }
  default: return true;
  }
}

} // namespace patgrad::script
