/* Grammar of the script language: Python's, for the subset the interpreter runs. Each nonterminal follows
   Python's grammar of the same name (test, or_test, comparison, expr, term, factor, power, atom, trailer); a
   target (of =, for, del) is parsed as an expression and checked by check_target. */
%require "3.8"
%language "c++"
%define api.namespace {patgrad::script}
%define api.parser.class {Parser}
%define api.value.type variant
%define api.token.constructor
%define api.location.type {patgrad::script::Loc}
%define parse.error detailed
%locations
%param {yyscan_t scanner}
%parse-param {patgrad::script::LexState& st}

%code requires {
#include "frontend/script/ast.h"
namespace patgrad::script { struct LexState; }
using yyscan_t = void*;
#define YYLLOC_DEFAULT(Cur, Rhs, N) ((Cur) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0))
namespace patgrad::script {
// A comma-separated list: one item without a comma is the item itself, otherwise a tuple.
struct ExprList {
  std::vector<Expr*> items;
  bool comma = false;
};
}
}
%code {
#include "frontend/script/lex_state.h"
#define yylex script_lex
namespace {
using namespace patgrad::script;

Expr* tuple_or_item(LexState& st, ExprList l, Loc at) {
  if (l.items.size() == 1 && !l.comma) return l.items[0];
  auto* t = st.mod.make<SeqExpr>(l.items.empty() ? at : l.items[0]->loc, ExprKind::Tuple);
  t->elts = std::move(l.items);
  return t;
}

Expr* binary(LexState& st, Loc at, BinOp op, Expr* a, Expr* b) {
  auto* e = st.mod.make<BinaryExpr>(at);
  e->op = op, e->lhs = a, e->rhs = b;
  return e;
}

Expr* unary(LexState& st, Loc at, UnOp op, Expr* a) {
  auto* e = st.mod.make<UnaryExpr>(at);
  e->op = op, e->operand = a;
  return e;
}

ConstExpr* constant(LexState& st, Loc at, ConstExpr::Type t) {
  auto* e = st.mod.make<ConstExpr>(at);
  e->type = t;
  return e;
}

// Names, attributes, subscripts and tuples or lists of them can be assigned to.
void check_target(LexState& st, Expr* e, const char* what) {
  switch (e->kind) {
  case ExprKind::Name: case ExprKind::Attr: case ExprKind::Index: return;
  case ExprKind::Tuple: case ExprKind::List:
    for (Expr* x : static_cast<SeqExpr*>(e)->elts) check_target(st, x, what);
    return;
  case ExprKind::Starred: return check_target(st, static_cast<StarredExpr*>(e)->value, what);
  default: throw Parser::syntax_error(e->loc, std::string("cannot ") + what + " this expression");
  }
}

// break and continue belong in loops, return in functions; blocks nest at most 100 deep (the lexer's limit)
void check_flow(LexState& st, const Block& b, bool in_loop, bool in_def) {
  for (const Stmt* s : b) {
    switch (s->kind) {
    case StmtKind::Break: if (!in_loop) throw Parser::syntax_error(s->loc, "'break' outside loop"); break;
    case StmtKind::Continue: if (!in_loop) throw Parser::syntax_error(s->loc, "'continue' not properly in loop"); break;
    case StmtKind::Return: if (!in_def) throw Parser::syntax_error(s->loc, "'return' outside function"); break;
    case StmtKind::If:
      for (auto& [c, body] : static_cast<const IfStmt*>(s)->branches) check_flow(st, body, in_loop, in_def);
      check_flow(st, static_cast<const IfStmt*>(s)->orelse, in_loop, in_def);
      break;
    case StmtKind::While:
      check_flow(st, static_cast<const WhileStmt*>(s)->body, true, in_def);
      check_flow(st, static_cast<const WhileStmt*>(s)->orelse, in_loop, in_def);
      break;
    case StmtKind::For:
      check_flow(st, static_cast<const ForStmt*>(s)->body, true, in_def);
      check_flow(st, static_cast<const ForStmt*>(s)->orelse, in_loop, in_def);
      break;
    case StmtKind::Def: check_flow(st, static_cast<const DefStmt*>(s)->body, false, true); break;
    case StmtKind::Class: check_flow(st, static_cast<const ClassStmt*>(s)->body, false, false); break;
    default: break;
    }
  }
}

Expr* comp(LexState& st, Loc at, Expr* key, Expr* elt, std::vector<CompClause> clauses) {
  auto* c = st.mod.make<CompExpr>(at);
  c->is_dict = key != nullptr, c->key = key, c->elt = elt, c->clauses = std::move(clauses);
  return c;
}
}
}

