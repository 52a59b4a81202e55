// Observability: what DEBUG=1, 2, 4 and 5 print on stderr while a schedule runs, and what PATGRAD_RULE_STATS=1
// prints at exit. stderr is captured by pointing file descriptor 2 at a temporary file; the statistics, printed when
// the process exits, come from a child: this binary running the hidden test case at the end.
// Lowered and compiled kernels are cached per process, so each test builds a kernel no other test builds (its own
// constant) to see it lowered and compiled.
#include "examples/models.h"
#include "frontend/optim.h"
#include "frontend/tensor.h"
#include "runtime/profile.h"
#include "tests/shell.h"
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>
#include <sstream>
#include <unistd.h>

using namespace patgrad;

namespace {

// While alive: the environment variable var set to value (unset if null), and stderr going to a temporary file.
class CapturedStderr {
public:
  CapturedStderr(const char* var, const char* value) : var(var) {
    std::fflush(stderr);
    fd = mkstemp(path);
    saved = dup(2);
    dup2(fd, 2);
    if (value)
      setenv(var, value, 1);
    else
      unsetenv(var);
  }
  ~CapturedStderr() {
    restore();
    close(fd);
    unlink(path);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  // everything written so far; stderr is back to where it was
  std::string text() {
    restore();
    std::string out;
    std::array<char, 4096> buf;
    lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) out.append(buf.data(), size_t(n));
    return out;
  }

private:
  void restore() {
    if (saved < 0) return;
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    saved = -1;
    unsetenv(var);
  }
  const char* var;
  char path[32] = "/tmp/patgrad_stderr_XXXXXX";
  int fd = -1, saved = -1;
};

// x * c summed over its last axis: one reduce kernel of 6 multiplies and 6 adds (12 flops) that loads 6 f32 and
// stores 2 (32 bytes); c makes the kernel one no other test compiles.
std::vector<float> scaled_sum(float c, std::string_view dev) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).realize().to(dev);
  return (x * double(c)).sum({1}).to_vector<float>();
}

// stdout and stderr of a shell command
std::string output_of(const std::string& command) {
  std::string out;
  patgrad::testing::shell(command, &out);
  return out;
}

std::string self_path() {
  std::array<char, 4096> buf;
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  REQUIRE(n > 0);
  return std::string(buf.data(), size_t(n));
}

} // namespace

TEST_CASE("DEBUG unset prints nothing", "[observability]") {
  CapturedStderr err("DEBUG", nullptr);
  CHECK(scaled_sum(1.5f, "CPU") == std::vector<float>{9, 22.5});
  CHECK(err.text().empty());
}

TEST_CASE("DEBUG=1 lists each schedule's kernels with their output and input buffers", "[observability]") {
  CapturedStderr err("DEBUG", "1");
  CHECK(scaled_sum(2.5f, "CPU") == std::vector<float>{15, 37.5});
  std::string text = err.text();
  INFO(text);
  CHECK(text.find("schedule: 1 kernels on CPU") != std::string::npos);
  CHECK(text.find(":f32[2] <- buf") != std::string::npos); // the output, then the input
  CHECK(text.find(":f32[6]") != std::string::npos);
  CHECK(text.find("GFLOP/s") == std::string::npos); // that is DEBUG=2
}

TEST_CASE("DEBUG=2 prints each kernel's time, estimated flops, bytes, GFLOP/s and GB/s", "[observability]") {
  for (std::string_view dev : {"CPU", "INTERP"}) {
    CapturedStderr err("DEBUG", "2");
    CHECK(scaled_sum(dev == "CPU" ? 3.5f : 4.5f, dev).size() == 2);
    std::string text = err.text();
    INFO(text);
    CHECK(text.find(" ms ") != std::string::npos);
    CHECK(text.find(" 12 flop ") != std::string::npos);
    CHECK(text.find(" 32 B ") != std::string::npos);
    CHECK(text.find("GFLOP/s") != std::string::npos);
    CHECK(text.find("GB/s") != std::string::npos);
  }
}

