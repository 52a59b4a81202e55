// Methods of built-in values: str, list and dict.
#include "frontend/script/format.h"
#include <algorithm>
#include <fmt/format.h>

namespace patgrad::script {

namespace {

struct Method {
  const char* name;
  BuiltinFn fn;
};

std::string& s_of(const Value& self) { return self.as<StrObj>().s; }
std::vector<Value>& items_of(const Value& self) { return self.as<ListObj>().items; }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

Value strip_impl(const Value& self, CallArgs& args, const char* name, bool left, bool right) {
  Bound b = bind(name, args, {"chars="});
  const std::string& s = s_of(self);
  std::string chars = b.has(0) && !b[0].is_none() ? to_str(b[0], "chars") : std::string(" \t\n\r\f\v");
  size_t lo = 0, hi = s.size();
  while (left && lo < hi && chars.find(s[lo]) != std::string::npos) lo++;
  while (right && hi > lo && chars.find(s[hi - 1]) != std::string::npos) hi--;
  return make_str(s.substr(lo, hi - lo));
}

Value split_impl(const Value& self, CallArgs& args) {
  Bound b = bind("split", args, {"sep=", "maxsplit="});
  const std::string& s = s_of(self);
  int64_t maxsplit = b.has(1) ? to_int(b[1], "maxsplit") : -1;
  std::vector<Value> out;
  if (!b.has(0) || b[0].is_none()) { // runs of whitespace, no empty strings
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_space(s[i])) i++;
      if (i == s.size()) break;
      if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
        size_t end = s.size();
        while (end > i && is_space(s[end - 1])) end--;
        out.push_back(make_str(s.substr(i, end - i)));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_space(s[j])) j++;
      out.push_back(make_str(s.substr(i, j - i)));
      i = j;
    }
    return make_list(std::move(out));
  }
  const std::string& sep = to_str(b[0], "sep");
  if (sep.empty()) raise("ValueError", "empty separator");
  size_t start = 0;
  for (size_t pos; (maxsplit < 0 || int64_t(out.size()) < maxsplit) && (pos = s.find(sep, start)) != std::string::npos;
       start = pos + sep.size())
    out.push_back(make_str(s.substr(start, pos - start)));
  out.push_back(make_str(s.substr(start)));
  return make_list(std::move(out));
}

Value str_format(Interp& in, const Value& self, CallArgs& args) {
  const std::string& f = s_of(self);
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); i++) {
    char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}')
        i++;
      else
        raise("ValueError", "Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{', i++;
      continue;
    }
    size_t close = f.find('}', i);
    if (close == std::string::npos) raise("ValueError", "Single '{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1), spec;
    char conv = 0;
    if (size_t colon = field.find(':'); colon != std::string::npos) spec = field.substr(colon + 1), field.resize(colon);
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conv = bang + 1 < field.size() ? field[bang + 1] : 0;
      field.resize(bang);
    }
    Value v;
    if (field.empty()) {
      if (auto_index >= args.pos.size())
        raise("IndexError",
              "Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = args.pos[auto_index++];
    } else if (std::isdigit((unsigned char)field[0])) {
      size_t k = std::strtoul(field.c_str(), nullptr, 10);
      if (k >= args.pos.size())
        raise("IndexError", "Replacement index " + field + " out of range for positional args tuple");
      v = args.pos[k];
    } else {
      auto it = std::find_if(args.kw.begin(), args.kw.end(), [&](auto& kv) { return kv.first == field; });
      if (it == args.kw.end()) raise("KeyError", str_repr(field));
      v = it->second;
    }
    if (conv == 'r')
      v = make_str(in.repr(v));
    else if (conv == 's')
      v = make_str(in.str(v));
    out += format_value(in, v, spec);
    i = close;
  }
  return make_str(std::move(out));
}

Value justify(const Value& self, CallArgs& args, const char* name, char how) {
  Bound b = bind(name, args, {"width", "fillchar="});
  int64_t w = to_int(b[0], "width");
  std::string fill = b.has(1) ? to_str(b[1], "fillchar") : " ";
  if (fill.size() != 1) raise("TypeError", "The fill character must be exactly one character long");
  const std::string& s = s_of(self);
  if (w <= int64_t(s.size())) return make_str(s);
  size_t n = size_t(w) - s.size(), left = how == '>' ? n : how == '<' ? 0 : n / 2 + (n & size_t(w) & 1);
  return make_str(std::string(left, fill[0]) + s + std::string(n - left, fill[0]));
}

