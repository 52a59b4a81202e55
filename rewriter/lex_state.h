// What the lexer and the parser share: the position being lexed and the file being built.
#pragma once
#include "pat_parser.hpp"
#include "rewriter/ast.h"

namespace patgrad::rewriter {

struct LexState {
  const SourceFile& source;
  AstFile& file;
  Diagnostics& diags;
  int line = 1, col = 1;       // of the next character
  int tok_line = 1, tok_col = 1; // of the current token

  void advance(const char* text, int len) {
    tok_line = line, tok_col = col;
    for (int i = 0; i < len; i++) {
      if (text[i] == '\n') line++, col = 1;
      else col++;
    }
  }
  Loc token_loc() const { return Loc{&source, tok_line, tok_col}; }
  void error(const Loc& loc, const std::string& message) { diags.error(loc, message); }
  std::string unescape(const char* text, int len);
};

} // namespace patgrad::rewriter

using yyscan_t = void*;
patgrad::rewriter::Parser::symbol_type pat_lex(yyscan_t yyscanner);
