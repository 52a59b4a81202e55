// RDNA3 registers: the virtual registers of a rendered kernel (patterns/target_rdna3.pat: %vN, %sN, %SN, with an
// optional .tag whose first letter gives a temporary's class) to physical ones, by a linear scan over the lines; then
// the waits for memory that the hardware does not interlock. Not a local rewrite: liveness spans the whole kernel.
#include "renderers/rdna3.h"
#include <fmt/format.h>
#include <llvm/ADT/STLExtras.h>
#include <llvm/ADT/StringMap.h>
#include <map>
#include <optional>
#include <regex>

namespace patgrad::renderers::rdna3 {
namespace {

llvm::Error error(const std::string& message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "RDNA3: " + message);
}

// Registers the kernel's entry state holds: s[0:1] the kernel argument pointer, s15 the workgroup id, v0 the lane id.
constexpr int first_sgpr = 16, sgpr_end = 106, first_vgpr = 1, vgpr_end = 256;

enum Class : char { VGPR = 'v', SGPR = 's', PAIR = 'S' };

struct Virtual {
  Class cls;
  size_t first, last; // lines
  int reg = -1;
};

const std::regex& virtual_token() {
  static const std::regex re(R"(%([vsS])(\d+)(\.([A-Za-z0-9_]+))?)");
  return re;
}

Class class_of(const std::smatch& m) {
  std::string tag = m[4].str();
  char c = !tag.empty() && (tag[0] == 'v' || tag[0] == 's' || tag[0] == 'S') ? tag[0] : m[1].str()[0];
  return Class(c);
}

bool is_label(llvm::StringRef line) { return line.trim().ends_with(":"); }

// The label a line branches to, if it is a branch.
std::optional<std::string> branch_target(llvm::StringRef line) {
  llvm::StringRef t = line.trim();
  if (!t.starts_with("s_branch") && !t.starts_with("s_cbranch")) return std::nullopt;
  return t.rsplit(' ').second.str();
}

std::string physical(Class c, int reg) {
  if (c == VGPR) return fmt::format("v{}", reg);
  if (c == SGPR) return fmt::format("s{}", reg);
  return fmt::format("s[{}:{}]", reg, reg + 1);
}

// The registers a line names: its virtual ones' physical names after allocation.
std::vector<std::string> registers_in(const std::string& line) {
  static const std::regex re(R"(\b(v\d+|s\d+|s\[\d+:\d+\])\b)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

} // namespace

llvm::Expected<Allocated> allocate(const std::vector<std::string>& lines) {
  // each virtual register's span of lines: from its first mention to its last
  std::map<std::string, Virtual> virtuals;
  std::vector<Virtual*> order; // by first mention: the linear scan's order
  for (size_t i = 0; i < lines.size(); i++)
    for (auto it = std::sregex_iterator(lines[i].begin(), lines[i].end(), virtual_token());
         it != std::sregex_iterator(); ++it) {
      auto [v, fresh] = virtuals.try_emplace(it->str(), Virtual{class_of(*it), i, i});
      if (fresh) order.push_back(&v->second); // std::map's nodes stay where they are
      if (!fresh && v->second.cls != class_of(*it)) return error("register class mismatch for " + it->str());
      v->second.last = i;
    }
  // A loop (a label and the branch back to it) keeps alive through its last line every register that is live into
  // it: the next trip reads it again (an accumulator, a buffer's address). Inner loops first, until nothing grows.
  llvm::StringMap<size_t> labels;
  std::vector<std::pair<size_t, size_t>> loops;
  for (size_t i = 0; i < lines.size(); i++) {
    if (is_label(lines[i])) labels[llvm::StringRef(lines[i]).trim().drop_back()] = i;
    if (auto target = branch_target(lines[i]); target && labels.count(*target)) loops.push_back({labels[*target], i});
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (auto& [name, v] : virtuals)
      for (auto [head, back] : loops)
        if (v.first < head && v.last >= head && v.last < back) v.last = back, grew = true;
  }
  // linear scan, in order of first mention; a register is free again after its last mention's line
  std::vector<size_t> vgpr_busy(vgpr_end, 0), sgpr_busy(sgpr_end, 0); // the first line each is free on
  Allocated out;
  for (Virtual* v : order) {
    auto free = [&](std::vector<size_t>& busy, int r) { return busy[size_t(r)] <= v->first; };
    if (v->cls == VGPR) {
      int r = first_vgpr;
      while (r < vgpr_end && !free(vgpr_busy, r)) r++;
      if (r == vgpr_end) return error("the kernel needs more than 255 VGPRs (spilling is not supported yet)");
      v->reg = r, vgpr_busy[size_t(r)] = v->last + 1, out.vgprs = std::max(out.vgprs, r + 1);
    } else {
      int step = v->cls == PAIR ? 2 : 1, r = first_sgpr;
      while (r + step <= sgpr_end && !(free(sgpr_busy, r) && (step == 1 || free(sgpr_busy, r + 1)))) r += step;
      if (r + step > sgpr_end)
        return error("the kernel needs more SGPRs than there are (spilling is not supported yet)");
      for (int k = 0; k < step; k++) sgpr_busy[size_t(r + k)] = v->last + 1;
      v->reg = r, out.sgprs = std::max(out.sgprs, r + step);
    }
  }
  // the lines with physical registers, and the waits: a register that a global load writes may be read (or written)
  // only after s_waitcnt vmcnt; branches and labels wait for every load, so that no load is in flight across them
  std::vector<std::string> pending;
  auto wait = [&] {
    if (!pending.empty()) out.lines.push_back("s_waitcnt vmcnt(0)"), pending.clear();
  };
  for (const std::string& line : lines) {
    std::string text;
    auto rest = line.cbegin();
    for (auto it = std::sregex_iterator(line.begin(), line.end(), virtual_token()); it != std::sregex_iterator();
         ++it) {
      text.append(rest, (*it)[0].first);
      const Virtual& v = virtuals.at(it->str());
      text += physical(v.cls, v.reg);
      rest = (*it)[0].second;
    }
    text.append(rest, line.cend());
    if (is_label(text) || branch_target(text)) wait();
    std::vector<std::string> regs = registers_in(text);
    if (llvm::any_of(regs, [&](const std::string& r) { return llvm::is_contained(pending, r); })) wait();
    out.lines.push_back(text);
    if (llvm::StringRef(text).trim().starts_with("global_load") && !regs.empty()) pending.push_back(regs[0]);
  }
  return out;
}

} // namespace patgrad::renderers::rdna3