%token END 0 "end of file"
%token NEWLINE "newline" INDENT "indent" DEDENT "dedent" START_EXPR "expression start"
%token DEF "def" CLASS "class" IF "if" ELIF "elif" ELSE "else" WHILE "while" FOR "for" IN "in" RETURN "return"
%token BREAK "break" CONTINUE "continue" PASS "pass" IMPORT "import" FROM "from" AS "as" GLOBAL "global"
%token ASSERT "assert" LAMBDA "lambda" AND "and" OR "or" NOT "not" IS "is" DEL "del" NONE "None" TRUE "True"
%token FALSE "False"
%token POW "**" IDIV "//" SHL "<<" SHR ">>" LE "<=" GE ">=" EQ "==" NE "!=" ARROW "->" ELLIPSIS "..."
%token ADD_EQ "+=" SUB_EQ "-=" MUL_EQ "*=" DIV_EQ "/=" IDIV_EQ "//=" MOD_EQ "%=" POW_EQ "**=" MAT_EQ "@="
%token AND_EQ "&=" OR_EQ "|=" XOR_EQ "^=" SHL_EQ "<<=" SHR_EQ ">>="
%token <std::string> NAME "name" STRING "string"
%token <Expr*> FSTRING "f-string"
%token <int64_t> INT "integer"
%token <double> FLOAT "float"

%type <Block> stmts stmt simple_stmt small_stmts suite else_opt
%type <Stmt*> small_stmt compound_stmt expr_stmt import_stmt
%type <DefStmt*> funcdef
%type <std::vector<Expr*>> decorators
%type <std::vector<std::pair<Expr*, Block>>> elifs
%type <std::vector<Expr*>> eq_chain
%type <BinOp> augop
%type <Expr*> test or_test and_test not_test comparison expr xor_expr and_expr shift_expr arith_expr term factor
%type <Expr*> power postfix atom strings testlist testlist_star test_or_star exprlist expr_or_star lambdef
%type <Expr*> subscripts subscript test_opt paren_body bracket_body brace_body
%type <ExprList> test_items expr_items sub_items
%type <std::vector<std::pair<Expr*, Expr*>>> dict_items
%type <CmpOp> comp_op
%type <std::vector<CompClause>> comp_for
%type <std::vector<Arg>> arglist args
%type <Arg> arg
%type <std::vector<Param>> params_opt params lparams_opt lparams
%type <Param> param lparam
%type <std::vector<std::string>> names
%type <std::string> dotted
%type <std::vector<ImportName>> import_as_list dotted_as_list
%type <ImportName> import_as dotted_as

%start start

%%
start   : stmts END                                 { check_flow(st, $1, false, false); st.mod.body = std::move($1); }
        | START_EXPR testlist END                   { st.expr_result = $2; }
        ;

stmts   : %empty                                    { }
        | stmts stmt                                { $$ = std::move($1); $$.insert($$.end(), $2.begin(), $2.end()); }
        ;

stmt    : simple_stmt                               { $$ = std::move($1); }
        | compound_stmt                             { $$ = {$1}; }
        ;

simple_stmt : small_stmts NEWLINE                   { $$ = std::move($1); }
        | small_stmts ';' NEWLINE                   { $$ = std::move($1); }
        ;

small_stmts : small_stmt                            { $$ = {$1}; }
        | small_stmts ';' small_stmt                { $$ = std::move($1); $$.push_back($3); }
        ;

