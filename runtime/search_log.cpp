// The search log (search/log.jsonl beside the search database): a JSON line per measured plan, appended by the
// search, summarized by `patgrad search-log`, and the data a learned cost model would be fitted on. A line holds the
// kernel's key and name, the plan (opts), whether it is the incumbent, its time (ms; null if not used) and whether
// that was scaled from a slice (sliced, slice_ms), why it was not used (failure: wrong output, a crash, a timeout),
// compile_ms, nodes, and the cost model's view: model_ms, its features, the round, the plan's rank among the
// round's plans by the model (model_rank, of round_plans) and whether the model chose which plans were measured.
#include "runtime/cpu_jit.h" // default_cache_dir
#include "runtime/search.h"
#include <cmath>
#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <map>

namespace patgrad::runtime {
namespace {

struct Plan {
  double ms, model_ms;
  int round, model_rank, round_plans;
};

// How well the model orders a kernel's measured plans: the share of pairs whose times differ by over 10% (less is
// noise) that it puts in the same order; a plan that timed out is slower than any that finished (two that timed out
// are no pair), and the pairs of plans that both finished are counted apart too.
struct Pairs {
  int64_t agree = 0, pairs = 0, finished_agree = 0, finished_pairs = 0;
  void add(const Pairs& o) {
    agree += o.agree, pairs += o.pairs, finished_agree += o.finished_agree, finished_pairs += o.finished_pairs;
  }
};

Pairs count_pairs(const std::vector<Plan>& plans) {
  Pairs out;
  for (size_t i = 0; i < plans.size(); i++)
    for (size_t j = i + 1; j < plans.size(); j++) {
      const Plan &a = plans[i], &b = plans[j];
      if (!(std::max(a.ms, b.ms) > 1.1 * std::min(a.ms, b.ms)) || a.model_ms == b.model_ms) continue;
      bool right = (a.ms < b.ms) == (a.model_ms < b.model_ms), finished = std::isfinite(std::max(a.ms, b.ms));
      out.pairs++, out.agree += right;
      out.finished_pairs += finished, out.finished_agree += finished && right;
    }
  return out;
}

double share(int64_t part, int64_t whole) { return whole ? 100.0 * double(part) / double(whole) : 0.0; }

// Whether each round's fastest plan was in the model's top quarter of that round's plans. Adds to hits and rounds.
void count_top_quarter(const std::vector<Plan>& plans, int& hits, int& rounds) {
  std::map<int, const Plan*> best;
  for (const Plan& p : plans)
    if (p.round > 0 && p.model_rank >= 0 && (!best.count(p.round) || p.ms < best[p.round]->ms)) best[p.round] = &p;
  for (auto& [round, p] : best) {
    rounds++;
    hits += p->model_rank < std::max(1.0, 0.25 * p->round_plans);
  }
}

} // namespace

std::string search_log_path() {
  std::string dir = default_cache_dir();
  if (dir.empty()) return "";
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "search", "log.jsonl");
  return std::string(path);
}

// Each line is one unbuffered write, so processes appending at once do not mix their lines.
void append_to_search_log(llvm::json::Object line) {
  std::string path = search_log_path();
  if (path.empty() || llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path))) return;
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Append);
  if (ec) return;
  os.SetUnbuffered();
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(line)) << "\n";
  os << text;
}