const Method str_methods[] = {
    {"join",
     [](Interp& in, const Value& self, CallArgs& args) {
       std::string out;
       bool first = true;
       for (const Value& v : in.iterate(bind("join", args, {"iterable"})[0])) {
         if (!v.is(Type::Str))
           raise("TypeError", fmt::format("sequence item: expected str instance, {} found", type_name(v)));
         out += (first ? "" : s_of(self)) + v.as<StrObj>().s, first = false;
       }
       return make_str(std::move(out));
     }},
    {"split", [](Interp&, const Value& self, CallArgs& args) { return split_impl(self, args); }},
    {"upper",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("upper", args, {});
       std::string s = s_of(self);
       for (char& c : s) c = char(std::toupper((unsigned char)c));
       return make_str(s);
     }},
    {"lower",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("lower", args, {});
       std::string s = s_of(self);
       for (char& c : s) c = char(std::tolower((unsigned char)c));
       return make_str(s);
     }},
    {"strip", [](Interp&, const Value& self, CallArgs& args) { return strip_impl(self, args, "strip", true, true); }},
    {"lstrip",
     [](Interp&, const Value& self, CallArgs& args) { return strip_impl(self, args, "lstrip", true, false); }},
    {"rstrip",
     [](Interp&, const Value& self, CallArgs& args) { return strip_impl(self, args, "rstrip", false, true); }},
    {"startswith",
     [](Interp& in, const Value& self, CallArgs& args) {
       Value p = bind("startswith", args, {"prefix"})[0];
       std::vector<Value> options = p.is(Type::Tuple) ? in.iterate(p) : std::vector<Value>{p};
       for (const Value& o : options)
         if (s_of(self).starts_with(to_str(o, "prefix"))) return Value::boolean(true);
       return Value::boolean(false);
     }},
    {"endswith",
     [](Interp& in, const Value& self, CallArgs& args) {
       Value p = bind("endswith", args, {"suffix"})[0];
       std::vector<Value> options = p.is(Type::Tuple) ? in.iterate(p) : std::vector<Value>{p};
       for (const Value& o : options)
         if (s_of(self).ends_with(to_str(o, "suffix"))) return Value::boolean(true);
       return Value::boolean(false);
     }},
    {"replace",
     [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("replace", args, {"old", "new", "count="});
       const std::string &from = to_str(b[0], "old"), &to = to_str(b[1], "new");
       int64_t count = b.has(2) ? to_int(b[2], "count") : -1;
       const std::string& s = s_of(self);
       std::string out;
       size_t start = 0;
       if (from.empty()) { // between every character, as Python
         for (size_t i = 0; i < s.size(); i++) {
           if (count < 0 || int64_t(i) < count) out += to;
           out += s[i];
         }
         if (count < 0 || int64_t(s.size()) < count) out += to;
         return make_str(out);
       }
       for (size_t pos; count != 0 && (pos = s.find(from, start)) != std::string::npos;
            start = pos + from.size(), count--)
         out += s.substr(start, pos - start) + to;
       return make_str(out + s.substr(start));
     }},
    {"find",
     [](Interp&, const Value& self, CallArgs& args) {
       size_t p = s_of(self).find(to_str(bind("find", args, {"sub"})[0], "sub"));
       return Value::integer(p == std::string::npos ? -1 : int64_t(p));
     }},
    {"count",
     [](Interp&, const Value& self, CallArgs& args) {
       const std::string& sub = to_str(bind("count", args, {"sub"})[0], "sub");
       const std::string& s = s_of(self);
       if (sub.empty()) return Value::integer(int64_t(s.size()) + 1);
       int64_t n = 0;
       for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) n++;
       return Value::integer(n);
     }},
    {"format", str_format},
    {"isdigit",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("isdigit", args, {});
       const std::string& s = s_of(self);
       return Value::boolean(!s.empty() &&
                             std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
     }},
    {"isalpha",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("isalpha", args, {});
       const std::string& s = s_of(self);
       return Value::boolean(!s.empty() &&
                             std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha((unsigned char)c); }));
     }},
    {"isspace",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("isspace", args, {});
       const std::string& s = s_of(self);
       return Value::boolean(!s.empty() && std::all_of(s.begin(), s.end(), is_space));
     }},
    {"ljust", [](Interp&, const Value& self, CallArgs& args) { return justify(self, args, "ljust", '<'); }},
    {"rjust", [](Interp&, const Value& self, CallArgs& args) { return justify(self, args, "rjust", '>'); }},
    {"center", [](Interp&, const Value& self, CallArgs& args) { return justify(self, args, "center", '^'); }},
    {"zfill",
     [](Interp&, const Value& self, CallArgs& args) {
       int64_t w = to_int(bind("zfill", args, {"width"})[0], "width");
       std::string s = s_of(self);
       size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
       if (w > int64_t(s.size())) s.insert(sign, size_t(w) - s.size(), '0');
       return make_str(s);
     }},
    {"splitlines",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("splitlines", args, {});
       std::vector<Value> out;
       const std::string& s = s_of(self);
       size_t start = 0;
       for (size_t i = 0; i < s.size(); i++)
         if (s[i] == '\n') out.push_back(make_str(s.substr(start, i - start))), start = i + 1;
       if (start < s.size()) out.push_back(make_str(s.substr(start)));
       return make_list(std::move(out));
     }},
};