TEST_CASE("DEBUG=2 lists a schedule's kernels by time, slowest first, with their shares", "[observability]") {
  CapturedStderr err("DEBUG", "2");
  Tensor a = Tensor::from_vector<float>(std::vector<float>(96 * 96, 0.25f), {96, 96}).realize();
  // a column sum, a matrix product that reads it, the product's sum (the product is usually the slowest, run second)
  Tensor b = a + a.sum({0}, true);
  CHECK(b.matmul(a).sum().item() == Approx(96.0 * 96 * 96 * 24.25 * 0.25));
  std::string text = err.text();
  INFO(text);
  size_t header = text.find("ran 3 kernels on CPU in ");
  REQUIRE(header != std::string::npos);
  std::vector<std::string> names;
  std::vector<double> ms, shares;
  std::istringstream rows(text.substr(text.find('\n', header) + 1));
  for (std::string line; std::getline(rows, line) && line.rfind("  ", 0) == 0;) {
    std::istringstream row(line);
    std::string name, unit, share;
    double t = 0;
    row >> name >> t >> unit >> share;
    names.push_back(name);
    ms.push_back(t);
    shares.push_back(std::stod(share));
  }
  REQUIRE(ms.size() == 3);
  std::vector<std::string> kernels = names; // every kernel of the schedule once, in the table's order
  llvm::sort(kernels);
  CHECK(kernels == std::vector<std::string>{"R", "R_1_96", "R_96_96_1"});
  CHECK((ms[0] >= ms[1] && ms[1] >= ms[2]));
  CHECK((shares[0] >= shares[1] && shares[1] >= shares[2]));
  CHECK(shares[0] + shares[1] + shares[2] == Approx(100).margin(0.2)); // each rounded to 0.1
}

TEST_CASE("DEBUG=4 prints the LLVM IR of each kernel compiled", "[observability]") {
  CapturedStderr err("DEBUG", "4");
  CHECK(scaled_sum(5.5f, "CPU") == std::vector<float>{33, 82.5});
  std::string text = err.text();
  INFO(text);
  CHECK(text.find("define void @") != std::string::npos);
  CHECK(text.find("ret void") != std::string::npos);
  CHECK(text.find("= STORE:void") == std::string::npos); // that is DEBUG=5
}

TEST_CASE("DEBUG=5 prints the linear program of each kernel lowered", "[observability]") {
  CapturedStderr err("DEBUG", "5");
  CHECK(scaled_sum(6.5f, "INTERP") == std::vector<float>{39, 97.5});
  std::string text = err.text();
  INFO(text);
  // one node a line, sources by line number: the accumulator's update reads it back; allocations come first
  CHECK(text.find("%0 = DEFINE_") != std::string::npos);
  CHECK(text.find("= RANGE:index [0]") != std::string::npos);
  CHECK(text.find("= END:void") != std::string::npos);
  size_t acc = text.find("= DEFINE_ACC:f32 [0]");
  REQUIRE(acc != std::string::npos);
  std::string acc_line = text.substr(text.rfind('%', acc), acc - text.rfind('%', acc) - 1); // "%N"
  CHECK(text.find("= ASSIGN:void " + acc_line + " ") != std::string::npos);
  CHECK(text.find("= STORE:void") != std::string::npos);
}

TEST_CASE("a kernel is lowered once per target: again on another target, not again on the same", "[observability]") {
  CapturedStderr err("DEBUG", "5");
  CHECK(scaled_sum(8.5f, "CPU") == std::vector<float>{51, 127.5});
  CHECK(scaled_sum(8.5f, "CPU") == std::vector<float>{51, 127.5});
  CHECK(scaled_sum(8.5f, "INTERP") == std::vector<float>{51, 127.5});
  std::string text = err.text();
  INFO(text);
  size_t lowered = 0;
  for (size_t at = text.find("= STORE:void"); at != std::string::npos; at = text.find("= STORE:void", at + 1))
    lowered++;
  CHECK(lowered == 2);
}

TEST_CASE("PATGRAD_RULE_STATS=1 prints each rule's attempts, hits and time at exit", "[observability]") {
  std::string child = fmt::format("'{}' '[observability_child]'", self_path());
  std::string with = output_of("PATGRAD_RULE_STATS=1 " + child), without = output_of("PATGRAD_RULE_STATS= " + child);
  INFO(with);
  CHECK(with.find("All tests passed") != std::string::npos);
  CHECK(with.find("rule statistics of the kernel passes") != std::string::npos);
  CHECK(with.find("patterns/") != std::string::npos); // where each rule is
  CHECK(without.find("rule statistics") == std::string::npos);
}

