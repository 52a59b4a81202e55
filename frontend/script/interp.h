// The tree-walking interpreter: one Interp per run. Errors travel as one C++ exception type, ScriptError, which the
// innermost node being evaluated gives a location and a snapshot of the script's call stack; run_file and the REPL
// catch it at one boundary and print it (report.cpp).
#pragma once
#include "frontend/script/value.h"
#include <functional>
#include <iosfwd>
#include <map>

namespace patgrad::script {

struct TraceEntry {
  const AstModule* mod;
  Loc loc;
  std::string function;
};

struct ScriptError {
  std::string kind, message;
  const AstModule* mod = nullptr; // null until the innermost node being evaluated locates it
  Loc loc;
  std::vector<TraceEntry> trace; // outermost call first; the last entry is where it was raised
};

// Raises kind ("TypeError") with message, located by the node being evaluated.
[[noreturn]] void raise(const char* kind, std::string message);

class Interp {
public:
  static constexpr int max_call_depth = 1000; // script calls, as Python's recursion limit
  // nested evaluations on the C++ stack, calls included. AddressSanitizer's frames are several times larger, and it
  // cannot clean up after an exception thrown from deeper than 64 MiB of stack (google/sanitizers#189): less there.
#if defined(__SANITIZE_ADDRESS__)
  static constexpr int max_nesting = 10000;
#else
  static constexpr int max_nesting = 30000;
#endif

  Interp(std::ostream& out, std::vector<std::string> argv);
  ~Interp();

  // Runs a parsed file as module `name` (its globals in env).
  void run_module(AstModule& mod, Env& env);
  // Runs REPL input: expression statements print their value's repr unless it is None.
  void run_interactive(AstModule& mod, Env& env);
  EnvRef new_module_env(const std::string& name);
  // Keeps a parsed file alive as long as the interpreter (its functions point into it).
  AstModule& keep(std::unique_ptr<AstModule> mod);

  // ---- evaluation (eval.cpp, exec.cpp)
  Value eval(const Expr* e, Env& env);
  Value call(const Value& fn, CallArgs& args);
  Value call0(const Value& fn, Value arg); // one positional argument
  Value getattr(const Value& obj, llvm::StringRef name);
  std::optional<Value> try_getattr(const Value& obj, llvm::StringRef name);
  void setattr(const Value& obj, llvm::StringRef name, Value v);
  Value getitem(const Value& obj, const Value& index);
  void setitem(const Value& obj, const Value& index, Value v);
  std::vector<Value> iterate(const Value& v); // the items of an iterable
  void assign(const Expr* target, Value v, Env& env);

  // ---- operators (operators.cpp)
  Value binary(BinOp op, const Value& a, const Value& b);
  Value unary(UnOp op, const Value& a);
  Value compare(CmpOp op, const Value& a, const Value& b);
  bool equal(const Value& a, const Value& b);
  bool less(const Value& a, const Value& b); // for sorted, min, max
  bool contains(const Value& container, const Value& item);

  // ---- text (format.cpp)
  std::string repr(const Value& v);
  std::string str(const Value& v);

  std::ostream& out;
  std::vector<std::string> argv;
  std::string base_dir; // of the main script: imports without an importing file resolve here
  Env* builtins;        // the built-in names, looked up after a module's globals

  // The script's call stack, for tracebacks and recursion limits.
  struct Frame {
    std::string function;
    const AstModule* mod;
    Loc call_loc; // where the caller called it
    FunctionObj* fn = nullptr;
    Value self; // the first argument of a method: super()'s
  };
  std::vector<Frame> frames;
  int nesting = 0;
  Loc call_loc; // of the call being made, for the callee's frame
  const AstModule* cur_mod = nullptr;
  ScriptError locate(ScriptError e, Loc at); // gives e its location and traceback if it has none
  std::map<std::string, Value> modules;      // imported, by name or absolute path

  Value import(const std::string& name, Loc at);

private:
  std::vector<std::unique_ptr<AstModule>> kept_;
  std::vector<EnvRef> module_envs_; // cleared at the end of the run: module scope and functions refer to each other
  EnvRef builtins_env_;

  enum class Flow { Normal, Break, Continue, Return };
  Flow exec_block(const Block& b, Env& env, Value& ret);
  Flow exec(const Stmt* s, Env& env, Value& ret);
  Flow exec_for(const ForStmt& s, Env& env, Value& ret);
  void exec_import(const Stmt* s, Env& env);
  void assign_name(const std::string& name, Value v, Env& env);
  void del(const Expr* target, Env& env);
  ScriptError locate_syntax(ScriptError e, Loc import_at);
  Value make_function(const std::string& name, const std::vector<Param>& params, Env& env);
  Value make_class(const ClassStmt& s, Env& env);
  Value call_function(FunctionObj& f, CallArgs& args, Value self);
  Value instantiate(ClassObj& c, CallArgs& args);
  Value eval_call(const CallExpr& c, Env& env);
  Value eval_comp(const CompExpr& c, Env& env);
  Value eval_fstring(const FStringExpr& f, Env& env);
  Value lookup(const NameExpr& n, Env& env);
  void comp_clauses(const CompExpr& c, size_t i, Env& env, const std::function<void()>& emit);
};

// One level of C++ recursion into a value (printing or comparing nested containers, reading nested lists into a
// tensor), counted with the evaluations under way: past Interp::max_nesting, a RecursionError as Python's
// ("maximum recursion depth exceeded in comparison") instead of a stack overflow.
class DepthGuard {
public:
  DepthGuard(Interp& in, const char* doing) : n_(in.nesting) {
    if (++n_ > Interp::max_nesting) {
      n_--;
      raise("RecursionError", std::string("maximum recursion depth exceeded ") + doing);
    }
  }
  ~DepthGuard() { n_--; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

private:
  int& n_;
};

// ---- built-ins (builtins.cpp, methods.cpp, bind_tensor.cpp, modules.cpp)
void install_builtins(Interp& in, Env& env);
// A method of a built-in value (str, list, dict): null when there is none.
std::optional<Value> builtin_method(Interp& in, const Value& self, llvm::StringRef name);
std::optional<Value> tensor_attr(Interp& in, const Value& self, llvm::StringRef name);
// Built-in modules: patgrad, time, math; null when name is not one.
std::optional<Value> builtin_module(Interp& in, const std::string& name);
Value tensor_index(Interp& in, const Tensor& t, const Value& index);
std::optional<Value> tensor_binary(Interp& in, BinOp op, const Value& a, const Value& b);
std::optional<Value> tensor_compare(Interp& in, CmpOp op, const Value& a, const Value& b);
Value tensor_unary(Interp& in, UnOp op, const Tensor& t);
std::vector<Value> tensor_rows(const Tensor& t);
Value tensor_item(const Tensor& t);

// Binds positional and keyword arguments to parameter names ("x", "y=" optional, "*": rest): a Python-style
// signature check with Python's error messages. Missing optional parameters are None... unless present.
struct Bound {
  std::vector<std::optional<Value>> v;
  std::vector<Value> rest; // the "*" parameter's
  const Value& operator[](size_t i) const { return *v[i]; }
  bool has(size_t i) const { return v[i].has_value(); }
};
Bound bind(const char* fn, const CallArgs& args, std::initializer_list<const char*> params);

// Conversions with TypeErrors that name fn and the parameter.
int64_t to_int(const Value& v, const char* what);
double to_float(const Value& v, const char* what);
const std::string& to_str(const Value& v, const char* what);

} // namespace patgrad::script
