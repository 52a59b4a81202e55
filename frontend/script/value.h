// Script values: None, bool, int and float inline; everything else a reference-counted object shared by copies, as
// Python's are. Reference cycles (an object holding itself) are not collected: a script's objects live as long as
// the run. Containers are destroyed without recursion (Releaser), so no depth of nesting exhausts the stack.
#pragma once
#include "frontend/script/ast.h"
#include "frontend/tensor.h"
#include <llvm/ADT/IntrusiveRefCntPtr.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <unordered_map>

namespace patgrad::script {

enum class Type : uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  List,
  Tuple,
  Dict,
  Function,
  Builtin,
  BoundMethod,
  Class,
  Instance,
  Module,
  Range,
  Tensor,
  DType,
  BuiltinType,
  Slice,
  Super
};

struct Object : llvm::RefCountedBase<Object> {
  Type type;
  explicit Object(Type t) : type(t) {}
  virtual ~Object() = default;
};
using ObjRef = llvm::IntrusiveRefCntPtr<Object>;

class Value {
public:
  Value() = default; // None
  Value(ObjRef o) : type_(o->type), obj_(std::move(o)) {}
  static Value boolean(bool b) { return Value(Type::Bool, b); }
  static Value integer(int64_t i) { return Value(Type::Int, i); }
  static Value real(double f) {
    Value v(Type::Float, 0);
    v.f_ = f;
    return v;
  }

  Type type() const { return type_; }
  bool is(Type t) const { return type_ == t; }
  bool is_none() const { return type_ == Type::None; }
  bool is_number() const { return type_ == Type::Bool || type_ == Type::Int || type_ == Type::Float; }
  bool is_int_like() const { return type_ == Type::Bool || type_ == Type::Int; } // bool is an int, as in Python
  int64_t as_int() const { return i_; }                                          // Bool or Int
  double as_float() const { return type_ == Type::Float ? f_ : double(i_); }     // any number
  Object* obj() const { return obj_.get(); }
  template <typename T>
  T& as() const {
    return static_cast<T&>(*obj_);
  }

private:
  Value(Type t, int64_t i) : type_(t), i_(i) {}
  Type type_ = Type::None;
  union {
    int64_t i_ = 0;
    double f_;
  };
  ObjRef obj_;
};

