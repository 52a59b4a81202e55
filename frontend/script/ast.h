// The script language's syntax tree. Nodes are owned by their AstModule in one flat list (children are borrowed
// pointers), so a deeply nested tree is freed without recursion. Only the lexer produces locations.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace patgrad::script {

struct Loc {
  int line = 0, col = 0; // 1-based; 0 when unknown
};

struct Node {
  Loc loc;
  virtual ~Node() = default;
};

// ---- expressions
enum class ExprKind : uint8_t {
  Name,
  Const,
  FString,
  List,
  Tuple,
  Dict,
  Attr,
  Index,
  Slice,
  Call,
  Unary,
  Binary,
  BoolOp,
  Compare,
  IfExp,
  Lambda,
  Comp,
  Starred
};
enum class BinOp : uint8_t { Add, Sub, Mul, Div, FloorDiv, Mod, Pow, MatMul, LShift, RShift, BitAnd, BitOr, BitXor };
enum class UnOp : uint8_t { Neg, Pos, Invert, Not };
enum class CmpOp : uint8_t { Lt, Le, Gt, Ge, Eq, Ne, In, NotIn, Is, IsNot };

struct Expr : Node {
  ExprKind kind;
  explicit Expr(ExprKind k) : kind(k) {}
};

struct NameExpr : Expr {
  std::string id;
  NameExpr() : Expr(ExprKind::Name) {}
};

struct ConstExpr : Expr {
  enum Type : uint8_t { None, Bool, Int, Float, Str } type = None;
  int64_t i = 0; // Bool and Int
  double f = 0;
  std::string s;
  ConstExpr() : Expr(ExprKind::Const) {}
};

// f"text {expr!r:spec} text": literal pieces and replacement fields in order
struct FStringPart {
  std::string literal; // when expr is null
  Expr* expr = nullptr;
  char conversion = 0; // 'r', 's' or 0
  std::string spec;
  std::string debug_text; // f"{x=}": "x=" printed before the value
};
struct FStringExpr : Expr {
  std::vector<FStringPart> parts;
  FStringExpr() : Expr(ExprKind::FString) {}
};

struct SeqExpr : Expr { // List or Tuple
  std::vector<Expr*> elts;
  explicit SeqExpr(ExprKind k) : Expr(k) {}
};

struct DictExpr : Expr {
  std::vector<Expr*> keys, values;
  DictExpr() : Expr(ExprKind::Dict) {}
};

struct AttrExpr : Expr {
  Expr* obj = nullptr;
  std::string attr;
  AttrExpr() : Expr(ExprKind::Attr) {}
};

struct IndexExpr : Expr {
  Expr* obj = nullptr;
  Expr* index = nullptr; // a SliceExpr, a Tuple of them, or any expression
  IndexExpr() : Expr(ExprKind::Index) {}
};

struct SliceExpr : Expr {
  Expr *lo = nullptr, *hi = nullptr, *step = nullptr; // null: omitted
  SliceExpr() : Expr(ExprKind::Slice) {}
};

struct Arg {
  std::string keyword; // empty: positional
  Expr* value = nullptr;
  int star = 0; // 1: *iterable, 2: **mapping
};
struct CallExpr : Expr {
  Expr* fn = nullptr;
  std::vector<Arg> args;
  CallExpr() : Expr(ExprKind::Call) {}
};

struct UnaryExpr : Expr {
  UnOp op;
  Expr* operand = nullptr;
  UnaryExpr() : Expr(ExprKind::Unary) {}
};

struct BinaryExpr : Expr {
  BinOp op;
  Expr *lhs = nullptr, *rhs = nullptr;
  BinaryExpr() : Expr(ExprKind::Binary) {}
};

struct BoolOpExpr : Expr {
  bool is_and = true;
  Expr *lhs = nullptr, *rhs = nullptr;
  BoolOpExpr() : Expr(ExprKind::BoolOp) {}
};

// a < b <= c: first, then (op, operand) pairs, each operand evaluated at most once
struct CompareExpr : Expr {
  Expr* first = nullptr;
  std::vector<std::pair<CmpOp, Expr*>> rest;
  CompareExpr() : Expr(ExprKind::Compare) {}
};

struct IfExpr : Expr {
  Expr *cond = nullptr, *then = nullptr, *orelse = nullptr;
  IfExpr() : Expr(ExprKind::IfExp) {}
};

struct Param {
  std::string name;
  Expr* default_value = nullptr;
  int star = 0; // 1: *args, 2: **kwargs
  Loc loc;
};
struct Stmt;
using Block = std::vector<Stmt*>;

struct LambdaExpr : Expr {
  std::vector<Param> params;
  Expr* body = nullptr;
  LambdaExpr() : Expr(ExprKind::Lambda) {}
};