int64_t list_position(const Value& self, const Value& index, const char* what, bool clamp) {
  int64_t n = int64_t(items_of(self).size()), i = to_int(index, what);
  if (i < 0) i += n;
  if (clamp) return std::clamp<int64_t>(i, 0, n);
  if (i < 0 || i >= n) raise("IndexError", "pop index out of range");
  return i;
}

const Method list_methods[] = {
    {"append",
     [](Interp&, const Value& self, CallArgs& args) {
       items_of(self).push_back(bind("append", args, {"object"})[0]);
       return Value();
     }},
    {"extend",
     [](Interp& in, const Value& self, CallArgs& args) {
       std::vector<Value> more = in.iterate(bind("extend", args, {"iterable"})[0]);
       items_of(self).insert(items_of(self).end(), more.begin(), more.end());
       return Value();
     }},
    {"pop",
     [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("pop", args, {"index="});
       auto& items = items_of(self);
       if (items.empty()) raise("IndexError", "pop from empty list");
       int64_t i = b.has(0) ? list_position(self, b[0], "index", false) : int64_t(items.size()) - 1;
       Value v = items[size_t(i)];
       items.erase(items.begin() + i);
       return v;
     }},
    {"insert",
     [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("insert", args, {"index", "object"});
       int64_t i = list_position(self, b[0], "index", true);
       items_of(self).insert(items_of(self).begin() + i, b[1]);
       return Value();
     }},
    {"index",
     [](Interp& in, const Value& self, CallArgs& args) {
       Value x = bind("index", args, {"value"})[0];
       auto& items = items_of(self);
       for (size_t i = 0; i < items.size(); i++)
         if (in.equal(items[i], x)) return Value::integer(int64_t(i));
       raise("ValueError", in.repr(x) + " is not in list");
     }},
    {"count",
     [](Interp& in, const Value& self, CallArgs& args) {
       Value x = bind("count", args, {"value"})[0];
       int64_t n = 0;
       for (const Value& v : items_of(self)) n += in.equal(v, x);
       return Value::integer(n);
     }},
    {"remove",
     [](Interp& in, const Value& self, CallArgs& args) {
       Value x = bind("remove", args, {"value"})[0];
       auto& items = items_of(self);
       for (size_t i = 0; i < items.size(); i++)
         if (in.equal(items[i], x)) {
           items.erase(items.begin() + long(i));
           return Value();
         }
       raise("ValueError", "list.remove(x): x not in list");
     }},
    {"reverse",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("reverse", args, {});
       std::reverse(items_of(self).begin(), items_of(self).end());
       return Value();
     }},
    {"sort",
     [](Interp& in, const Value& self, CallArgs& args) {
       Bound b = bind("sort", args, {"key=", "reverse="});
       if (!args.pos.empty()) raise("TypeError", "sort() takes no positional arguments");
       CallArgs call;
       call.pos.push_back(self);
       call.kw = args.kw;
       Value sorted = in.call(*in.builtins->vars.find("sorted"), call);
       items_of(self) = items_of(sorted);
       (void)b;
       return Value();
     }},
    {"copy",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("copy", args, {});
       return make_list(items_of(self));
     }},
    {"clear",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("clear", args, {});
       items_of(self).clear();
       return Value();
     }},
};

