// The parser's output: a pattern file as written, before names are resolved. One expression tree serves patterns,
// guards and results; the checker gives it meaning by position.
#pragma once
#include "rewriter/rules.h"
#include <deque>
#include <map>

namespace patgrad::rewriter {

struct TySpec {
  std::string var;   // `t` in <t:ints>, or "" ; for <ints> the one name is in cls
  std::string cls;   // dtype, dtype class or (alone, unknown) a dtype variable
  Loc loc;
};

struct AstExpr {
  enum Kind {
    INT, FLOAT, STRING, TRUE_, FALSE_,
    NAME,     // x, _, or a dtype name in a guard
    TYPED,    // x<ints>
    BIND,     // name:primary
    NODE,     // OP(...)[arg], {A,B}(...), OP<ty>(...)
    CALL,     // name(args): builtin
    CPP,      // cpp::name(args)
    BINARY,   // text: the operator ("+", "&&", ...)
    UNARY,    // text: "-" or "!"
    FIELD,    // kids[0].text
    ELLIPSIS, // ...rest (text: the name or ""), or ...f(args) (kids[0]: the CALL)
    TUPLE,    // (a, b, ...rest): an arg that is a list of integers
    EACH,     // [body for a, b in la, lb] after `...`: kids[0] the body, then the lists; opnames: the element names
  } kind;
  Loc loc;
  std::string text;
  int64_t ival = 0;
  double fval = 0;
  std::vector<std::pair<std::string, Loc>> opnames; // NODE; EACH: the element names
  std::optional<TySpec> ty;                          // TYPED, NODE
  bool has_srcs = false;                             // NODE written with parentheses
  std::vector<AstExpr*> kids;                        // sources, arguments, operands
  AstExpr* argb = nullptr;                           // NODE `[e]`
};

struct AstOption {
  std::string key, value; // [name] has key only; prio=2 has both
  Loc loc;
};

struct AstBinding {
  std::string name; // `where name = value`
  Loc loc;
  AstExpr* value = nullptr;
};

struct AstRule {
  Loc loc;
  std::vector<AstOption> label;
  AstExpr* pattern = nullptr;
  AstExpr* guard = nullptr;
  AstExpr* result = nullptr;
  std::vector<AstBinding> wheres;
};

struct AstItem {
  enum Kind { INCLUDE, OPSET, DTYPES, HOOK, GROUP, RENDER, EXTEND, TYPEMAP, PASS, TARGET } kind;
  Loc loc;
  std::string name;                              // include: the path
  std::vector<std::pair<std::string, Loc>> names; // opset/dtypes members, hook params, extends, pass groups, a
                                                  // target's render group
  std::vector<AstRule> rules;                    // group, render, extend
  std::vector<AstOption> options;                // pass options
  std::vector<std::pair<AstOption, std::string>> typemap; // key: dtype, value: its spelling
  bool native = false;                           // pass NAME = native;
};

struct AstFile {
  const SourceFile* source = nullptr;
  std::vector<AstItem> items;
  std::deque<AstExpr> nodes; // owns every AstExpr
  AstExpr* make(AstExpr::Kind kind, Loc loc) {
    nodes.push_back(AstExpr{kind, loc});
    return &nodes.back();
  }
};

// Diagnostics: `file:line:col: error: message`, the source line and a caret. One function formats them all, with
// bytes that would not print (control bytes, broken UTF-8) escaped as \x01. After max_per_file errors in one file
// (binary garbage gives thousands), one line counts the rest.
struct Diagnostics {
  static constexpr int max_per_file = 50;
  std::vector<std::string> messages;
  int errors = 0;
  void error(const Loc& loc, const std::string& message);
  void note(const Loc& loc, const std::string& message); // about the last error: dropped with it

private:
  struct FileCount {
    int errors = 0;
    size_t summary = 0; // the index of its "... and N more errors" line in messages
  };
  std::map<const SourceFile*, FileCount> per_file_;
  bool dropped_ = false; // the last error was over the file's limit
};

// parser.y: parses source into file; syntax errors go to diags (parsing resumes at the next ';' or '}').
void parse(const SourceFile& source, AstFile& file, Diagnostics& diags);

} // namespace patgrad::rewriter
