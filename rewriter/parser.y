/* Grammar of the pattern language. One expression grammar serves patterns, guards and results; the checker gives
   each position its meaning. Operator precedence is Python's: || && then comparisons, then | ^ & << >> + - * / // %. */
%require "3.8"
%language "c++"
%define api.namespace {patgrad::rewriter}
%define api.parser.class {Parser}
%define api.value.type variant
%define api.token.constructor
%define api.location.type {patgrad::rewriter::Loc}
%define parse.error detailed
%locations
%param {yyscan_t scanner}
%parse-param {patgrad::rewriter::LexState& st}

%code requires {
#include "rewriter/ast.h"
namespace patgrad::rewriter { struct LexState; }
using yyscan_t = void*;
#define YYLLOC_DEFAULT(Cur, Rhs, N) ((Cur) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0))
}
%code {
#include "rewriter/lex_state.h"
#include <fmt/format.h>
// Bison's C++ parser grows its stack without bound: each open bracket, unary operator or `a:` binding holds an entry
// (about 2 KB) until its expression ends. Past max_stack entries the next token is a syntax error instead, which
// error recovery skips to the next ';' or '}'. (yylex is called inside Parser::parse, where yystack_ is the stack.)
constexpr size_t max_stack = 10000;
#define yylex(scanner)                                                                                                 \
  (yystack_.size() > max_stack ? throw syntax_error(st.token_loc(), "expression nested too deeply") : pat_lex(scanner))
namespace {
using namespace patgrad::rewriter;
using E = AstExpr;

// The checker and the matcher compiler recurse over a rule's expressions: one nested deeper than this is an error
// here, where no input can exhaust the stack. Parentheses add no level; real rules nest under 10.
constexpr int max_depth = 256;

// Whether every expression of r nests at most max_depth deep; if not, an error at the first node too deep.
bool shallow_enough(const AstRule& r, Diagnostics& diags) {
  std::vector<std::pair<const AstExpr*, int>> todo; // an explicit stack: this walk must not recurse either
  for (const AstExpr* root : {r.pattern, r.guard, r.result})
    if (root) todo.push_back({root, 1});
  for (const AstBinding& w : r.wheres) todo.push_back({w.value, 1});
  while (!todo.empty()) {
    auto [e, depth] = todo.back();
    todo.pop_back();
    if (depth > max_depth) {
      diags.error(e->loc, fmt::format("expression nested deeper than {} levels", max_depth));
      return false;
    }
    for (const AstExpr* k : e->kids) todo.push_back({k, depth + 1});
    if (e->argb) todo.push_back({e->argb, depth + 1});
  }
  return true;
}
}
}

%token END 0 "end of file"
%token INCLUDE "include" OPSET "opset" DTYPES "dtypes" HOOK "hook" GROUP "group" RENDER "render"
%token EXTENDS "extends" EXTEND "extend" PASS "pass" TYPEMAP "typemap" IF "if" TRUE "true" FALSE "false"
%token TARGET "target" NATIVE "native" WHERE "where" FOR "for" IN "in"
%token ARROW "=>" ELLIPSIS "..." OROR "||" ANDAND "&&" EQ "==" NE "!=" LE "<=" GE ">=" SHL "<<" SHR ">>" IDIV "//"
%token RBRACE_T "}"
%token <std::string> IDENT "name" IDENT_T "typed name" OPNAME "op name" OPNAME_T "typed op name" CPPNAME "hook call"
%token <std::string> STRING "string"
%token <int64_t> INT "integer"
%token <double> FLOAT "float"

%type <AstExpr*> expr postfix primary node srcitem each
%type <std::vector<AstExpr*>> srclist args args_opt
%type <std::vector<std::pair<std::string, Loc>>> names names_opt extends ophead_names
%type <std::pair<std::string, Loc>> tname
%type <std::string> pname
%type <std::vector<AstOption>> kvs popts label
%type <AstOption> kv
%type <TySpec> tyspec
%type <AstRule> rule
%type <std::vector<AstBinding>> wheres binds
%type <AstBinding> bind
%type <std::vector<AstRule>> rules
%type <std::vector<std::pair<AstOption, std::string>>> tmaps
%type <AstExpr*> guard

