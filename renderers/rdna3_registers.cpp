// RDNA3 registers: the virtual registers of a rendered kernel (patterns/target_rdna3.pat: %vN, %sN, %SN, %VN, with
// an optional .tag whose first letter gives a temporary's class, and .lo or .hi naming a pair's half) to physical ones,
// by a linear scan over the lines; then the waits for memory that the hardware does not interlock. Not a local rewrite:
// liveness spans the whole kernel.
#include "renderers/rdna3.h"
#include <fmt/format.h>
#include <llvm/ADT/STLExtras.h>
#include <llvm/ADT/StringExtras.h>
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

enum Class : char { VGPR = 'v', SGPR = 's', PAIR = 'S', VPAIR = 'V' };

struct Virtual {
  Class cls;
  size_t first, last; // lines
  int reg = -1;
};

const std::regex& virtual_token() {
  static const std::regex re(R"(%([vsSV])(\d+)(\.(?!lo\b|hi\b)([A-Za-z0-9_]+))?(\.(lo|hi)\b)?)");
  return re;
}

// A token's register: the virtual without the half it names
std::string register_of(const std::smatch& m) { return m[1].str() + m[2].str() + m[3].str(); }

Class class_of(const std::smatch& m) {
  std::string tag = m[4].str();
  char c = !tag.empty() && std::string_view("vsSV").find(tag[0]) != std::string_view::npos ? tag[0] : m[1].str()[0];
  return Class(c);
}

bool is_label(llvm::StringRef line) { return line.trim().ends_with(":"); }

// The label a line branches to, if it is a branch.
std::optional<std::string> branch_target(llvm::StringRef line) {
  llvm::StringRef t = line.trim();
  if (!t.starts_with("s_branch") && !t.starts_with("s_cbranch")) return std::nullopt;
  return t.rsplit(' ').second.str();
}

std::string physical(Class c, int reg, const std::string& half) {
  if (!half.empty()) return fmt::format("{}{}", c == VPAIR ? 'v' : 's', reg + (half == "hi"));
  if (c == VGPR) return fmt::format("v{}", reg);
  if (c == SGPR) return fmt::format("s{}", reg);
  return fmt::format("{}[{}:{}]", c == VPAIR ? 'v' : 's', reg, reg + 1);
}

// A 64-bit constant's half, as a template writes it (12345.lo): its low or high 32 bits.
std::string split_constants(const std::string& line) {
  static const std::regex re(R"((-?(?:0x[0-9a-fA-F]+|\d+))\.(lo|hi)\b)");
  std::string out;
  auto rest = line.cbegin();
  for (auto it = std::sregex_iterator(line.begin(), line.end(), re); it != std::sregex_iterator(); ++it) {
    out.append(rest, (*it)[0].first);
    std::string digits = (*it)[1].str();
    llvm::StringRef text(digits);
    uint64_t v = 0; // a u64 past INT64_MAX, or a negative i64
    int64_t negative = 0;
    if (text.starts_with("-") ? text.getAsInteger(0, negative) : text.getAsInteger(0, v)) return line;
    if (negative) v = uint64_t(negative);
    out += std::to_string((*it)[2].str() == "lo" ? uint32_t(v) : uint32_t(v >> 32));
    rest = (*it)[0].second;
  }
  out.append(rest, line.cend());
  return out;
}

// The registers a line names: its virtual ones' physical names after allocation.
// The registers a line names, an operand a list each (a pair: both of its registers), in order.
std::vector<std::vector<std::string>> registers_in(const std::string& line) {
  static const std::regex re(R"(\b([vs])(?:(\d+)|\[(\d+):(\d+)\]))");
  std::vector<std::vector<std::string>> out;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), re); it != std::sregex_iterator(); ++it) {
    std::string file = (*it)[1].str();
    int first = std::stoi((*it)[2].matched ? (*it)[2].str() : (*it)[3].str());
    int last = (*it)[2].matched ? first : std::stoi((*it)[4].str());
    out.emplace_back();
    for (int r = first; r <= last; r++) out.back().push_back(file + std::to_string(r));
  }
  return out;
}

