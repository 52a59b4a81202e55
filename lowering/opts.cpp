// Kernel opts: named actions on a kernel's ranges, applied in order. Each is checked first (an illegal one is an
// error that says why), then marked in the graph, where the rules of the `opts` pass (patterns/opts.pat) carry it out
// before the next is marked. A range is named by its number (r3 is RANGE[3]), which it keeps through every opt.
// Expects the kernel after `index` and `sym`: SINK(END(effect, output ranges...)) or SINK(STORE); its reductions are
// REDUCEs inside the effect.
#include "lowering/lowering.h"
#include <fmt/format.h>
#include <map>

namespace patgrad::lowering {
namespace {

constexpr const char* names[] = {"upcast", "sum", "unroll", "split", "swap", "thread", "pad"};
constexpr int64_t max_copies = 1024; // of a kernel's body, by upcasts, sums and unrolls together: compile time

llvm::Error illegal(const Opt& o, const std::string& why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", to_string(o).c_str(), why.c_str());
}

// The kernel's ranges by number, which of them its outermost END closes (the output loops), and the REDUCEs over each.
struct KernelRanges {
  std::map<int64_t, UOp> by_number;
  std::vector<UOp> outputs; // outermost first
  llvm::DenseMap<const uops::Node*, std::vector<UOp>> reduces;
  bool store_copied = false; // the END's effect is not one STORE: an upcast copied it
};

llvm::Expected<KernelRanges> kernel_ranges(const UOp& ast) {
  KernelRanges k;
  for (const UOp& n : uops::toposort({ast})) {
    if (n->op == Op::RANGE) {
      auto* i = std::get_if<int64_t>(&n->arg);
      if (!i || !k.by_number.emplace(*i, n).second)
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "opts: two ranges of the kernel share number %lld", (long long)(i ? *i : 0));
    }
    if (n->op == Op::REDUCE)
      for (const UOp& r : llvm::drop_begin(n->src)) k.reduces[r.get()].push_back(n);
  }
  if (ast->op == Op::SINK && ast->src.size() == 1 && ast->src[0]->op == Op::END) {
    k.outputs.assign(ast->src[0]->src.begin() + 1, ast->src[0]->src.end());
    k.store_copied = ast->src[0]->src[0]->op != Op::STORE;
  }
  return k;
}

int64_t trips(const UOp& r) { return r->src[0]->op == Op::CONST ? int64_t(r->src[0]->value().i) : 0; }

std::string reduced_by(const UOp& reduce) {
  return std::string(uops::op_info(Op(std::get<int64_t>(reduce->arg))).name);
}

// Why o may not be applied to a kernel with these ranges; empty if it may.
std::string why_not(const Opt& o, const KernelRanges& k) {
  auto find = [&](int64_t n) { return k.by_number.count(n) ? k.by_number.at(n) : UOp(); };
  UOp r = find(o.range);
  if (!r) return fmt::format("the kernel has no range r{}", o.range);
  bool output = llvm::is_contained(k.outputs, r);
  auto reduces = k.reduces.lookup(r.get());
  int64_t n = trips(r);
  if (!output && reduces.empty()) return fmt::format("r{} is neither an output range nor a reduce range", o.range);
  auto divides = [&]() -> std::string {
    if (o.amount < 2) return fmt::format("the factor must be 2 or more, not {}", o.amount);
    if (n % o.amount != 0)
      return fmt::format("r{} has {} trips, which {} does not divide (pad r{}:{} first)", o.range, n, o.amount, o.range,
                         o.amount);
    return "";
  };
  switch (o.kind) {
  case Opt::UPCAST:
    if (!output)
      return fmt::format("r{0} is a reduce range: upcast copies outputs (sum r{0}:k takes partial sums of a reduce "
                         "range, unroll r{0}:k unrolls it)",
                         o.range);
    return divides();
  case Opt::SUM:
  case Opt::UNROLL:
    if (output)
      return fmt::format("r{0} is an output range: {1} takes a reduce range (upcast r{0}:k copies outputs)", o.range,
                         names[o.kind]);
    for (const UOp& red : reduces)
      if (o.kind == Opt::SUM && std::get<int64_t>(red->arg) != int64_t(Op::ADD))
        return fmt::format("r{0} is reduced by {1}: partial sums are for sums (unroll r{0}:k takes any reduction)",
                           o.range, reduced_by(red));
    return divides();
  case Opt::SPLIT:
    if (o.amount >= n) return fmt::format("r{} has {} trips: a split takes a factor below that", o.range, n);
    return divides();
  case Opt::SWAP: {
    UOp s = find(o.amount);
    if (!s) return fmt::format("the kernel has no range r{}", o.amount);
    if (s == r) return "a range swaps with another";
    if (output != llvm::is_contained(k.outputs, s))
      return fmt::format("r{} is {} range and r{} {}: a reduction's loops run inside its outputs'", o.range,
                         output ? "an output" : "a reduce", o.amount, output ? "a reduce range" : "an output range");
    if (!output)
      for (const UOp& red : reduces)
        if (!llvm::is_contained(llvm::drop_begin(red->src), s))
          return fmt::format("r{} and r{} are ranges of different reductions", o.range, o.amount);
    return "";
  }
  case Opt::THREAD:
    if (!output)
      return fmt::format("r{} is a reduce range: threads share output loops (a shared reduce loop would race on its "
                         "accumulator)",
                         o.range);
    if (k.outputs[0] == r) return fmt::format("r{} is the outermost output range already", o.range);
    return "";
  case Opt::PAD:
    if (o.amount < 2) return fmt::format("the multiple must be 2 or more, not {}", o.amount);
    if (n % o.amount == 0) return fmt::format("r{}'s {} trips are a multiple of {} already", o.range, n, o.amount);
    if (output && k.store_copied)
      return fmt::format("pad r{} before the upcasts: the kernel's store has copies already", o.range);
    return "";
  }
  return "unknown opt";
}

} // namespace

