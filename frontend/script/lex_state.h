// What the script lexer and parser share: the position being lexed, the open brackets, the indentation stack and
// the tokens waiting to be returned (one line can end several blocks at once).
#pragma once
#include "frontend/script/ast.h"
#include "script_parser.hpp"
#include <deque>
#include <llvm/ADT/SmallVector.h>

namespace patgrad::script {

using P = Parser;

struct LexState {
  AstModule& mod;
  int line, col;         // of the next character
  int tok_line, tok_col; // of the current token
  int vcol = 1;          // visual column of the next character (a tab moves to the next multiple of 8)
  int tok_vcol = 1;
  int depth = 0;             // open brackets: newlines and indentation inside them mean nothing
  bool line_started = false; // this logical line has produced a token
  bool expr_mode = false;    // parsing one expression (an f-string field): no lines, no indentation
  llvm::SmallVector<int, 8> indents{1};
  std::deque<P::symbol_type> queue;
  Expr* expr_result = nullptr;
  SyntaxError err;

  LexState(AstModule& m, int first_line, int first_col) : mod(m), line(first_line), col(first_col) {
    tok_line = line, tok_col = col;
  }

  void advance(const char* text, int len) {
    tok_line = line, tok_col = col, tok_vcol = vcol;
    for (int i = 0; i < len; i++) {
      if (text[i] == '\n')
        line++, col = 1, vcol = 1;
      else if (text[i] == '\t')
        col++, vcol = (vcol - 1) / 8 * 8 + 9;
      else if ((text[i] & 0xC0) != 0x80)
        col++, vcol++; // one column per UTF-8 character
    }
  }
  Loc loc() const { return Loc{tok_line, tok_col}; }
  [[noreturn]] void fail(const std::string& message) const { throw P::syntax_error(loc(), message); }

  // Returns tok, after the INDENT or DEDENT tokens that the first token of a line implies.
  P::symbol_type token(P::symbol_type tok);
  P::symbol_type newline();
  P::symbol_type end_of_file();
  P::symbol_type next(); // the queue's front
  void open() { depth++; }
  void close() { depth = depth > 0 ? depth - 1 : 0; }

  std::string unescape(std::string_view body, bool raw);
  Expr* fstring(std::string_view text); // the whole f"..." token
  Expr* concat(Expr* a, Expr* b);       // "a" f"b" adjacent literals
};

// Parses one f-string field's expression, located at start in mod's file; null and err on error.
Expr* parse_field(AstModule& mod, std::string_view text, Loc start, SyntaxError& err);

} // namespace patgrad::script

using yyscan_t = void*;
patgrad::script::Parser::symbol_type script_lex(yyscan_t scanner);