small_stmt : expr_stmt                              { $$ = $1; }
        | PASS                                      { $$ = st.mod.make<SimpleStmt>(@1, StmtKind::Pass); }
        | BREAK                                     { $$ = st.mod.make<SimpleStmt>(@1, StmtKind::Break); }
        | CONTINUE                                  { $$ = st.mod.make<SimpleStmt>(@1, StmtKind::Continue); }
        | RETURN                                    { $$ = st.mod.make<ReturnStmt>(@1); }
        | RETURN testlist_star                      { auto* s = st.mod.make<ReturnStmt>(@1); s->value = $2; $$ = s; }
        | GLOBAL names                              { auto* s = st.mod.make<GlobalStmt>(@1); s->names = std::move($2); $$ = s; }
        | ASSERT test                               { auto* s = st.mod.make<AssertStmt>(@1); s->test = $2; $$ = s; }
        | ASSERT test ',' test                      { auto* s = st.mod.make<AssertStmt>(@1); s->test = $2; s->msg = $4; $$ = s; }
        | DEL exprlist                              { auto* s = st.mod.make<DelStmt>(@1);
                                                      if ($2->kind == ExprKind::Tuple) s->targets = static_cast<SeqExpr*>($2)->elts;
                                                      else s->targets = {$2};
                                                      for (Expr* t : s->targets) check_target(st, t, "delete");
                                                      $$ = s; }
        | import_stmt                               { $$ = $1; }
        ;

names   : NAME                                      { $$ = {$1}; }
        | names ',' NAME                            { $$ = std::move($1); $$.push_back($3); }
        ;

expr_stmt : testlist_star                           { auto* s = st.mod.make<ExprStmt>($1->loc); s->value = $1; $$ = s; }
        | eq_chain                                  { auto* s = st.mod.make<AssignStmt>($1[0]->loc);
                                                      s->value = $1.back(); $1.pop_back();
                                                      for (Expr* t : $1) check_target(st, t, "assign to");
                                                      s->targets = std::move($1); $$ = s; }
        | testlist_star augop testlist_star         { check_target(st, $1, "assign to");
                                                      if ($1->kind == ExprKind::Tuple || $1->kind == ExprKind::List)
                                                        throw syntax_error(@2, "illegal expression for augmented assignment");
                                                      auto* s = st.mod.make<AugAssignStmt>(@2);
                                                      s->target = $1, s->op = $2, s->value = $3; $$ = s; }
        ;

eq_chain : testlist_star '=' testlist_star          { $$ = {$1, $3}; }
        | eq_chain '=' testlist_star                { $$ = std::move($1); $$.push_back($3); }
        ;

augop   : ADD_EQ { $$ = BinOp::Add; } | SUB_EQ { $$ = BinOp::Sub; } | MUL_EQ { $$ = BinOp::Mul; }
        | DIV_EQ { $$ = BinOp::Div; } | IDIV_EQ { $$ = BinOp::FloorDiv; } | MOD_EQ { $$ = BinOp::Mod; }
        | POW_EQ { $$ = BinOp::Pow; } | MAT_EQ { $$ = BinOp::MatMul; } | AND_EQ { $$ = BinOp::BitAnd; }
        | OR_EQ { $$ = BinOp::BitOr; } | XOR_EQ { $$ = BinOp::BitXor; } | SHL_EQ { $$ = BinOp::LShift; }
        | SHR_EQ { $$ = BinOp::RShift; }
        ;

import_stmt : IMPORT dotted_as_list                 { auto* s = st.mod.make<ImportStmt>(@1); s->names = std::move($2); $$ = s; }
        | FROM dotted IMPORT import_as_list         { auto* s = st.mod.make<FromImportStmt>(@1); s->module = $2;
                                                      s->names = std::move($4); $$ = s; }
        | FROM dotted IMPORT '(' import_as_list ')' { auto* s = st.mod.make<FromImportStmt>(@1); s->module = $2;
                                                      s->names = std::move($5); $$ = s; }
        | FROM dotted IMPORT '*'                    { auto* s = st.mod.make<FromImportStmt>(@1); s->module = $2; $$ = s; }
        ;

dotted  : NAME                                      { $$ = $1; }
        | dotted '.' NAME                           { $$ = $1 + "." + $3; }
        ;