// A VALU instruction takes one 32-bit literal (inline constants aside: integers -16..64, +-0.5, 1, 2, 4 and
// 1/(2pi) as f32). Each further distinct literal moves into a VGPR of its own first (two constant operands survive
// the rules where no pass after them folds constants: -255.0 as v_xor_b32 0x80000000, 0x437f0000).
std::vector<std::string> one_literal_each(const std::vector<std::string>& lines) {
  static const std::regex literal(R"(^-?(0x[0-9a-fA-F]+|\d+)$)");
  static const llvm::StringRef inline_floats[] = {"0x3f000000", "0xbf000000", "0x3f800000", "0xbf800000", "0x40000000",
                                                  "0xc0000000", "0x40800000", "0xc0800000", "0x3e22f983"};
  auto is_inline = [](llvm::StringRef t) {
    int64_t v;
    if (!t.getAsInteger(0, v) && !t.starts_with("0x") && v >= -16 && v <= 64) return true;
    return llvm::is_contained(inline_floats, t);
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < lines.size(); i++) {
    llvm::StringRef line = lines[i];
    auto [mnemonic, rest] = line.split(' ');
    if (mnemonic.starts_with("global_store")) { // the data is a VGPR (a pair for 64 bits), never a constant
      llvm::SmallVector<llvm::StringRef, 4> operands;
      rest.split(operands, ", ");
      std::string data = operands.size() > 1 ? operands[1].trim().str() : "";
      if (std::regex_match(data, literal)) {
        bool pair = mnemonic.ends_with("b64");
        std::string reg = fmt::format("%{}0.{}literal{}", pair ? 'V' : 'v', pair ? 'V' : 'v', i);
        if (pair)
          out.push_back(fmt::format("v_mov_b32 {0}.lo, {1}.lo", reg, data)),
              out.push_back(fmt::format("v_mov_b32 {0}.hi, {1}.hi", reg, data));
        else
          out.push_back(fmt::format("v_mov_b32 {}, {}", reg, data));
        operands[1] = reg;
        out.push_back(mnemonic.str() + " " + llvm::join(operands, ", "));
        continue;
      }
    }
    if (!mnemonic.starts_with("v_")) {
      out.push_back(lines[i]);
      continue;
    }
    llvm::SmallVector<llvm::StringRef, 6> operands;
    rest.split(operands, ", ");
    std::vector<std::string> seen;
    std::string rewritten = mnemonic.str();
    for (size_t k = 0; k < operands.size(); k++) {
      std::string op = operands[k].trim().str();
      if (std::regex_match(op, literal) && !is_inline(op) && !llvm::is_contained(seen, op)) {
        seen.push_back(op);
        if (seen.size() > 1) {
          std::string reg = fmt::format("%v0.vliteral{}_{}", i, k);
          out.push_back(fmt::format("v_mov_b32 {}, {}", reg, op));
          op = reg;
        }
      }
      rewritten += (k ? ", " : " ") + op;
    }
    out.push_back(rewritten);
  }
  return out;
}

} // namespace

llvm::Expected<Allocated> allocate(const std::vector<std::string>& given) {
  std::vector<std::string> lines = one_literal_each(given);
  // each virtual register's span of lines: from its first mention to its last
  std::map<std::string, Virtual> virtuals;
  std::vector<Virtual*> order; // by first mention: the linear scan's order
  for (size_t i = 0; i < lines.size(); i++)
    for (auto it = std::sregex_iterator(lines[i].begin(), lines[i].end(), virtual_token());
         it != std::sregex_iterator(); ++it) {
      auto [v, fresh] = virtuals.try_emplace(register_of(*it), Virtual{class_of(*it), i, i});
      if (fresh) order.push_back(&v->second); // std::map's nodes stay where they are
      if (!fresh && v->second.cls != class_of(*it)) return error("register class mismatch for " + register_of(*it));
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
    if (v->cls == VGPR || v->cls == VPAIR) { // pairs at even registers
      int step = v->cls == VPAIR ? 2 : 1, r = v->cls == VPAIR ? 2 : first_vgpr;
      while (r + step <= vgpr_end && !(free(vgpr_busy, r) && (step == 1 || free(vgpr_busy, r + 1)))) r += step;
      if (r + step > vgpr_end) return error("the kernel needs more than 255 VGPRs (spilling is not supported yet)");
      for (int k = 0; k < step; k++) vgpr_busy[size_t(r + k)] = v->last + 1;
      v->reg = r, out.vgprs = std::max(out.vgprs, r + step);
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
      const Virtual& v = virtuals.at(register_of(*it));
      text += physical(v.cls, v.reg, (*it)[6].str());
      rest = (*it)[0].second;
    }
    text.append(rest, line.cend());
    text = split_constants(text);
    if (is_label(text) || branch_target(text)) wait();
    std::vector<std::vector<std::string>> regs = registers_in(text);
    if (llvm::any_of(regs, [&](const auto& operand) {
          return llvm::any_of(operand, [&](const std::string& r) { return llvm::is_contained(pending, r); });
        }))
      wait();
    out.lines.push_back(text);
    if (llvm::StringRef(text).trim().starts_with("global_load") && !regs.empty())
      pending.insert(pending.end(), regs[0].begin(), regs[0].end());
  }
  return out;
}

} // namespace patgrad::renderers::rdna3
