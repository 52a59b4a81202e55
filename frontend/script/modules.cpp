// Built-in modules other than patgrad: time, math and sys.
#include "frontend/script/bind_tensor.h"
#include <chrono>
#include <cmath>

namespace patgrad::script {

namespace {

using Fn = std::pair<const char*, BuiltinFn>;

Value module_of(Interp& in, const char* name, std::initializer_list<Fn> fns) {
  EnvRef env = in.new_module_env(name);
  for (auto& [n, f] : fns) env->vars.set(n, Value(ObjRef(new BuiltinObj(n, f))));
  return Value(ObjRef(new ModuleObj(name, env)));
}

double seconds_since(std::chrono::time_point<std::chrono::steady_clock> t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

template <double (*F)(double)>
Value math1(Interp&, const Value&, CallArgs& args) {
  return Value::real(F(to_float(bind("math function", args, {"x"})[0], "math function argument")));
}

double sqrt_checked(double x) {
  if (x < 0) raise("ValueError", "math domain error");
  return std::sqrt(x);
}
double log_checked(double x) {
  if (x <= 0) raise("ValueError", "math domain error");
  return std::log(x);
}

Value time_module(Interp& in) {
  return module_of(in, "time",
                   {{"time",
                     [](Interp&, const Value&, CallArgs& args) {
                       bind("time", args, {});
                       return Value::real(
                           std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
                     }},
                    {"perf_counter", [](Interp&, const Value&, CallArgs& args) {
                       bind("perf_counter", args, {});
                       static const auto start = std::chrono::steady_clock::now();
                       return Value::real(seconds_since(start));
                     }}});
}

Value math_module(Interp& in) {
  Value m =
      module_of(in, "math",
                {{"sqrt", math1<sqrt_checked>},
                 {"exp", math1<static_cast<double (*)(double)>(std::exp)>},
                 {"log", math1<log_checked>},
                 {"sin", math1<static_cast<double (*)(double)>(std::sin)>},
                 {"cos", math1<static_cast<double (*)(double)>(std::cos)>},
                 {"tanh", math1<static_cast<double (*)(double)>(std::tanh)>},
                 {"floor",
                  [](Interp&, const Value&, CallArgs& args) {
                    Value x = bind("floor", args, {"x"})[0];
                    if (x.is_int_like()) return Value::integer(x.as_int());
                    double f = std::floor(to_float(x, "floor() argument"));
                    if (!(std::fabs(f) < 9.2e18)) raise("OverflowError", "cannot convert float to integer");
                    return Value::integer(int64_t(f));
                  }},
                 {"ceil",
                  [](Interp&, const Value&, CallArgs& args) {
                    Value x = bind("ceil", args, {"x"})[0];
                    if (x.is_int_like()) return Value::integer(x.as_int());
                    double f = std::ceil(to_float(x, "ceil() argument"));
                    if (!(std::fabs(f) < 9.2e18)) raise("OverflowError", "cannot convert float to integer");
                    return Value::integer(int64_t(f));
                  }},
                 {"isnan",
                  [](Interp&, const Value&, CallArgs& args) {
                    return Value::boolean(std::isnan(to_float(bind("isnan", args, {"x"})[0], "isnan() argument")));
                  }},
                 {"isinf", [](Interp&, const Value&, CallArgs& args) {
                    return Value::boolean(std::isinf(to_float(bind("isinf", args, {"x"})[0], "isinf() argument")));
                  }}});
  Env& env = *m.as<ModuleObj>().env;
  env.vars.set("pi", Value::real(M_PI));
  env.vars.set("e", Value::real(M_E));
  env.vars.set("inf", Value::real(INFINITY));
  env.vars.set("nan", Value::real(NAN));
  return m;
}

} // namespace

std::optional<Value> builtin_module(Interp& in, const std::string& name) {
  if (name == "patgrad") return patgrad_module(in);
  if (name == "time") return time_module(in);
  if (name == "math") return math_module(in);
  if (name == "sys") {
    EnvRef env = in.new_module_env("sys");
    std::vector<Value> argv;
    for (const std::string& a : in.argv) argv.push_back(make_str(a));
    env->vars.set("argv", make_list(std::move(argv)));
    return Value(ObjRef(new ModuleObj("sys", env)));
  }
  return std::nullopt;
}

} // namespace patgrad::script