%left OROR
%left ANDAND
%precedence '!'
%nonassoc EQ NE '<' '>' LE GE
%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' IDIV '%'
%precedence UNARY
%left '.'

%%
file    : %empty | file item ;

item    : INCLUDE STRING ';'                        { st.file.items.push_back({AstItem::INCLUDE, @1, $2}); }
        | OPSET OPNAME '=' '{' names '}' ';'        { st.file.items.push_back({AstItem::OPSET, @2, $2, $5}); }
        | DTYPES IDENT '=' '{' names '}' ';'        { st.file.items.push_back({AstItem::DTYPES, @2, $2, $5}); }
        | HOOK IDENT '(' names_opt ')' ';'          { st.file.items.push_back({AstItem::HOOK, @2, $2, $4}); }
        | GROUP IDENT extends '{' rules '}'         { st.file.items.push_back({AstItem::GROUP, @2, $2, $3, std::move($5)}); }
        | RENDER IDENT extends '{' rules '}'        { st.file.items.push_back({AstItem::RENDER, @2, $2, $3, std::move($5)}); }
        | EXTEND IDENT '{' rules '}'                { st.file.items.push_back({AstItem::EXTEND, @2, $2, {}, std::move($4)}); }
        | TYPEMAP IDENT '{' tmaps '}'               { AstItem it{AstItem::TYPEMAP, @2, $2}; it.typemap = std::move($4);
                                                      st.file.items.push_back(std::move(it)); }
        | PASS pname '=' names popts ';'            { AstItem it{AstItem::PASS, @2, $2, $4}; it.options = std::move($5);
                                                      st.file.items.push_back(std::move(it)); }
        | PASS pname '=' NATIVE popts ';'           { AstItem it{AstItem::PASS, @2, $2}; it.native = true;
                                                      it.options = std::move($5); st.file.items.push_back(std::move(it)); }
        | TARGET tname ';'                          { st.file.items.push_back({AstItem::TARGET, $2.second, $2.first}); }
        | TARGET tname '(' RENDER '=' IDENT ')' ';' { st.file.items.push_back({AstItem::TARGET, $2.second, $2.first, {{$6, @6}}}); }
        | error ';'
        | error '}'
        ;

extends : %empty { } | EXTENDS names { $$ = $2; } ;
popts   : %empty { } | '(' kvs ')' { $$ = $2; } ;
names_opt : %empty { } | names { $$ = $1; } ;
names   : IDENT                                     { $$.push_back({$1, @1}); }
        | OPNAME                                    { $$.push_back({$1, @1}); }
        | names ',' IDENT                           { $$ = $1; $$.push_back({$3, @3}); }
        | names ',' OPNAME                          { $$ = $1; $$.push_back({$3, @3}); }
        ;
tname   : IDENT { $$ = {$1, @1}; } | OPNAME { $$ = {$1, @1}; } ; /* a target: `cpu` or `CPU` */
pname   : IDENT { $$ = $1; } | RENDER { $$ = "render"; } ;         /* a pass: `render` is a stage's name too */
tmaps   : %empty { } | tmaps IDENT '=' STRING ';'   { $$ = $1; $$.push_back({AstOption{$2, "", @2}, $4}); } ;

rules   : %empty { }
        | rules rule                                { $$ = std::move($1); if (shallow_enough($2, st.diags)) $$.push_back(std::move($2)); }
        | rules error ';'                           { $$ = std::move($1); }
        ;
rule    : label expr guard ARROW expr wheres ';'    { $$ = AstRule{@2, $1, $2, $3, $5, std::move($6)}; if (!$1.empty()) $$.loc = $1[0].loc; } ;
wheres  : %empty { } | WHERE binds { $$ = std::move($2); } ;
binds   : bind { $$.push_back($1); } | binds ',' bind { $$ = std::move($1); $$.push_back($3); } ;
bind    : IDENT '=' expr                            { $$ = AstBinding{$1, @1, $3}; }
        | IDENT '=' each                            { $$ = AstBinding{$1, @1, $3}; }
        ;