// `for target in iter` or `if cond`, in source order
struct CompClause {
  Expr* target = nullptr; // null for an `if`
  Expr* expr = nullptr;   // the iterable or the condition
};
// [elt for ...], {key: elt for ...}; a generator expression is evaluated as a list
struct CompExpr : Expr {
  bool is_dict = false;
  Expr* key = nullptr; // dict comprehensions
  Expr* elt = nullptr;
  std::vector<CompClause> clauses;
  CompExpr() : Expr(ExprKind::Comp) {}
};

struct StarredExpr : Expr {
  Expr* value = nullptr;
  StarredExpr() : Expr(ExprKind::Starred) {}
};

// ---- statements
enum class StmtKind : uint8_t {
  Expr,
  Assign,
  AugAssign,
  If,
  While,
  For,
  Break,
  Continue,
  Pass,
  Return,
  Def,
  Class,
  Import,
  FromImport,
  Assert,
  Global,
  Del
};

struct Stmt : Node {
  StmtKind kind;
  explicit Stmt(StmtKind k) : kind(k) {}
};

struct ExprStmt : Stmt {
  Expr* value = nullptr;
  ExprStmt() : Stmt(StmtKind::Expr) {}
};

struct AssignStmt : Stmt { // t1 = t2 = value
  std::vector<Expr*> targets;
  Expr* value = nullptr;
  AssignStmt() : Stmt(StmtKind::Assign) {}
};

struct AugAssignStmt : Stmt {
  Expr* target = nullptr;
  BinOp op;
  Expr* value = nullptr;
  AugAssignStmt() : Stmt(StmtKind::AugAssign) {}
};

struct IfStmt : Stmt {
  std::vector<std::pair<Expr*, Block>> branches; // if and elifs
  Block orelse;
  IfStmt() : Stmt(StmtKind::If) {}
};

struct WhileStmt : Stmt {
  Expr* cond = nullptr;
  Block body, orelse;
  WhileStmt() : Stmt(StmtKind::While) {}
};

struct ForStmt : Stmt {
  Expr *target = nullptr, *iter = nullptr;
  Block body, orelse;
  ForStmt() : Stmt(StmtKind::For) {}
};

struct SimpleStmt : Stmt { // Break, Continue, Pass
  explicit SimpleStmt(StmtKind k) : Stmt(k) {}
};

struct ReturnStmt : Stmt {
  Expr* value = nullptr;
  ReturnStmt() : Stmt(StmtKind::Return) {}
};

struct DefStmt : Stmt {
  std::string name;
  std::vector<Param> params;
  Block body;
  std::vector<Expr*> decorators; // @d1 @d2 def f: f = d1(d2(f))
  DefStmt() : Stmt(StmtKind::Def) {}
};

struct ClassStmt : Stmt {
  std::string name;
  Expr* base = nullptr;
  Block body;
  ClassStmt() : Stmt(StmtKind::Class) {}
};

struct ImportName {
  std::string name;  // dotted for `import a.b`
  std::string alias; // empty: none
  Loc loc;
};
struct ImportStmt : Stmt { // import a.b as c, d
  std::vector<ImportName> names;
  ImportStmt() : Stmt(StmtKind::Import) {}
};
struct FromImportStmt : Stmt { // from a import b as c; names empty: import *
  std::string module;
  std::vector<ImportName> names;
  FromImportStmt() : Stmt(StmtKind::FromImport) {}
};

struct AssertStmt : Stmt {
  Expr *test = nullptr, *msg = nullptr;
  AssertStmt() : Stmt(StmtKind::Assert) {}
};

struct GlobalStmt : Stmt {
  std::vector<std::string> names;
  GlobalStmt() : Stmt(StmtKind::Global) {}
};

struct DelStmt : Stmt {
  std::vector<Expr*> targets;
  DelStmt() : Stmt(StmtKind::Del) {}
};

// A UTF-8 byte-order mark at the start of a file is skipped, as Python does: columns count from after it.
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// A parsed file (or REPL input): its text, for error carets, and every node.
struct AstModule {
  std::string path;
  std::string source;
  Block body;
  std::vector<std::unique_ptr<Node>> nodes;

  template <typename T, typename... A>
  T* make(Loc loc, A&&... a) {
    auto n = std::make_unique<T>(std::forward<A>(a)...);
    n->loc = loc;
    T* p = n.get();
    nodes.push_back(std::move(n));
    return p;
  }
  std::string line_text(int line) const; // without its newline; empty when out of range
};

// A syntax or indentation error: where and why.
struct SyntaxError {
  std::string kind = "SyntaxError";
  Loc loc;
  std::string message;
};

// Parses a whole file. On error returns null and fills err.
std::unique_ptr<AstModule> parse_module(std::string path, std::string source, SyntaxError& err);

} // namespace patgrad::script