dotted_as_list : dotted_as                          { $$ = {$1}; }
        | dotted_as_list ',' dotted_as              { $$ = std::move($1); $$.push_back($3); }
        ;
dotted_as : dotted                                  { $$ = ImportName{$1, "", @1}; }
        | dotted AS NAME                            { $$ = ImportName{$1, $3, @1}; }
        ;
import_as_list : import_as                          { $$ = {$1}; }
        | import_as_list ',' import_as              { $$ = std::move($1); $$.push_back($3); }
        ;
import_as : NAME                                    { $$ = ImportName{$1, "", @1}; }
        | NAME AS NAME                              { $$ = ImportName{$1, $3, @1}; }
        ;

compound_stmt
        : IF test ':' suite elifs else_opt          { auto* s = st.mod.make<IfStmt>(@1);
                                                      s->branches.emplace_back($2, std::move($4));
                                                      for (auto& b : $5) s->branches.push_back(std::move(b));
                                                      s->orelse = std::move($6); $$ = s; }
        | WHILE test ':' suite else_opt             { auto* s = st.mod.make<WhileStmt>(@1); s->cond = $2;
                                                      s->body = std::move($4); s->orelse = std::move($5); $$ = s; }
        | FOR exprlist IN testlist ':' suite else_opt
                                                    { check_target(st, $2, "assign to");
                                                      auto* s = st.mod.make<ForStmt>(@1); s->target = $2; s->iter = $4;
                                                      s->body = std::move($6); s->orelse = std::move($7); $$ = s; }
        | funcdef                                   { $$ = $1; }
        | decorators funcdef                        { $2->decorators = std::move($1); $$ = $2; }
        | CLASS NAME ':' suite                      { auto* s = st.mod.make<ClassStmt>(@1); s->name = $2;
                                                      s->body = std::move($4); $$ = s; }
        | CLASS NAME '(' ')' ':' suite              { auto* s = st.mod.make<ClassStmt>(@1); s->name = $2;
                                                      s->body = std::move($6); $$ = s; }
        | CLASS NAME '(' test ')' ':' suite         { auto* s = st.mod.make<ClassStmt>(@1); s->name = $2; s->base = $4;
                                                      s->body = std::move($7); $$ = s; }
        ;

funcdef : DEF NAME '(' params_opt ')' ':' suite     { auto* s = st.mod.make<DefStmt>(@1); s->name = $2;
                                                      s->params = std::move($4); s->body = std::move($7); $$ = s; }
        | DEF NAME '(' params_opt ')' ARROW test ':' suite
                                                    { auto* s = st.mod.make<DefStmt>(@1); s->name = $2;
                                                      s->params = std::move($4); s->body = std::move($9); $$ = s; }
        ;

decorators : '@' test NEWLINE                       { $$ = {$2}; }
        | decorators '@' test NEWLINE               { $$ = std::move($1); $$.push_back($3); }
        ;

elifs   : %empty                                    { }
        | elifs ELIF test ':' suite                 { $$ = std::move($1); $$.emplace_back($3, std::move($5)); }
        ;
else_opt : %empty                                   { }
        | ELSE ':' suite                            { $$ = std::move($3); }
        ;

suite   : simple_stmt                               { $$ = std::move($1); }
        | NEWLINE INDENT stmts DEDENT               { $$ = std::move($3);
                                                      if ($$.empty()) throw syntax_error(@2, "expected an indented block"); }
        ;

params_opt : %empty                                 { }
        | params                                    { $$ = std::move($1); }
        | params ','                                { $$ = std::move($1); }
        ;
params  : param                                     { $$ = {$1}; }
        | params ',' param                          { $$ = std::move($1); $$.push_back($3); }
        ;
param   : NAME                                      { $$ = Param{$1, nullptr, 0, @1}; }
        | NAME '=' test                             { $$ = Param{$1, $3, 0, @1}; }
        | NAME ':' test                             { $$ = Param{$1, nullptr, 0, @1}; }
        | NAME ':' test '=' test                    { $$ = Param{$1, $5, 0, @1}; }
        | '*' NAME                                  { $$ = Param{$2, nullptr, 1, @2}; }
        | POW NAME                                  { $$ = Param{$2, nullptr, 2, @2}; }
        ;