TEST_CASE("PROFILE: a training step's timeline in the trace-event format; its kernels' spans are its kernel time",
          "[observability]") {
  runtime::start_profiling();
  Tensor::manual_seed(3);
  examples::MnistNet model;
  optim::Adam opt(nn::get_parameters(model), 1e-3);
  Tensor x = Tensor::randn({2, 1, 28, 28}).realize(), y = Tensor::randint({2}, 0, 10, DType::i64).realize();
  auto spans_of = [](const llvm::json::Array& events, llvm::StringRef cat) {
    size_t n = 0;
    for (const llvm::json::Value& e : events) n += e.getAsObject()->getString("cat") == cat;
    return n;
  };
  auto kernel_us = [](const llvm::json::Array& events) {
    double us = 0;
    for (const llvm::json::Value& e : events)
      if (e.getAsObject()->getString("cat") == "kernel") us += *e.getAsObject()->getNumber("dur");
    return us;
  };
  double before_us = kernel_us(*runtime::profile_trace().getAsObject()->getArray("traceEvents"));
  runtime::RunStats start = Tensor::run_stats();
  Tensor loss = nn::functional::cross_entropy(model(x), y);
  opt.zero_grad();
  loss.backward();
  opt.step();
  CHECK(std::isfinite(loss.item()));
  double run_ms = Tensor::run_stats().run_ms - start.run_ms;

  llvm::json::Value trace = runtime::profile_trace();
  // what the viewers read: an object with traceEvents; complete events ("X") with a name, a category, a start and a
  // duration in microseconds, a process and a thread; metadata ("M") naming the threads
  const llvm::json::Object* doc = trace.getAsObject();
  REQUIRE(doc);
  const llvm::json::Array* events = doc->getArray("traceEvents");
  REQUIRE(events);
  for (const llvm::json::Value& event : *events) {
    const llvm::json::Object* e = event.getAsObject();
    REQUIRE(e);
    auto ph = e->getString("ph");
    REQUIRE(ph);
    CHECK((*ph == "X" || *ph == "M"));
    CHECK(e->getString("name"));
    CHECK(e->getInteger("pid"));
    CHECK(e->getInteger("tid") >= 0);
    if (*ph != "X") continue;
    CHECK(e->getString("cat"));
    CHECK(e->getNumber("ts") >= 0);
    CHECK(e->getNumber("dur") >= 0);
    CHECK(e->getObject("args"));
  }
  CHECK(spans_of(*events, "kernel") > 20);
  CHECK(spans_of(*events, "schedule") > 0);
  CHECK((kernel_us(*events) - before_us) / 1e3 == Approx(run_ms).epsilon(1e-9)); // the same measurements
}

TEST_CASE("PROFILE=FILE writes the run's trace at exit", "[observability]") {
  std::string path = fmt::format("/tmp/patgrad_profile_test_{}.json", getpid());
  std::string out = output_of(fmt::format("PROFILE={} '{}' '[observability_child]'", path, self_path()));
  INFO(out);
  CHECK(out.find("profile: ") != std::string::npos);
  auto file = llvm::MemoryBuffer::getFile(path);
  REQUIRE(file);
  auto trace = llvm::json::parse((*file)->getBuffer());
  REQUIRE(bool(trace));
  const llvm::json::Array* events = trace->getAsObject()->getArray("traceEvents");
  REQUIRE(events);
  bool lowered = false, ran = false;
  for (const llvm::json::Value& e : *events) {
    lowered |= e.getAsObject()->getString("cat") == "lower";
    ran |= e.getAsObject()->getString("cat") == "kernel";
  }
  CHECK(lowered);
  CHECK(ran);
  std::remove(path.c_str());
}

// The child of the test above: lowers a kernel, then exits.
TEST_CASE("a kernel lowered by a child process", "[.][observability_child]") {
  CHECK(scaled_sum(7.5f, "INTERP") == std::vector<float>{45, 112.5});
}