label   : %empty { } | '[' kvs ']' { $$ = $2; } ;
guard   : %empty { $$ = nullptr; } | IF expr { $$ = $2; } ;
kvs     : kv { $$.push_back($1); } | kvs ',' kv { $$ = $1; $$.push_back($3); } ;
kv      : IDENT                                     { $$ = AstOption{$1, "", @1}; }
        | IDENT '=' INT                             { $$ = AstOption{$1, std::to_string($3), @1}; }
        | IDENT '=' '-' INT                         { $$ = AstOption{$1, "-" + std::to_string($4), @1}; }
        | IDENT '=' IDENT                           { $$ = AstOption{$1, $3, @1}; }
        | IDENT '=' RENDER                          { $$ = AstOption{$1, "render", @1}; } /* before=render */
        | IDENT '=' STRING                          { $$ = AstOption{$1, $3, @1}; }
        | TARGET '=' tname                          { $$ = AstOption{"target", $3.first, @1}; }
        ;

expr    : expr OROR expr                            { $$ = st.file.make(E::BINARY, @2); $$->text = "||"; $$->kids = {$1, $3}; }
        | expr ANDAND expr                          { $$ = st.file.make(E::BINARY, @2); $$->text = "&&"; $$->kids = {$1, $3}; }
        | expr EQ expr                              { $$ = st.file.make(E::BINARY, @2); $$->text = "=="; $$->kids = {$1, $3}; }
        | expr NE expr                              { $$ = st.file.make(E::BINARY, @2); $$->text = "!="; $$->kids = {$1, $3}; }
        | expr '<' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "<"; $$->kids = {$1, $3}; }
        | expr '>' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = ">"; $$->kids = {$1, $3}; }
        | expr LE expr                              { $$ = st.file.make(E::BINARY, @2); $$->text = "<="; $$->kids = {$1, $3}; }
        | expr GE expr                              { $$ = st.file.make(E::BINARY, @2); $$->text = ">="; $$->kids = {$1, $3}; }
        | expr '|' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "|"; $$->kids = {$1, $3}; }
        | expr '^' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "^"; $$->kids = {$1, $3}; }
        | expr '&' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "&"; $$->kids = {$1, $3}; }
        | expr SHL expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "<<"; $$->kids = {$1, $3}; }
        | expr SHR expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = ">>"; $$->kids = {$1, $3}; }
        | expr '+' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "+"; $$->kids = {$1, $3}; }
        | expr '-' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "-"; $$->kids = {$1, $3}; }
        | expr '*' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "*"; $$->kids = {$1, $3}; }
        | expr '/' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "/"; $$->kids = {$1, $3}; }
        | expr IDIV expr                            { $$ = st.file.make(E::BINARY, @2); $$->text = "//"; $$->kids = {$1, $3}; }
        | expr '%' expr                             { $$ = st.file.make(E::BINARY, @2); $$->text = "%"; $$->kids = {$1, $3}; }
        | '-' expr %prec UNARY                      { $$ = st.file.make(E::UNARY, @1); $$->text = "-"; $$->kids = {$2}; }
        | '!' expr                                  { $$ = st.file.make(E::UNARY, @1); $$->text = "!"; $$->kids = {$2}; }
        | postfix                                   { $$ = $1; }
        ;
postfix : primary                                   { $$ = $1; }
        | postfix '.' IDENT                         { $$ = st.file.make(E::FIELD, @3); $$->text = $3; $$->kids = {$1}; }
        ;