lparams_opt : %empty                                { }
        | lparams                                   { $$ = std::move($1); }
        ;
lparams : lparam                                    { $$ = {$1}; }
        | lparams ',' lparam                        { $$ = std::move($1); $$.push_back($3); }
        ;
lparam  : NAME                                      { $$ = Param{$1, nullptr, 0, @1}; }
        | NAME '=' test                             { $$ = Param{$1, $3, 0, @1}; }
        | '*' NAME                                  { $$ = Param{$2, nullptr, 1, @2}; }
        | POW NAME                                  { $$ = Param{$2, nullptr, 2, @2}; }
        ;

/* ---- expressions */
testlist_star : test_items                          { $$ = tuple_or_item(st, std::move($1), @1); }
        ;
testlist : test_items                               { $$ = tuple_or_item(st, std::move($1), @1); }
        ;
test_items : test_or_star                           { $$.items = {$1}; }
        | test_items ',' test_or_star               { $$ = std::move($1); $$.items.push_back($3); }
        | test_items ','                            { $$ = std::move($1); $$.comma = true; }
        ;
test_or_star : test                                 { $$ = $1; }
        | '*' expr                                  { auto* s = st.mod.make<StarredExpr>(@1); s->value = $2; $$ = s; }
        ;
exprlist : expr_items                               { $$ = tuple_or_item(st, std::move($1), @1); }
        ;
expr_items : expr_or_star                           { $$.items = {$1}; }
        | expr_items ',' expr_or_star               { $$ = std::move($1); $$.items.push_back($3); }
        | expr_items ','                            { $$ = std::move($1); $$.comma = true; }
        ;
expr_or_star : expr                                 { $$ = $1; }
        | '*' expr                                  { auto* s = st.mod.make<StarredExpr>(@1); s->value = $2; $$ = s; }
        ;

test    : or_test                                   { $$ = $1; }
        | or_test IF or_test ELSE test              { auto* e = st.mod.make<IfExpr>(@2); e->then = $1; e->cond = $3;
                                                      e->orelse = $5; $$ = e; }
        | lambdef                                   { $$ = $1; }
        ;
lambdef : LAMBDA lparams_opt ':' test               { auto* e = st.mod.make<LambdaExpr>(@1); e->params = std::move($2);
                                                      e->body = $4; $$ = e; }
        ;
or_test : and_test                                  { $$ = $1; }
        | or_test OR and_test                       { auto* e = st.mod.make<BoolOpExpr>(@2); e->is_and = false;
                                                      e->lhs = $1; e->rhs = $3; $$ = e; }
        ;
and_test : not_test                                 { $$ = $1; }
        | and_test AND not_test                     { auto* e = st.mod.make<BoolOpExpr>(@2); e->lhs = $1; e->rhs = $3; $$ = e; }
        ;
not_test : NOT not_test                             { $$ = unary(st, @1, UnOp::Not, $2); }
        | comparison                                { $$ = $1; }
        ;
comparison : expr                                   { $$ = $1; }
        | comparison comp_op expr                   { CompareExpr* c;
                                                      if ($1->kind == ExprKind::Compare) c = static_cast<CompareExpr*>($1);
                                                      else c = st.mod.make<CompareExpr>(@2), c->first = $1;
                                                      c->rest.emplace_back($2, $3); $$ = c; }
        ;
comp_op : '<' { $$ = CmpOp::Lt; } | '>' { $$ = CmpOp::Gt; } | EQ { $$ = CmpOp::Eq; } | GE { $$ = CmpOp::Ge; }
        | LE { $$ = CmpOp::Le; } | NE { $$ = CmpOp::Ne; } | IN { $$ = CmpOp::In; } | NOT IN { $$ = CmpOp::NotIn; }
        | IS { $$ = CmpOp::Is; } | IS NOT { $$ = CmpOp::IsNot; }
        ;