const Method tuple_methods[] = {
    {"index", list_methods[4].fn},
    {"count", list_methods[5].fn},
};

DictObj& d_of(const Value& self) { return self.as<DictObj>(); }

Value as_view(Value list, const char* view) {
  list.as<ListObj>().view = view;
  return list;
}

const Method dict_methods[] = {
    {"keys",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("keys", args, {});
       std::vector<Value> out;
       for (auto& [k, v] : d_of(self).entries) out.push_back(k);
       return as_view(make_list(std::move(out)), "dict_keys");
     }},
    {"values",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("values", args, {});
       std::vector<Value> out;
       for (auto& [k, v] : d_of(self).entries) out.push_back(v);
       return as_view(make_list(std::move(out)), "dict_values");
     }},
    {"items",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("items", args, {});
       std::vector<Value> out;
       for (auto& [k, v] : d_of(self).entries) out.push_back(make_tuple({k, v}));
       return as_view(make_list(std::move(out)), "dict_items");
     }},
    {"get",
     [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("get", args, {"key", "default="});
       if (Value* v = d_of(self).find(b[0])) return *v;
       return b.has(1) ? b[1] : Value();
     }},
    {"pop",
     [](Interp& in, const Value& self, CallArgs& args) {
       Bound b = bind("pop", args, {"key", "default="});
       if (Value* v = d_of(self).find(b[0])) {
         Value out = *v;
         d_of(self).erase(b[0]);
         return out;
       }
       if (b.has(1)) return b[1];
       raise("KeyError", in.repr(b[0]));
     }},
    {"setdefault",
     [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("setdefault", args, {"key", "default="});
       if (Value* v = d_of(self).find(b[0])) return *v;
       Value dflt = b.has(1) ? b[1] : Value();
       d_of(self).set(b[0], dflt);
       return dflt;
     }},
    {"update",
     [](Interp& in, const Value& self, CallArgs& args) {
       CallArgs positional; // keyword arguments are entries
       positional.pos = args.pos;
       Bound b = bind("update", positional, {"other="});
       if (b.has(0)) {
         CallArgs conv;
         conv.pos.push_back(b[0]);
         Value other = in.call(*in.builtins->vars.find("dict"), conv);
         for (auto& [k, v] : d_of(other).entries) d_of(self).set(k, v);
       }
       for (auto& [k, v] : args.kw) d_of(self).set(make_str(k), v);
       return Value();
     }},
    {"copy",
     [](Interp& in, const Value& self, CallArgs& args) {
       bind("copy", args, {});
       return in.call0(*in.builtins->vars.find("dict"), self);
     }},
    {"clear",
     [](Interp&, const Value& self, CallArgs& args) {
       bind("clear", args, {});
       d_of(self).entries.clear(), d_of(self).index.clear();
       return Value();
     }},
};

template <size_t N>
std::optional<Value> find_method(const Method (&table)[N], const Value& self, llvm::StringRef name) {
  for (const Method& m : table)
    if (name == m.name) return Value(ObjRef(new BuiltinObj(m.name, m.fn, self)));
  return std::nullopt;
}

} // namespace

std::optional<Value> builtin_method(Interp&, const Value& self, llvm::StringRef name) {
  switch (self.type()) {
  case Type::Str: return find_method(str_methods, self, name);
  case Type::List: return find_method(list_methods, self, name);
  case Type::Tuple: return find_method(tuple_methods, self, name);
  case Type::Dict: return find_method(dict_methods, self, name);
  default: return std::nullopt;
  }
}

} // namespace patgrad::script
