// Attributes, subscripts and iteration of every kind of value.
#include "frontend/script/bind_tensor.h"
#include <fmt/format.h>
#include <llvm/Support/ConvertUTF.h>

namespace patgrad::script {

namespace {

int64_t slice_bound(const Value& v, const char* what) {
  if (v.is_none()) return 0;
  if (!v.is_int_like()) raise("TypeError", std::string("slice indices must be integers or None, not ") + type_name(v));
  (void)what;
  return v.as_int();
}

// Python's PySlice_AdjustIndices: the positions a slice picks from a sequence of n items.
std::vector<int64_t> slice_positions(const SliceObj& s, int64_t n) {
  int64_t step = s.step.is_none() ? 1 : slice_bound(s.step, "step");
  if (step == 0) raise("ValueError", "slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    int64_t i = slice_bound(v, "index");
    if (i < 0)
      i = std::max<int64_t>(i + n, step < 0 ? -1 : 0);
    else
      i = std::min<int64_t>(i, step < 0 ? n - 1 : n);
    return i;
  };
  int64_t lo = clamp(s.lo, step < 0 ? n - 1 : 0), hi = clamp(s.hi, step < 0 ? -1 : n);
  std::vector<int64_t> out;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) out.push_back(i);
  return out;
}

int64_t item_position(const Value& index, int64_t n, const char* what) {
  if (!index.is_int_like())
    raise("TypeError", fmt::format("{} indices must be integers or slices, not {}", what, type_name(index)));
  int64_t i = index.as_int();
  if (i < 0) i += n;
  if (i < 0 || i >= n) raise("IndexError", fmt::format("{} index out of range", what));
  return i;
}

// Bytes of the UTF-8 character at s[i]; a byte that starts no character counts as one.
size_t char_bytes(std::string_view s, size_t i) {
  unsigned n = llvm::getNumBytesForUTF8(s[i]);
  return n == 0 || i + n > s.size() ? 1 : n;
}

// The UTF-8 characters of s, one string each.
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); i += char_bytes(s, i)) out.push_back(s.substr(i, char_bytes(s, i)));
  return out;
}

} // namespace

int64_t char_count(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size(); i += char_bytes(s, i)) n++;
  return n;
}

std::optional<Value> Interp::try_getattr(const Value& obj, llvm::StringRef name) {
  switch (obj.type()) {
  case Type::Instance: {
    auto& inst = obj.as<InstanceObj>();
    if (Value* v = inst.attrs.find(name)) return *v;
    if (name == "__class__") return Value(ObjRef(inst.cls));
    if (Value* v = inst.cls->lookup(name)) {
      if (v->is(Type::Function) || (v->is(Type::Builtin) && inst.cls->native))
        return Value(ObjRef(new BoundMethodObj(obj, *v)));
      return *v;
    }
    return std::nullopt;
  }
  case Type::Class: {
    auto& c = obj.as<ClassObj>();
    if (Value* v = c.lookup(name)) return *v;
    if (name == "__name__") return make_str(c.name);
    return std::nullopt;
  }
  case Type::Super: {
    auto& s = obj.as<SuperObj>();
    if (Value* v = s.start ? s.start->lookup(name) : nullptr) {
      if (v->is(Type::Function)) return Value(ObjRef(new BoundMethodObj(s.self, *v)));
      return *v;
    }
    return std::nullopt;
  }
  case Type::Module:
    if (Value* v = obj.as<ModuleObj>().env->vars.find(name)) return *v;
    if (name == "__name__") return make_str(obj.as<ModuleObj>().name);
    return std::nullopt;
  case Type::BuiltinType:
    if (Value* v = obj.as<BuiltinTypeObj>().attrs.find(name)) return *v;
    if (name == "__name__") return make_str(obj.as<BuiltinTypeObj>().name);
    return std::nullopt;
  case Type::Function:
    if (name == "__name__") return make_str(obj.as<FunctionObj>().name);
    return std::nullopt;
  case Type::Tensor: return tensor_attr(*this, obj, name);
  case Type::DType:
    if (name == "name") return make_str(dtype_name(obj.as<DTypeObj>().d));
    if (name == "itemsize") return Value::integer((uops::bits(obj.as<DTypeObj>().d) + 7) / 8);
    return std::nullopt;
  case Type::Range: {
    auto& r = obj.as<RangeObj>();
    if (name == "start") return Value::integer(r.start);
    if (name == "stop") return Value::integer(r.stop);
    if (name == "step") return Value::integer(r.step);
    return std::nullopt;
  }
  default: return builtin_method(*this, obj, name);
  }
}

Value Interp::getattr(const Value& obj, llvm::StringRef name) {
  if (auto v = try_getattr(obj, name)) return *v;
  if (obj.is(Type::Module))
    raise("AttributeError", fmt::format("module '{}' has no attribute '{}'", obj.as<ModuleObj>().name, name.str()));
  if (obj.is(Type::Class))
    raise("AttributeError", fmt::format("type object '{}' has no attribute '{}'", obj.as<ClassObj>().name, name.str()));
  raise("AttributeError", fmt::format("'{}' object has no attribute '{}'", type_name(obj), name.str()));
}

