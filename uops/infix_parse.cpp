// parse_infix: a lexer and a precedence-climbing parser for the infix syntax (infix.h). The syntax is small enough
// that flex and bison would add more than they save. Every node is checked with invalid_reason before it is built, so
// bad operands are errors, not aborts; nesting is bounded, so no input can exhaust the stack.
#include "uops/infix.h"
#include <algorithm>
#include <cassert>
#include <fmt/format.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringExtras.h>

namespace patgrad::uops {
namespace {

// Parentheses and calls nest at most this deep: the parser recurses a few frames per level.
constexpr int max_depth = 256;

enum class Tok : uint8_t { END, INT, NAME, PUNCT };
struct Token {
  Tok kind;
  std::string_view text;
  size_t offset; // in bytes from the start of the text
};

// Operators and punctuation, each before its prefixes so that "<<" is not read as "<" "<".
constexpr std::string_view puncts[] = {"<<", ">>", "<=", ">=", "==", "!=", "//", "<", ">", "+",
                                       "-",  "*",  "%",  "&",  "|",  "^",  "(",  ")", ","};

struct Function {
  std::string_view name;
  Op op; // the op table gives the number of arguments
};
constexpr Function functions[] = {{"max", Op::MAX}, {"min", Op::MIN}, {"where", Op::WHERE}};

// Python's precedence of a binary operator; ATOM for any other spelling.
Prec spelling_prec(std::string_view s) {
  if (s == "<" || s == "<=" || s == ">" || s == ">=" || s == "==" || s == "!=") return Prec::CMP;
  if (s == "|") return Prec::BOR;
  if (s == "^") return Prec::BXOR;
  if (s == "&") return Prec::BAND;
  if (s == "<<" || s == ">>") return Prec::SHIFT;
  if (s == "+" || s == "-") return Prec::SUM;
  if (s == "*" || s == "/" || s == "//" || s == "%") return Prec::PRODUCT;
  return Prec::ATOM;
}

// c as an error message shows it: a byte that does not print as \x01.
std::string printable(char c) { return llvm::isPrint(c) ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c)); }

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += printable(c);
  return out + "'";
}

struct Location {
  size_t line, col;  // from 1; columns count bytes
  size_t line_start; // offset of the line's first byte
};
Location locate(std::string_view text, size_t offset) {
  std::string_view before = text.substr(0, offset);
  size_t line_start = before.rfind('\n') + 1; // npos + 1 == 0
  return {size_t(1 + std::count(before.begin(), before.end(), '\n')), offset - line_start + 1, line_start};
}

// `line:col: error: msg`, then the source line and a caret under the column.
llvm::Error error_at(std::string_view text, size_t offset, std::string_view msg) {
  Location at = locate(text, offset);
  std::string_view line = text.substr(at.line_start, text.find('\n', offset) - at.line_start);
  std::string shown, caret;
  for (size_t i = 0; i < line.size(); i++) {
    std::string c = line[i] == '\t' ? "\t" : printable(line[i]);
    shown += c;
    if (i + 1 < at.col) caret += line[i] == '\t' ? "\t" : std::string(c.size(), ' '); // aligned under escapes and tabs
  }
  return llvm::createStringError(fmt::format("{}:{}: error: {}\n{}\n{}^", at.line, at.col, msg, shown, caret));
}

// The tokens of text, ending with an END token; the first character that starts no token is an error.
llvm::Expected<llvm::SmallVector<Token, 32>> lex(std::string_view text) {
  llvm::SmallVector<Token, 32> toks;
  size_t i = 0;
  auto take_while = [&](auto pred) {
    while (i < text.size() && pred(text[i])) i++;
  };
  for (take_while(llvm::isSpace); i < text.size(); take_while(llvm::isSpace)) {
    size_t start = i;
    if (llvm::isDigit(text[i])) {
      take_while(llvm::isDigit);
      toks.push_back({Tok::INT, text.substr(start, i - start), start});
    } else if (llvm::isAlpha(text[i]) || text[i] == '_') {
      take_while([](char c) { return llvm::isAlnum(c) || c == '_'; });
      toks.push_back({Tok::NAME, text.substr(start, i - start), start});
    } else {
      auto p =
          std::find_if(std::begin(puncts), std::end(puncts), [&](auto s) { return text.substr(i).starts_with(s); });
      if (p == std::end(puncts))
        return error_at(text, i, fmt::format("unexpected character {}", quoted(text.substr(i, 1))));
      i += p->size();
      toks.push_back({Tok::PUNCT, *p, start});
    }
  }
  toks.push_back({Tok::END, "", text.size()});
  return toks;
}