expr    : xor_expr                                  { $$ = $1; }
        | expr '|' xor_expr                         { $$ = binary(st, @2, BinOp::BitOr, $1, $3); }
        ;
xor_expr : and_expr                                 { $$ = $1; }
        | xor_expr '^' and_expr                     { $$ = binary(st, @2, BinOp::BitXor, $1, $3); }
        ;
and_expr : shift_expr                               { $$ = $1; }
        | and_expr '&' shift_expr                   { $$ = binary(st, @2, BinOp::BitAnd, $1, $3); }
        ;
shift_expr : arith_expr                             { $$ = $1; }
        | shift_expr SHL arith_expr                 { $$ = binary(st, @2, BinOp::LShift, $1, $3); }
        | shift_expr SHR arith_expr                 { $$ = binary(st, @2, BinOp::RShift, $1, $3); }
        ;
arith_expr : term                                   { $$ = $1; }
        | arith_expr '+' term                       { $$ = binary(st, @2, BinOp::Add, $1, $3); }
        | arith_expr '-' term                       { $$ = binary(st, @2, BinOp::Sub, $1, $3); }
        ;
term    : factor                                    { $$ = $1; }
        | term '*' factor                           { $$ = binary(st, @2, BinOp::Mul, $1, $3); }
        | term '/' factor                           { $$ = binary(st, @2, BinOp::Div, $1, $3); }
        | term IDIV factor                          { $$ = binary(st, @2, BinOp::FloorDiv, $1, $3); }
        | term '%' factor                           { $$ = binary(st, @2, BinOp::Mod, $1, $3); }
        | term '@' factor                           { $$ = binary(st, @2, BinOp::MatMul, $1, $3); }
        ;
factor  : '+' factor                                { $$ = unary(st, @1, UnOp::Pos, $2); }
        | '-' factor                                { $$ = unary(st, @1, UnOp::Neg, $2); }
        | '~' factor                                { $$ = unary(st, @1, UnOp::Invert, $2); }
        | power                                     { $$ = $1; }
        ;
power   : postfix                                   { $$ = $1; }
        | postfix POW factor                        { $$ = binary(st, @2, BinOp::Pow, $1, $3); }
        ;
postfix : atom                                      { $$ = $1; }
        | postfix '(' arglist ')'                   { auto* e = st.mod.make<CallExpr>(@2); e->fn = $1;
                                                      e->args = std::move($3); $$ = e; }
        | postfix '[' subscripts ']'                { auto* e = st.mod.make<IndexExpr>(@2); e->obj = $1; e->index = $3; $$ = e; }
        | postfix '.' NAME                          { auto* e = st.mod.make<AttrExpr>(@3); e->obj = $1; e->attr = $3; $$ = e; }
        ;
atom    : NAME                                      { auto* e = st.mod.make<NameExpr>(@1); e->id = $1; $$ = e; }
        | INT                                       { auto* e = constant(st, @1, ConstExpr::Int); e->i = $1; $$ = e; }
        | FLOAT                                     { auto* e = constant(st, @1, ConstExpr::Float); e->f = $1; $$ = e; }
        | strings                                   { $$ = $1; }
        | NONE                                      { $$ = constant(st, @1, ConstExpr::None); }
        | TRUE                                      { auto* e = constant(st, @1, ConstExpr::Bool); e->i = 1; $$ = e; }
        | FALSE                                     { $$ = constant(st, @1, ConstExpr::Bool); }
        | '(' paren_body ')'                        { $$ = $2; }
        | '[' bracket_body ']'                      { $$ = $2; }
        | '{' brace_body '}'                        { $$ = $2; }
        ;
strings : STRING                                    { auto* e = constant(st, @1, ConstExpr::Str); e->s = std::move($1); $$ = e; }
        | FSTRING                                   { $$ = $1; }
        | strings STRING                            { auto* e = constant(st, @2, ConstExpr::Str); e->s = std::move($2); $$ = st.concat($1, e); }
        | strings FSTRING                           { $$ = st.concat($1, $2); }
        ;