primary : INT                                       { $$ = st.file.make(E::INT, @1); $$->ival = $1; }
        | FLOAT                                     { $$ = st.file.make(E::FLOAT, @1); $$->fval = $1; }
        | STRING                                    { $$ = st.file.make(E::STRING, @1); $$->text = $1; }
        | TRUE                                      { $$ = st.file.make(E::TRUE_, @1); }
        | FALSE                                     { $$ = st.file.make(E::FALSE_, @1); }
        | IDENT                                     { $$ = st.file.make(E::NAME, @1); $$->text = $1; }
        | IDENT_T tyspec                            { $$ = st.file.make(E::TYPED, @1); $$->text = $1; $$->ty = $2; }
        | IDENT ':' primary                         { $$ = st.file.make(E::BIND, @1); $$->text = $1; $$->kids = {$3}; }
        | node                                      { $$ = $1; }
        | IDENT '(' args_opt ')'                    { $$ = st.file.make(E::CALL, @1); $$->text = $1; $$->kids = $3; }
        | IDENT_T tyspec '(' args_opt ')'           { $$ = st.file.make(E::CALL, @1); $$->text = $1; $$->ty = $2; $$->kids = $4; }
        | CPPNAME '(' args_opt ')'                  { $$ = st.file.make(E::CPP, @1); $$->text = $1; $$->kids = $3; }
        | '(' expr ')'                              { $$ = $2; }
        | '(' srcitem ',' srclist ')'               { $$ = st.file.make(E::TUPLE, @1); $$->kids = {$2};
                                                      $$->kids.insert($$->kids.end(), $4.begin(), $4.end()); }
        ;
node    : OPNAME                                    { $$ = st.file.make(E::NODE, @1); $$->opnames = {{$1, @1}}; }
        | OPNAME_T tyspec                           { $$ = st.file.make(E::NODE, @1); $$->opnames = {{$1, @1}}; $$->ty = $2; }
        | '{' ophead_names '}'                      { $$ = st.file.make(E::NODE, @1); $$->opnames = $2; }
        | '{' ophead_names RBRACE_T tyspec          { $$ = st.file.make(E::NODE, @1); $$->opnames = $2; $$->ty = $4; }
        | node '(' ')'                              { $$ = $1; $$->has_srcs = true; }
        | node '(' srclist ')'                      { $$ = $1; $$->has_srcs = true; $$->kids = $3; }
        | node '[' expr ']'                         { $$ = $1; $$->argb = $3; }
        ;
ophead_names : OPNAME                               { $$.push_back({$1, @1}); }
        | ophead_names ',' OPNAME                   { $$ = $1; $$.push_back({$3, @3}); }
        ;
tyspec  : '<' IDENT '>'                             { $$ = TySpec{"", $2, @2}; }
        | '<' IDENT ':' IDENT '>'                   { $$ = TySpec{$2, $4, @2}; }
        ;
srclist : srcitem                                   { $$.push_back($1); }
        | srclist ',' srcitem                       { $$ = $1; $$.push_back($3); }
        ;
srcitem : expr                                      { $$ = $1; }
        | ELLIPSIS                                  { $$ = st.file.make(E::ELLIPSIS, @1); }
        | ELLIPSIS IDENT                            { $$ = st.file.make(E::ELLIPSIS, @1); $$->text = $2; }
        | ELLIPSIS IDENT '(' args_opt ')'           { $$ = st.file.make(E::ELLIPSIS, @1); $$->kids = {st.file.make(E::CALL, @2)};
                                                      $$->kids[0]->text = $2; $$->kids[0]->kids = $4; }
        | ELLIPSIS each                             { $$ = st.file.make(E::ELLIPSIS, @1); $$->kids = {$2}; }
        ;
each    : '[' expr FOR names IN args ']'            { $$ = st.file.make(E::EACH, @1); $$->kids = {$2}; $$->opnames = $4;
                                                      $$->kids.insert($$->kids.end(), $6.begin(), $6.end()); }
        ;
args_opt : %empty { } | args { $$ = $1; } ;
args    : srcitem                                   { $$.push_back($1); }
        | args ',' srcitem                          { $$ = $1; $$.push_back($3); }
        ;
%%

void patgrad::rewriter::Parser::error(const Loc& loc, const std::string& message) { st.diags.error(loc, message); }
