// The checked form of a pattern file: patterns, guards and results as trees the matcher, the fuzzer and the Z3
// prover all walk. The checker (checker.cpp) builds these from the parser's AST; names are resolved to slots, ops
// and dtypes here, so nothing downstream looks at a string.
#pragma once
#include "uops/uop.h"
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace patgrad::rewriter {

using uops::DType;
using uops::DTypeSet;
using uops::Op;
using uops::OpMask;
using uops::UOp;

struct SourceFile {
  std::string name; // as shown in messages: "patterns/symbolic.pat" or the user's path
  std::string text;
};

struct Loc {
  const SourceFile* file = nullptr;
  int line = 0, col = 0;
  std::string str() const; // file:line:col
};

// A guard or computed value: `c1 > 0 && x.vmax < c2`, `c1 * c2`, `is_pow2(c)`.
// Arithmetic on integers happens in the operands' dtype with uops::eval (wrapping at fixed width, checked on index),
// so a guard means what the program will compute; an undefined step makes the guard false.
// A value is a number, a dtype, an op or a list of integers (a shape, a movement op's arg): `x.shape`, `(ADD, ...axes)`,
// `inverse(n.arg)`. Arithmetic on two lists of one length, or a list and a number, is elementwise on index.
struct Expr {
  enum Kind {
    INT,     // literal: ival; takes the dtype of the other operand (index alone)
    FLOAT,   // literal: fval
    BOOL,    // literal: ival
    CAPTURE, // the node in slot; as a value: its constant (CONST) or its arg (an integer or a list)
    FIELD,   // slot's field: VMIN, VMAX, VAL, DTYPE, OP, SHAPE, ARG
    DTYPE,   // a dtype name: dtype
    DTYPE_VAR, // a dtype variable of the pattern: slot is its number
    INTS,    // the integer list in slot (bound by `...axes` in an arg pattern)
    TUPLE,   // (a, b, ...l): a list; each kid is a number or a SPREAD
    SPREAD,  // ...l inside a TUPLE: the elements of the list kids[0]
    OP,      // an op name: op (compared with a capture's .op; as an arg or a list element, its number)
    UNARY,   // op: NEG, or the logical not (op = CMPEQ against false, see `logical_not`)
    BINARY,  // op from the op table applied to the two values (comparisons give bool)
    AND,     // && (short-circuit)
    OR,      // ||
    CALL,    // builtin: name resolved to `builtin`, args in kids
  } kind = INT;
  Loc loc;
  int64_t ival = 0;
  double fval = 0;
  int slot = -1;
  enum Field { VMIN, VMAX, VAL, DTYPE_OF, OP_OF, SHAPE, ARG } field = VAL;
  DType dtype = DType::index;
  Op op = Op::ADD;
  bool logical_not = false;
  enum Builtin {
    IS_POW2, LOG2, GCD, DEFINED, EVAL, MIN, MAX, ABS, IS_CONST, BEFORE, BITS,
    FRESH,      // fresh(name): the next number of the pass's counter ival, from 0
    LOWEST,     // lowest(t): the dtype's lowest value (-inf for floats, false for bool)
    INVERSE,    // inverse(l): the inverse permutation
    DIFFER,     // differ(a, b): the positions where two lists of one length differ
    EVENS,      // evens(l): l[0], l[2], ...
    ODDS,       // odds(l): l[1], l[3], ...
    INTERLEAVE, // interleave(a, b): a[0], b[0], a[1], b[1], ...
    STRIDES,    // strides(shape): each axis's row-major stride
    PICK,       // pick(l, at): l[at[0]], l[at[1]], ...
    AT,         // at(l, k): l[k]
    DROP,       // drop(l, k): l without its first k elements
    LEN,        // len(l)
    PROD,       // prod(l): the product of the elements
    IOTA,       // iota(n): 0, 1, ..., n-1
    TRIPS,      // trips(r) or trips(rs): how many times a RANGE's loop, or a list's nest of them, runs (slot; ival 1: a list)
  } builtin = IS_POW2;
  std::vector<std::unique_ptr<Expr>> kids;
};

// A pattern: matches one node and, through src, its sources.
struct Pat {
  OpMask ops;                  // ops it matches; none set: any op (a capture or `_`)
  DTypeSet dtypes = ~DTypeSet(0); // dtypes it matches
  int dtype_var = -1;          // binds a dtype variable on first use and must equal it afterwards
  int slot = -1;               // capture: binds on first use, must be the same node afterwards
  bool any_src = true;         // written without a source list: sources are not looked at
  std::vector<Pat> src;        // sources, in order
  int rest = -1;               // `...rest`: slot for the remaining sources; -2: `...` anonymous
  std::optional<uops::Value> literal; // `0`, `1.5`, `true`: a CONST with this value (compared in the node's dtype)
  bool literal_is_float = false;      // `1.0` matches float CONSTs only; `1` matches ints, bools and floats equal to 1
  const Expr* arg = nullptr;   // `[e]`: the node's arg must equal e (a literal) or binds the arg slot e names
  std::optional<int64_t> arg_int;     // `REDUCE[ADD]`: the node's arg is this integer (an op's number)
  std::optional<uops::Ints> arg_ints; // `REDUCE_AXIS[(MAX, ...axes)]`: the arg list starts with these
  int arg_rest = -1;                  // after arg_ints: -1 nothing more; -2 `...` anything; else the INTS slot bound
  Loc loc;
};

// A result: what a rule builds from the captures.
struct Build {
  enum Kind {
    CAPTURE, // the node in slot
    NODE,    // a new node: op, sources in src, arg from arg_expr
    CONST,   // CONST[value] or a bare literal: value from value_expr
    CHOOSE,  // choose(g, a, b): a if the guard value g holds, else b
    HOOK,    // cpp::name(args): hook, args in src (a capture or CONST value each)
    SPLICE,  // ...list inside a source list: nodes, by `list`
    FOLD,    // all(...) (op AND; empty: true), sum(...) (op ADD, in the elements' dtype; empty: index 0), product(...)
             // (op MUL; empty: index 1) or maximum(...) (op MAX; empty: no match) of src
    FLATTEN, // flatten(idx, shape): the row-major offset of the index list src[0] in shape value_expr
    SUBST,   // subst(x, a, b): x with the node a replaced by b wherever it appears (src: x, a, b)
    VAR,     // var("name", min, max): an index DEFINE_VAR named text, bounds from the index CONSTs src[0], src[1]
  } kind = CAPTURE;
  enum List {
    CAPTURED,  // ...rest: the sources the pattern captured in slot
    RANGES,    // ...ranges(x): the RANGEs open at the node in slot, by their number
    WITHOUT,   // ...without(a, b): the nodes of list src[0] that are not in list src[1]
    NODES,     // (r, ...rs) as a list argument: the captures and the lists in src, in order
    EACH,      // ...[body for a, b in la, lb]: src[0] built once per position of the lists src[1]..., whose
               // elements are bound to the slots in vars
    INTS,      // an integer list (value_expr) where nodes are wanted: index CONSTs
    NEW_RANGES,// fresh_ranges(sizes): a RANGE over each size of value_expr, numbered by the counter ival
    PICK,      // pick(l, at): the nodes of list src[0] at the positions value_expr
    PUT,       // put(l, at, m): list src[0] with its positions value_expr replaced by the nodes of list src[1]
    UNFLATTEN, // unflatten(i, shape): the row-major index in shape value_expr of the offset src[0]
  } list = CAPTURED;
  Loc loc;
  int slot = -1;
  Op op = Op::SINK;
  std::vector<Build> src;
  std::unique_ptr<Expr> value_expr; // CONST value, CHOOSE guard, NODE arg (a number or a list)
  // the dtype of a NODE or CONST: given (`ADD<i32>`, `CONST<f32>[...]`), or the dtype of a capture or dtype variable,
  // or bool, or (none of those) from the context: the parent's operand dtype
  std::optional<DType> dtype;
  int dtype_of_slot = -1;
  int op_of_slot = -1; // `op(x, y)` where op names a captured node: that node's op (and dtype)
  int dtype_var = -1;
  int hook = -1; // index into the hook table
  int64_t ival = 0; // NEW_RANGES: the counter
  std::string text; // VAR: the name
  std::vector<int> vars; // EACH: the element slots
};

enum class Domain { INDEX, WRAPPING, FLOAT_EXACT, FLOAT_RELAXED, MIXED };
const char* domain_name(Domain d);

// `where name = build`: a node (or a list of nodes: a SPLICE build) built once per firing, before the result, into
// its own slot.
struct Binding {
  int slot;
  Build build;
};

struct Rule {
  std::string name;
  Loc loc;
  Pat pattern;
  std::unique_ptr<Expr> guard; // null: always
  std::vector<Binding> bindings; // in order: each may use the ones before it
  Build result;                // for render rules: unused (template instead)
  std::string template_text;   // render rules: the text template
  bool relaxed = false;        // floats: may differ in the last bits, signed zero and NaN payload
  bool disabled = false;
  int num_slots = 0, num_dtype_vars = 0;
  std::vector<std::string> slot_names; // for messages and reproducers
  bool uses_hook = false;
  bool nonlinear = false; // the pattern repeats a capture or binds a dtype variable
  Domain domain = Domain::MIXED; // from the dtypes the pattern allows
  // statistics, filled by the engine
  mutable uint64_t attempts = 0, hits = 0, nanos = 0;
};

struct Group {
  std::string name;
  Loc loc;
  bool render = false;
  std::vector<Rule*> rules; // in match order, the extended groups' rules first
  mutable std::shared_ptr<struct Matcher> matcher; // render groups: compiled on first use
};

enum class Order { POST, PRE, WALK };
struct Pass {
  std::string name;
  Loc loc;
  bool native = false;               // `pass NAME = native;`: C++ the driver finds by name; no groups
  std::string target;                // `target=NAME`: runs for that target only; empty: for every target
  std::vector<const Group*> groups;
  Order order = Order::POST;
  bool fixpoint = true;
  uint64_t limit = 1'000'000; // rewrites per call before it stops with an error
  // kernel: a stage of the kernel pipeline (lowering::lower_kernel runs it in order); tensor: run on tensor graphs
  // (schedule, autograd's grad); optimize: run by the optimize stage after it marks each opt
  std::string stage = "kernel";
  mutable std::shared_ptr<struct Matcher> matcher; // compiled on first use
};

// A registered C++ hook: called with the captured nodes, it returns a node or nothing ("no match").
using HookFn = std::optional<UOp> (*)(llvm::ArrayRef<UOp> args);
struct Hook {
  std::string name;
  int arity;
  HookFn fn;
};
const std::vector<Hook>& hooks(); // every hook registered so far (register_hook in rewriter.h), in order

} // namespace patgrad::rewriter