struct Parser {
  std::string_view text;
  const VarBounds& bounds;
  llvm::ArrayRef<Token> toks; // ends with END, which is never consumed
  size_t pos = 0;
  int depth = 0;

  const Token& peek() const { return toks[pos]; }
  bool at(std::string_view punct) const { return peek().kind == Tok::PUNCT && peek().text == punct; }
  Prec peek_prec() const { return peek().kind == Tok::PUNCT ? spelling_prec(peek().text) : Prec::ATOM; }

  llvm::Error error(const Token& t, std::string_view msg) const { return error_at(text, t.offset, msg); }
  llvm::Error expected(std::string_view what) const {
    const Token& t = peek();
    return error(t, fmt::format("expected {}, found {}", what, t.kind == Tok::END ? "end of input" : quoted(t.text)));
  }
  std::string position(const Token& t) const {
    Location at = locate(text, t.offset);
    return fmt::format("{}:{}", at.line, at.col);
  }
  llvm::Error enter() {
    if (++depth > max_depth) return error(peek(), fmt::format("expression nested deeper than {} levels", max_depth));
    return llvm::Error::success();
  }

  // The node, or an error at `at` when the operands do not fit the op. The result dtype follows the op table's
  // typing, as UOp::alu derives it.
  llvm::Expected<UOp> build(Op op, llvm::ArrayRef<UOp> src, const Token& at) const {
    Typing typing = op_info(op).typing;
    DType dtype = typing == Typing::CMP ? DType::bool_ : typing == Typing::SELECT ? src[1]->dtype : src[0]->dtype;
    if (std::string why = invalid_reason(op, dtype, src, {}); !why.empty())
      return error(at, fmt::format("invalid operands of {}: {}", quoted(at.text), why));
    return UOp::alu(op, src);
  }

  // a OP b for a binary operator token; > and >= are < and <= with the operands swapped
  llvm::Expected<UOp> apply(const Token& op, const UOp& a, const UOp& b) const {
    bool swap = op.text == ">" || op.text == ">=";
    std::optional<Op> o = op_for_infix(op.text == ">" ? "<" : op.text == ">=" ? "<=" : op.text);
    assert(o && "every binary operator the lexer makes is in the op table");
    return swap ? build(*o, {b, a}, op) : build(*o, {a, b}, op);
  }

  // expr -> binary(BOR) (cmp_op binary(BOR))*; a<b<c means (a<b)&(b<c), as in Python
  llvm::Expected<UOp> expr() {
    UOp lhs, chain;
    if (auto e = binary(Prec::BOR).moveInto(lhs)) return e;
    while (peek_prec() == Prec::CMP) {
      const Token& op = toks[pos++];
      UOp rhs, cmp;
      if (auto e = binary(Prec::BOR).moveInto(rhs)) return e;
      if (auto e = apply(op, lhs, rhs).moveInto(cmp)) return e;
      if (chain) {
        if (auto e = build(Op::AND, {chain, cmp}, op).moveInto(cmp)) return e;
      }
      chain = cmp;
      lhs = rhs;
    }
    return chain ? chain : lhs;
  }

  // binary(min) -> unary (op binary(tighter(op)))*, over the operators from min to PRODUCT; left-associative
  llvm::Expected<UOp> binary(Prec min) {
    UOp lhs;
    if (auto e = unary().moveInto(lhs)) return e;
    for (Prec p = peek_prec(); p >= min && p < Prec::UNARY; p = peek_prec()) {
      const Token& op = toks[pos++];
      UOp rhs;
      if (auto e = binary(tighter(p)).moveInto(rhs)) return e;
      if (auto e = apply(op, lhs, rhs).moveInto(lhs)) return e;
    }
    return lhs;
  }