// Attributes, variables and keyword arguments in insertion order (Python's dicts and __dict__ keep it).
class AttrMap {
public:
  Value* find(llvm::StringRef name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  void set(llvm::StringRef name, Value v) {
    auto [it, fresh] = index_.try_emplace(name, unsigned(entries_.size()));
    if (fresh)
      entries_.emplace_back(name.str(), std::move(v));
    else
      entries_[it->second].second = std::move(v);
  }
  bool erase(llvm::StringRef name);
  void clear() {
    index_.clear();
    std::vector<std::pair<std::string, Value>> dead;
    dead.swap(entries_); // destroyed after the map is consistent again
  }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  void release(); // empties it without recursion, as a container's destructor does (Releaser)

private:
  std::vector<std::pair<std::string, Value>> entries_;
  llvm::StringMap<unsigned> index_;
};

// A scope: a module's globals, a call's locals, a class body or a comprehension. Functions keep the scope they
// were defined in (closures); class bodies are skipped when a method looks a name up, as in Python.
struct Env : llvm::RefCountedBase<Env> {
  AttrMap vars;
  llvm::IntrusiveRefCntPtr<Env> parent; // null for a module
  Env* globals = this;                  // the module's scope
  bool is_class = false;
  llvm::SmallVector<std::string, 2> global_names; // declared `global` here
};
using EnvRef = llvm::IntrusiveRefCntPtr<Env>;

struct StrObj : Object {
  std::string s;
  explicit StrObj(std::string v) : Object(Type::Str), s(std::move(v)) {}
};

// Destroying a container destroys what only it held, which destroys what only that held...: one C++ frame per level,
// so freeing a list nested 10^7 deep, or a long chain of instances, would exhaust the stack. The destructors of
// lists, tuples, dicts and instances hand their values to a Releaser instead: it queues those that hold a container,
// and the outermost Releaser drops the queue one value at a time (a destructor run from there queues its own).
class Releaser {
public:
  Releaser();
  ~Releaser();
  Releaser(const Releaser&) = delete;
  Releaser& operator=(const Releaser&) = delete;
  void operator()(Value& v); // moves v to the queue if it holds a container; v is left for the caller to clear

private:
  bool outermost_;
};

struct ListObj : Object { // a list or a tuple
  std::vector<Value> items;
  const char* view = nullptr; // dict_keys, dict_values, dict_items: a list that prints as Python's views
  ListObj(Type t, std::vector<Value> v) : Object(t), items(std::move(v)) {}
  ~ListObj() override;
};

struct ValueHash {
  size_t operator()(const Value& v) const;
};
struct ValueEq {
  bool operator()(const Value& a, const Value& b) const;
};
struct DictObj : Object {
  std::vector<std::pair<Value, Value>> entries; // insertion order
  std::unordered_map<Value, size_t, ValueHash, ValueEq> index;
  DictObj() : Object(Type::Dict) {}
  ~DictObj() override;
  Value* find(const Value& key);
  void set(const Value& key, Value v);
  bool erase(const Value& key);
};

class Interp;
struct CallArgs {
  llvm::SmallVector<Value, 4> pos;
  llvm::SmallVector<std::pair<std::string, Value>, 2> kw;
};
using BuiltinFn = Value (*)(Interp&, const Value& self, CallArgs& args);

struct ClassObj;
struct FunctionObj : Object { // a def or a lambda
  std::string name;
  const std::vector<Param>* params;
  const Block* body = nullptr; // a def
  const Expr* expr = nullptr;  // a lambda
  std::vector<Value> defaults; // one per param; None where there is no default
  EnvRef closure;
  AstModule* mod;
  ClassObj* owner = nullptr; // the class whose body defined it: super()'s starting point
  FunctionObj() : Object(Type::Function) {}
};

struct BuiltinObj : Object { // a built-in function, or a built-in method bound to self
  const char* name;
  BuiltinFn fn;
  Value self;
  BuiltinObj(const char* n, BuiltinFn f, Value s = {}) : Object(Type::Builtin), name(n), fn(f), self(std::move(s)) {}
};

struct BoundMethodObj : Object {
  Value self, fn;
  BoundMethodObj(Value s, Value f) : Object(Type::BoundMethod), self(std::move(s)), fn(std::move(f)) {}
};

struct ClassObj : Object {
  std::string name;
  llvm::IntrusiveRefCntPtr<ClassObj> base;
  AttrMap attrs;
  bool native = false; // a class of bind_train.cpp: its built-in functions are methods, bound to the instance
  ClassObj() : Object(Type::Class) {}
  Value* lookup(llvm::StringRef attr); // here or in a base
};

struct InstanceObj : Object {
  llvm::IntrusiveRefCntPtr<ClassObj> cls;
  AttrMap attrs;
  explicit InstanceObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : Object(Type::Instance), cls(std::move(c)) {}
  ~InstanceObj() override { attrs.release(); }
  // After a script sets an attribute: a native object whose attribute is its C++ state (an optimizer's lr) applies it.
  virtual void attribute_set(llvm::StringRef name, const Value& v) {}
};

struct ModuleObj : Object {
  std::string name;
  EnvRef env;
  ModuleObj(std::string n, EnvRef e) : Object(Type::Module), name(std::move(n)), env(std::move(e)) {}
};

struct RangeObj : Object {
  int64_t start, stop, step;
  RangeObj(int64_t a, int64_t b, int64_t s) : Object(Type::Range), start(a), stop(b), step(s) {}
  int64_t size() const;
  int64_t at(int64_t i) const { return start + i * step; }
};

struct TensorObj : Object {
  Tensor t;
  explicit TensorObj(Tensor v) : Object(Type::Tensor), t(std::move(v)) {}
};

struct DTypeObj : Object {
  DType d;
  explicit DTypeObj(DType v) : Object(Type::DType), d(v) {}
};

// int, str, list, Tensor, ...: callable (they convert or construct) and usable with isinstance
struct BuiltinTypeObj : Object {
  const char* name;
  Type instances; // the Type of values that are instances
  BuiltinFn ctor;
  AttrMap attrs; // static methods (Tensor.randn)
  BuiltinTypeObj(const char* n, Type i, BuiltinFn c) : Object(Type::BuiltinType), name(n), instances(i), ctor(c) {}
};

struct SliceObj : Object {
  Value lo, hi, step;
  SliceObj(Value a, Value b, Value c) : Object(Type::Slice), lo(std::move(a)), hi(std::move(b)), step(std::move(c)) {}
};

struct SuperObj : Object {
  ClassObj* start; // look attributes up from here
  Value self;
  SuperObj(ClassObj* c, Value s) : Object(Type::Super), start(c), self(std::move(s)) {}
};

// constructors of object values
Value make_str(std::string s);
Value make_list(std::vector<Value> v);
Value make_tuple(std::vector<Value> v);
Value make_tensor(Tensor t);

const char* type_name(const Value& v); // Python's type(v).__name__
int64_t char_count(std::string_view s); // the UTF-8 characters of a str: its len()
bool truthy(Interp& in, const Value& v);

} // namespace patgrad::script
