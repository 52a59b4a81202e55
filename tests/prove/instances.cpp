// The instances of a rule, found the way a type checker unifies: every op set is split into its ops, and nodes that
// must share a dtype (a SAME op and its sources, the sources of a comparison, the branches of a WHERE, a repeated
// capture, a dtype variable) form one class, which ranges over the integer and bool dtypes all its nodes allow.
// Float dtypes are left out: floats are the fuzzer's.
#include "tests/prove/prove.h"
#include <algorithm>
#include <set>

namespace patgrad::prove {
namespace {

constexpr uops::DTypeSet proof_dtypes = uops::INT | uops::BOOL;

struct Classes {
  std::vector<int> parent;
  std::vector<uops::DTypeSet> mask;

  explicit Classes(size_t n) : parent(n), mask(n, proof_dtypes) {
    for (size_t i = 0; i < n; i++) parent[i] = int(i);
  }
  int find(int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    if (a == b) return;
    parent[a] = b;
    mask[b] &= mask[a];
  }
  void restrict(int i, uops::DTypeSet s) { mask[find(i)] &= s; }
};

struct Tree {
  std::vector<const Pat*> nodes;
  std::vector<std::vector<int>> kids;

  int add(const Pat& p) {
    int i = int(nodes.size());
    nodes.push_back(&p);
    kids.emplace_back();
    for (const Pat& s : p.src) {
      int k = add(s);
      kids[i].push_back(k);
    }
    return i;
  }
};

// The op table's typing of node i with the op chosen for it.
void type_node(Classes& cl, const Tree& t, int i, Op op) {
  const uops::OpInfo& info = uops::op_info(op);
  const std::vector<int>& k = t.kids[i];
  switch (info.typing) {
  case uops::Typing::SAME:
    cl.restrict(i, info.operands);
    for (int s : k) cl.unite(i, s);
    break;
  case uops::Typing::CMP:
    cl.restrict(i, uops::BOOL);
    for (int s : k) cl.unite(k[0], s), cl.restrict(s, info.operands);
    break;
  case uops::Typing::SELECT:
    if (k.size() == 3) cl.restrict(k[0], uops::BOOL), cl.unite(i, k[1]), cl.unite(i, k[2]);
    cl.restrict(i, info.operands);
    break;
  case uops::Typing::CONVERT: break;
  case uops::Typing::LEAF: cl.restrict(i, op == Op::SINK ? 0 : info.operands); break;
  case uops::Typing::FREE: cl.restrict(i, info.operands); break;
  }
}

char kind(DType d) { return uops::is_bool(d) ? 'b' : d == DType::index ? 'x' : uops::is_signed(d) ? 's' : 'u'; }

// Width twins: the same ops and dtype kinds, and fixed widths in the same relative order (i8 -> i16 and i32 -> i64
// are twins, i8 -> i8 is not).
std::string twin_key(const Instance& inst) {
  std::set<int> widths;
  for (DType d : inst.dtypes)
    if (uops::is_fixed_int(d)) widths.insert(uops::bits(d));
  std::string key;
  for (size_t i = 0; i < inst.dtypes.size(); i++) {
    DType d = inst.dtypes[i];
    key += inst.ops[i] ? std::string(uops::op_info(*inst.ops[i]).name) : "_";
    key += ':';
    key += kind(d);
    if (uops::is_fixed_int(d)) key += char('0' + std::distance(widths.begin(), widths.find(uops::bits(d))));
    key += ' ';
  }
  return key;
}

void add_typings(const Rule& rule, const Tree& t, const std::vector<std::optional<Op>>& ops,
                 std::vector<Instance>& out) {
  size_t n = t.nodes.size();
  Classes cl(n + rule.num_dtype_vars);
  std::vector<int> first_of_slot(rule.num_slots, -1);
  for (size_t i = 0; i < n; i++) {
    const Pat& p = *t.nodes[i];
    cl.restrict(int(i), p.dtypes);
    if (p.dtype_var >= 0) cl.unite(int(i), int(n) + p.dtype_var);
    if (p.slot >= 0) {
      if (first_of_slot[p.slot] < 0)
        first_of_slot[p.slot] = int(i);
      else
        cl.unite(int(i), first_of_slot[p.slot]);
    }
    if (ops[i]) type_node(cl, t, int(i), *ops[i]);
  }
  std::vector<int> roots;
  for (size_t i = 0; i < n; i++)
    if (std::find(roots.begin(), roots.end(), cl.find(int(i))) == roots.end()) roots.push_back(cl.find(int(i)));
  std::vector<std::vector<DType>> choices;
  for (int r : roots) {
    choices.emplace_back();
    for (int d = 0; d < uops::num_dtypes; d++)
      if (cl.mask[r] & uops::bit(DType(d))) choices.back().push_back(DType(d));
    if (choices.back().empty()) return;
  }
  std::vector<size_t> pick(roots.size(), 0);
  for (;;) {
    Instance inst;
    inst.ops = ops;
    for (size_t i = 0; i < n; i++) {
      size_t r = std::find(roots.begin(), roots.end(), cl.find(int(i))) - roots.begin();
      DType d = choices[r][pick[r]];
      inst.dtypes.push_back(d);
      if (uops::is_fixed_int(d)) inst.width = std::max(inst.width, uops::bits(d));
    }
    inst.key = twin_key(inst);
    out.push_back(std::move(inst));
    size_t k = 0;
    while (k < pick.size() && ++pick[k] == choices[k].size()) pick[k++] = 0;
    if (k == pick.size()) return;
  }
}

} // namespace

std::vector<const Pat*> preorder(const Pat& root) {
  Tree t;
  t.add(root);
  return t.nodes;
}

std::string Instance::describe() const {
  std::vector<DType> others;
  for (DType d : dtypes)
    if (d != dtypes[0] && std::find(others.begin(), others.end(), d) == others.end()) others.push_back(d);
  std::string out(uops::name(dtypes[0]));
  for (size_t i = 0; i < others.size(); i++) out += (i ? "," : "(") + std::string(uops::name(others[i]));
  return others.empty() ? out : out + ")";
}

std::vector<Instance> instances(const Rule& rule) {
  Tree t;
  t.add(rule.pattern);
  std::vector<std::vector<std::optional<Op>>> choices;
  for (const Pat* p : t.nodes) {
    choices.emplace_back();
    for (int o = 0; o < uops::num_ops; o++)
      if (p->ops.test(o)) choices.back().push_back(Op(o));
    if (choices.back().empty()) choices.back().push_back(std::nullopt);
  }
  std::vector<Instance> out;
  std::vector<size_t> pick(choices.size(), 0);
  for (;;) {
    std::vector<std::optional<Op>> ops;
    for (size_t i = 0; i < choices.size(); i++) ops.push_back(choices[i][pick[i]]);
    add_typings(rule, t, ops, out);
    size_t k = 0;
    while (k < pick.size() && ++pick[k] == choices[k].size()) pick[k++] = 0;
    if (k == pick.size()) break;
  }
  std::stable_sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) {
    return a.key != b.key ? a.key < b.key : a.width < b.width;
  });
  return out;
}

} // namespace patgrad::prove