std::string to_string(const Opt& o) {
  if (o.kind == Opt::SWAP) return fmt::format("swap r{} r{}", o.range, o.amount);
  if (o.kind == Opt::THREAD) return fmt::format("thread r{}", o.range);
  return fmt::format("{} r{}:{}", names[o.kind], o.range, o.amount);
}

std::string to_string(llvm::ArrayRef<Opt> opts) {
  std::string out;
  for (const Opt& o : opts) out += (out.empty() ? "" : ", ") + to_string(o);
  return out;
}

llvm::Expected<std::vector<Opt>> parse_opts(llvm::StringRef text) {
  std::vector<Opt> out;
  llvm::SmallVector<llvm::StringRef, 8> items;
  text.split(items, ',', -1, false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    auto bad = [&] {
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "bad opt '%s': expected NAME rN:K (upcast, sum, unroll, split, pad), swap rN rM "
                                     "or thread rN",
                                     item.str().c_str());
    };
    auto [name, rest] = item.split(' ');
    const auto* kind = llvm::find(names, name);
    if (kind == std::end(names)) return bad();
    Opt o{Opt::Kind(kind - std::begin(names)), 0};
    auto number = [](llvm::StringRef& s, int64_t& v) { return s.consume_front("r") && !s.consumeInteger(10, v); };
    rest = rest.trim();
    if (!number(rest, o.range)) return bad();
    if (o.kind == Opt::SWAP) {
      rest = rest.ltrim();
      if (!number(rest, o.amount)) return bad();
    } else if (o.kind != Opt::THREAD && (!rest.consume_front(":") || rest.consumeInteger(10, o.amount))) {
      return bad();
    }
    if (!rest.trim().empty()) return bad();
    out.push_back(o);
  }
  return out;
}