void Interp::setattr(const Value& obj, llvm::StringRef name, Value v) {
  switch (obj.type()) {
  case Type::Instance: {
    auto& instance = obj.as<InstanceObj>();
    instance.attrs.set(name, v);
    return instance.attribute_set(name, v);
  }
  case Type::Class: return obj.as<ClassObj>().attrs.set(name, std::move(v));
  case Type::Module: return obj.as<ModuleObj>().env->vars.set(name, std::move(v));
  default: raise("AttributeError", fmt::format("'{}' object attribute '{}' cannot be set", type_name(obj), name.str()));
  }
}

Value Interp::getitem(const Value& obj, const Value& index) {
  switch (obj.type()) {
  case Type::List:
  case Type::Tuple: {
    auto& items = obj.as<ListObj>().items;
    const char* what = obj.is(Type::List) ? "list" : "tuple";
    if (index.is(Type::Slice)) {
      std::vector<Value> out;
      for (int64_t i : slice_positions(index.as<SliceObj>(), int64_t(items.size()))) out.push_back(items[size_t(i)]);
      return obj.is(Type::List) ? make_list(std::move(out)) : make_tuple(std::move(out));
    }
    return items[size_t(item_position(index, int64_t(items.size()), what))];
  }
  case Type::Str: {
    std::vector<std::string> chars = characters(obj.as<StrObj>().s);
    if (index.is(Type::Slice)) {
      std::string out;
      for (int64_t i : slice_positions(index.as<SliceObj>(), int64_t(chars.size()))) out += chars[size_t(i)];
      return make_str(std::move(out));
    }
    return make_str(chars[size_t(item_position(index, int64_t(chars.size()), "string"))]);
  }
  case Type::Range: {
    auto& r = obj.as<RangeObj>();
    if (index.is(Type::Slice)) {
      std::vector<Value> out;
      for (int64_t i : slice_positions(index.as<SliceObj>(), r.size())) out.push_back(Value::integer(r.at(i)));
      return make_list(std::move(out));
    }
    return Value::integer(r.at(item_position(index, r.size(), "range object")));
  }
  case Type::Dict:
    if (Value* v = obj.as<DictObj>().find(index)) return *v;
    raise("KeyError", repr(index));
  case Type::Tensor: return tensor_index(*this, obj.as<TensorObj>().t, index);
  case Type::Instance:
    if (auto f = try_getattr(obj, "__getitem__")) return call0(*f, index);
    break;
  default: break;
  }
  raise("TypeError", fmt::format("'{}' object is not subscriptable", type_name(obj)));
}

void Interp::setitem(const Value& obj, const Value& index, Value v) {
  switch (obj.type()) {
  case Type::List: {
    auto& items = obj.as<ListObj>().items;
    if (index.is(Type::Slice)) {
      auto& s = index.as<SliceObj>();
      if (!s.step.is_none() && !(s.step.is_int_like() && s.step.as_int() == 1))
        raise("ValueError", "assignment to an extended slice is not supported");
      int64_t n = int64_t(items.size());
      auto bound = [&](const Value& b, int64_t dflt) {
        int64_t i = b.is_none() ? dflt : slice_bound(b, "index");
        return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
      };
      int64_t lo = bound(s.lo, 0), hi = std::max(lo, bound(s.hi, n));
      std::vector<Value> repl = iterate(v);
      items.erase(items.begin() + lo, items.begin() + hi);
      items.insert(items.begin() + lo, repl.begin(), repl.end());
      return;
    }
    items[size_t(item_position(index, int64_t(items.size()), "list assignment"))] = std::move(v);
    return;
  }
  case Type::Dict: return obj.as<DictObj>().set(index, std::move(v));
  case Type::Instance:
    if (auto f = try_getattr(obj, "__setitem__")) {
      CallArgs args;
      args.pos = {index, std::move(v)};
      call(*f, args);
      return;
    }
    break;
  default: break;
  }
  raise("TypeError", fmt::format("'{}' object does not support item assignment", type_name(obj)));
}

std::vector<Value> Interp::iterate(const Value& v) {
  switch (v.type()) {
  case Type::List:
  case Type::Tuple: return v.as<ListObj>().items;
  case Type::Str: {
    std::vector<Value> out;
    for (std::string& c : characters(v.as<StrObj>().s)) out.push_back(make_str(std::move(c)));
    return out;
  }
  case Type::Dict: {
    std::vector<Value> out;
    for (auto& [k, x] : v.as<DictObj>().entries) out.push_back(k);
    return out;
  }
  case Type::Range: {
    auto& r = v.as<RangeObj>();
    int64_t n = r.size();
    if (n > 100'000'000) raise("MemoryError", fmt::format("range of {} items is too large to expand", n));
    std::vector<Value> out;
    out.reserve(size_t(n));
    for (int64_t i = 0; i < n; i++) out.push_back(Value::integer(r.at(i)));
    return out;
  }
  case Type::Tensor: return tensor_rows(v.as<TensorObj>().t);
  case Type::Instance:
    if (auto f = try_getattr(v, "__iter__")) {
      CallArgs none;
      return iterate(call(*f, none));
    }
    break;
  default: break;
  }
  raise("TypeError", fmt::format("'{}' object is not iterable", type_name(v)));
}

} // namespace patgrad::script