llvm::Expected<std::string> summarize_search_log(const std::string& path) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return llvm::createStringError(file.getError(), "cannot read the search log %s: %s", path.c_str(),
                                   file.getError().message().c_str());
  struct Kernel {
    std::string name, best_opts;
    int plans = 0, hopeless = 0, rejected = 0;
    double incumbent = INFINITY, best = INFINITY, compile_ms = 0;
    std::vector<double> times;
    std::vector<Plan> modelled[2]; // measured plans with a model estimate: searches without the model, with it
  };
  std::vector<std::string> order;
  std::map<std::string, Kernel> kernels;
  llvm::SmallVector<llvm::StringRef, 0> lines;
  (*file)->getBuffer().split(lines, '\n', -1, false);
  int bad = 0;
  std::vector<double> slice_ratios; // sliced estimate / whole time, for plans that had both
  for (llvm::StringRef line : lines) {
    auto v = llvm::json::parse(line);
    const llvm::json::Object* o = v ? v->getAsObject() : nullptr;
    if (!v) llvm::consumeError(v.takeError());
    auto key = o ? o->getString("key") : std::nullopt;
    if (!key) { // a line cut short by a killed writer, say
      bad++;
      continue;
    }
    auto [it, fresh] = kernels.try_emplace(key->str());
    if (fresh) order.push_back(key->str());
    Kernel& k = it->second;
    k.name = o->getString("kernel").value_or("?").str();
    k.plans++;
    k.compile_ms += o->getNumber("compile_ms").value_or(0);
    k.rejected += o->getBoolean("rejected").value_or(false);
    double ms = o->getNumber("ms").value_or(INFINITY);
    k.times.push_back(ms);
    if (auto slice = o->getNumber("slice_ms"); slice && std::isfinite(ms)) slice_ratios.push_back(*slice / ms);
    if (o->getBoolean("incumbent").value_or(false)) k.incumbent = ms;
    if (!o->getBoolean("sliced").value_or(true) && ms < k.best)
      k.best = ms, k.best_opts = o->getString("opts").value_or("").str();
    // a plan killed at its deadline was slower than it: it counts as slower than every plan that finished
    bool timed_out = o->getString("failure").value_or("").starts_with("did not finish");
    if (auto model = o->getNumber("model_ms"); model && (std::isfinite(ms) || timed_out))
      k.modelled[o->getBoolean("model_chose").value_or(false)].push_back(
          {ms, *model, int(o->getInteger("round").value_or(0)), int(o->getInteger("model_rank").value_or(-1)),
           int(o->getInteger("round_plans").value_or(0))});
  }
  std::string out = fmt::format("{:<26} {:>6} {:>10} {:>10} {:>6} {:>9} {:>10} {:>7}  {}\n", "kernel", "plans",
                                "heuristic", "best ms", "gain", ">2x best", "compile s", "model", "best plan");
  int plans = 0, hopeless = 0;
  double compile = 0;
  Pairs pairs[2];
  int hits[2] = {0, 0}, rounds[2] = {0, 0};
  for (const std::string& key : order) {
    Kernel& k = kernels[key];
    for (double t : k.times) k.hopeless += t > 2 * k.best;
    plans += k.plans, hopeless += k.hopeless, compile += k.compile_ms;
    Pairs kernel_pairs;
    for (int chose : {0, 1}) {
      Pairs p = count_pairs(k.modelled[chose]);
      count_top_quarter(k.modelled[chose], hits[chose], rounds[chose]);
      pairs[chose].add(p), kernel_pairs.add(p);
    }
    std::string model =
        kernel_pairs.pairs ? fmt::format("{:.0f}%", share(kernel_pairs.agree, kernel_pairs.pairs)) : "-";
    out += fmt::format("{:<26} {:>6} {:>10.3f} {:>10.3f} {:>5.2f}x {:>9} {:>10.1f} {:>7}  {}{}\n", k.name, k.plans,
                       k.incumbent, k.best, k.incumbent / k.best, k.hopeless, k.compile_ms / 1e3, model, k.best_opts,
                       k.rejected ? fmt::format(" ({} rejected: wrong output, a crash or a timeout)", k.rejected) : "");
  }
  out += fmt::format("{} searches, {} plans ({} over 2x their kernel's best), {:.1f} s of compiling{}\n", order.size(),
                     plans, hopeless, compile / 1e3, bad ? fmt::format("; {} unreadable lines skipped", bad) : "");
  // The model column: pairwise accuracy. Only searches that measured every plan of a round (PATGRAD_SEARCH_MODEL=0)
  // say whether the model's top quarter holds the round's best; where the model chose, the best is of those measured.
  const char* how[2] = {"every plan measured", "the model chose"};
  for (int chose : {0, 1})
    if (const Pairs& p = pairs[chose]; p.pairs || rounds[chose])
      out += fmt::format("cost model ({}): pairwise order right for {:.0f}% of {} pairs of plans, timeouts as "
                         "slowest ({:.0f}% of the {} where both finished); the round's best in its top quarter in {} "
                         "of {} rounds\n",
                         how[chose], share(p.agree, p.pairs), p.pairs, share(p.finished_agree, p.finished_pairs),
                         p.finished_pairs, hits[chose], rounds[chose]);
  if (!slice_ratios.empty()) { // slices decide which plans are losers: their estimates should be close to the truth
    llvm::sort(slice_ratios);
    out += fmt::format("sliced estimates / whole times, {} plans: median {:.2f}, 10% {:.2f}, 90% {:.2f}\n",
                       slice_ratios.size(), slice_ratios[slice_ratios.size() / 2],
                       slice_ratios[slice_ratios.size() / 10], slice_ratios[slice_ratios.size() * 9 / 10]);
  }
  return out;
}

} // namespace patgrad::runtime