paren_body : %empty                                 { $$ = st.mod.make<SeqExpr>(@$, ExprKind::Tuple); }
        | test_items                                { if ($1.items.size() == 1 && !$1.comma && $1.items[0]->kind == ExprKind::Starred)
                                                        throw syntax_error(@1, "cannot use starred expression here");
                                                      $$ = tuple_or_item(st, std::move($1), @1); }
        | test comp_for                             { $$ = comp(st, @1, nullptr, $1, std::move($2)); }
        ;
bracket_body : %empty                               { $$ = st.mod.make<SeqExpr>(@$, ExprKind::List); }
        | test_items                                { auto* e = st.mod.make<SeqExpr>(@1, ExprKind::List);
                                                      e->elts = std::move($1.items); $$ = e; }
        | test comp_for                             { $$ = comp(st, @1, nullptr, $1, std::move($2)); }
        ;
brace_body : %empty                                 { $$ = st.mod.make<DictExpr>(@$); }
        | dict_items                                { auto* e = st.mod.make<DictExpr>(@1);
                                                      for (auto& [k, v] : $1) e->keys.push_back(k), e->values.push_back(v);
                                                      $$ = e; }
        | dict_items ','                            { auto* e = st.mod.make<DictExpr>(@1);
                                                      for (auto& [k, v] : $1) e->keys.push_back(k), e->values.push_back(v);
                                                      $$ = e; }
        | test ':' test comp_for                    { $$ = comp(st, @1, $1, $3, std::move($4)); }
        ;
dict_items : test ':' test                          { $$ = {{$1, $3}}; }
        | dict_items ',' test ':' test              { $$ = std::move($1); $$.emplace_back($3, $5); }
        ;
comp_for : FOR exprlist IN or_test                 { check_target(st, $2, "assign to"); $$ = {CompClause{$2, $4}}; }
        | comp_for FOR exprlist IN or_test          { check_target(st, $3, "assign to");
                                                      $$ = std::move($1); $$.push_back(CompClause{$3, $5}); }
        | comp_for IF or_test                       { $$ = std::move($1); $$.push_back(CompClause{nullptr, $3}); }
        ;
subscripts : sub_items                              { $$ = tuple_or_item(st, std::move($1), @1); }
        ;
sub_items : subscript                               { $$.items = {$1}; }
        | sub_items ',' subscript                   { $$ = std::move($1); $$.items.push_back($3); }
        | sub_items ','                             { $$ = std::move($1); $$.comma = true; }
        ;
subscript : test                                    { $$ = $1; }
        | test_opt ':' test_opt                     { auto* e = st.mod.make<SliceExpr>(@2); e->lo = $1; e->hi = $3; $$ = e; }
        | test_opt ':' test_opt ':' test_opt        { auto* e = st.mod.make<SliceExpr>(@2); e->lo = $1; e->hi = $3;
                                                      e->step = $5; $$ = e; }
        ;
test_opt : %empty                                   { $$ = nullptr; }
        | test                                      { $$ = $1; }
        ;
arglist : %empty                                    { }
        | args                                      { $$ = std::move($1); }
        | args ','                                  { $$ = std::move($1); }
        ;
args    : arg                                       { $$ = {$1}; }
        | args ',' arg                              { $$ = std::move($1); $$.push_back($3); }
        ;
arg     : test                                      { $$ = Arg{"", $1, 0}; }
        | test '=' test                             { if ($1->kind != ExprKind::Name)
                                                        throw syntax_error(@2, "expression cannot contain assignment, perhaps you meant \"==\"?");
                                                      $$ = Arg{static_cast<NameExpr*>($1)->id, $3, 0}; }
        | '*' test                                  { $$ = Arg{"", $2, 1}; }
        | POW test                                  { $$ = Arg{"", $2, 2}; }
        | test comp_for                             { $$ = Arg{"", comp(st, @1, nullptr, $1, std::move($2)), 0}; }
        ;
%%

void patgrad::script::Parser::error(const Loc& loc, const std::string& message) {
  st.err.loc = loc;
  std::string m = message;
  if (m.starts_with("syntax error, ")) m = m.substr(14);
  st.err.message = m;
}