  // unary -> '-'* atom; a '-' just before an integer literal negates the literal, any other is a MUL by -1.
  // Iterative, so a long run of '-' cannot exhaust the stack.
  llvm::Expected<UOp> unary() {
    size_t first = pos;
    while (at("-")) pos++;
    size_t negations = pos - first;
    bool negative_literal = negations && peek().kind == Tok::INT;
    UOp x;
    if (auto e = (negative_literal ? literal(&toks[pos - 1]) : atom()).moveInto(x)) return e;
    negations -= negative_literal;
    UOp minus_one = UOp::constant(DType::index, -1);
    while (negations--)
      if (auto e = build(Op::MUL, {x, minus_one}, toks[first + negations]).moveInto(x)) return e;
    return x;
  }

  // atom -> INT | NAME | 'true' | 'false' | '(' expr ')' | call
  llvm::Expected<UOp> atom() {
    if (peek().kind == Tok::INT) return literal(nullptr);
    if (peek().kind == Tok::NAME) return name();
    if (at("(")) return parenthesized();
    return expected("an expression");
  }

  // An index literal, negated if `minus` (the '-' before it) is given; it must fit int64.
  llvm::Expected<UOp> literal(const Token* minus) {
    const Token& t = toks[pos++];
    unsigned __int128 limit = (static_cast<unsigned __int128>(1) << 63) - (minus ? 0 : 1), v = 0;
    for (char c : t.text)
      if ((v = v * 10 + unsigned(c - '0')) > limit)
        return error(minus ? *minus : t,
                     fmt::format("integer literal {}{} is outside the int64 range of index", minus ? "-" : "", t.text));
    return UOp::constant(DType::index, minus ? -__int128(v) : __int128(v));
  }

  llvm::Expected<UOp> name() {
    const Token& t = toks[pos++];
    if (t.text == "true" || t.text == "false") return UOp::constant(DType::bool_, __int128(t.text == "true"));
    for (const Function& f : functions)
      if (t.text == f.name) return call(t, f.op);
    if (at("(")) return error(t, fmt::format("unknown function {}", quoted(t.text)));
    auto it = bounds.find(t.text);
    auto [lo, hi] = it != bounds.end() ? it->second : std::pair{INT64_MIN, INT64_MAX};
    Var v{std::string(t.text), lo, hi};
    if (std::string why = invalid_reason(Op::DEFINE_VAR, DType::index, {}, v); !why.empty()) return error(t, why);
    return UOp::var(v.name, lo, hi);
  }

  // call -> fn '(' expr (',' expr)* ')', with as many arguments as the op takes
  llvm::Expected<UOp> call(const Token& fn, Op op) {
    if (!at("(")) return expected(fmt::format("'(' after {}", fn.text));
    if (auto e = enter()) return e;
    pos++;
    llvm::SmallVector<UOp, 3> args(op_info(op).arity);
    for (size_t i = 0; i < args.size(); i++) {
      if (i > 0 && !at(",")) return expected(fmt::format("',' after argument {} of {}", i, fn.text));
      if (i > 0) pos++;
      if (auto e = expr().moveInto(args[i])) return e;
    }
    if (!at(")")) return expected(fmt::format("')' after arguments of {}", fn.text));
    pos++;
    depth--; // an error ends the parse, so only success paths leave a level
    return build(op, args, fn);
  }

  llvm::Expected<UOp> parenthesized() {
    const Token& open = toks[pos];
    if (auto e = enter()) return e;
    pos++;
    UOp x;
    if (auto e = expr().moveInto(x)) return e;
    if (!at(")")) return expected(fmt::format("')' to close '(' at {}", position(open)));
    pos++;
    depth--;
    return x;
  }
};

} // namespace

Prec infix_prec(Op op) { return spelling_prec(op_info(op).infix); }

llvm::Expected<UOp> parse_infix(std::string_view text, const VarBounds& bounds) {
  llvm::SmallVector<Token, 32> toks;
  if (auto e = lex(text).moveInto(toks)) return e;
  Parser p{text, bounds, toks};
  UOp u;
  if (auto e = p.expr().moveInto(u)) return e;
  if (p.peek().kind != Tok::END) return p.expected("an operator or end of input");
  return u;
}

} // namespace patgrad::uops