std::vector<Opt> opt_actions(const UOp& ast) {
  std::vector<Opt> out;
  auto k = kernel_ranges(ast);
  if (!k) {
    llvm::consumeError(k.takeError());
    return out;
  }
  auto legal = [&](const Opt& o) {
    if (why_not(o, *k).empty()) out.push_back(o);
  };
  for (size_t i = 0; i < k->outputs.size(); i++) {
    int64_t r = std::get<int64_t>(k->outputs[i]->arg);
    for (int64_t f : {2, 3, 4, 5, 6, 7, 8, 16, 32}) legal({Opt::UPCAST, r, f}); // 5-7: rows of small images
    legal({Opt::THREAD, r});
    if (i + 1 < k->outputs.size()) legal({Opt::SWAP, r, std::get<int64_t>(k->outputs[i + 1]->arg)});
  }
  for (auto& [number, r] : k->by_number)
    if (k->reduces.count(r.get()))
      for (int64_t f : {2, 4, 8, 16}) legal({Opt::SUM, number, f}), legal({Opt::UNROLL, number, f});
  return out;
}

bool copies_body(const Opt& o) { return o.kind == Opt::UPCAST || o.kind == Opt::SUM || o.kind == Opt::UNROLL; }

int64_t body_copies(llvm::ArrayRef<Opt> opts) {
  int64_t copies = 1;
  for (const Opt& o : opts)
    if (copies_body(o)) copies *= o.amount;
  return copies;
}

llvm::Error check_opt(const UOp& ast, const Opt& o) {
  auto k = kernel_ranges(ast);
  if (!k) return k.takeError();
  std::string why = why_not(o, *k);
  return why.empty() ? llvm::Error::success() : illegal(o, why);
}

llvm::Expected<UOp> apply_opt(const UOp& ast, const Opt& o, const rewriter::Pass& rules) {
  if (auto e = check_opt(ast, o)) return e;
  KernelRanges k = std::move(*kernel_ranges(ast));
  const UOp& r = k.by_number.at(o.range);
  static constexpr Op marks[] = {Op::UPCAST, Op::UPCAST, Op::UNROLL, Op::SPLIT, Op::SWAP, Op::THREAD, Op::PAD_TO};
  uops::Arg arg;
  if (o.kind == Opt::SPLIT)
    arg = uops::Ints{o.amount, k.by_number.rbegin()->first + 1}; // a new number
  else if (o.kind != Opt::SWAP && o.kind != Opt::THREAD)
    arg = uops::Ints{o.amount};
  auto mark = [&](const UOp& x) {
    llvm::SmallVector<UOp, 3> src{x, r};
    if (o.kind == Opt::SWAP) src.push_back(k.by_number.at(o.amount));
    return UOp::make(marks[o.kind], x->op == Op::REDUCE ? x->dtype : DType::void_, src, arg);
  };
  UOp marked;
  if (llvm::is_contained(k.outputs, r)) { // under the END that closes it
    const UOp& end = ast->src[0];
    llvm::SmallVector<UOp, 6> src(end->src.begin(), end->src.end());
    src[0] = mark(src[0]);
    marked = UOp::make(Op::SINK, ast->dtype, {UOp::make(Op::END, DType::void_, src)}, ast->arg);
  } else { // around each REDUCE over it
    llvm::DenseMap<const uops::Node*, UOp> around;
    for (const UOp& red : k.reduces.lookup(r.get())) around[red.get()] = mark(red);
    marked = uops::substitute(ast, [&](const uops::Node* n) { return around.lookup(n); });
  }
  auto done = rewriter::graph_rewrite(marked, rules);
  if (!done) return done.takeError();
  for (const UOp& n : uops::toposort({*done}))
    if (llvm::is_contained(marks, n->op))
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: no rule of pass '%s' carried out %s",
                                     to_string(o).c_str(), rules.name.c_str(), uops::sexpr(n).c_str());
  return *done;
}

llvm::Expected<UOp> apply_opts(const UOp& ast, llvm::ArrayRef<Opt> opts, const rewriter::Pass& rules) {
  UOp cur = ast;
  int64_t copies = 1;
  for (const Opt& o : opts) {
    if (copies_body(o)) {
      if (o.amount > max_copies / copies)
        return illegal(o, fmt::format("the kernel's body would have more than {} copies", max_copies));
      copies *= std::max<int64_t>(o.amount, 1);
    }
    auto next = apply_opt(cur, o, rules);
    if (!next) return next.takeError();
    cur = *next;
  }
  return cur;
}

} // namespace patgrad::lowering
