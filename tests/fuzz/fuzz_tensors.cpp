// fuzz_tensors: random tensor programs built with the Tensor API (chains of elementwise ops with broadcasting and
// promotion, casts, movement ops and reductions over random shapes, size-1 and zero-size dimensions included, and
// every dtype but index), each run on CPU and on INTERP and compared with a naive reference (tensor_reference.h: host
// arrays and plain loops with the dtypes' semantics); the generator is tensor_programs.cpp. Program k of a run is the
// program of `--seed seed+k --count 1`. A mismatch, an unexpected error or a tensor on the wrong device prints the
// program as Tensor calls, the seed and the device, and exits 1 (with --keep-going, after every program).
//   fuzz_tensors [--seed S] [--count N] [--verbose] [--keep-going]
//
// Every 25th program is followed by a large f32 reduction (up to 2^22 elements per output) checked against long
// double within the pairwise-summation bound (large_reductions.cpp).
//
// Tolerances: integers and bool exactly; floats within twice the drift bound tensor_reference.h defines, which is 0
// while every step is correctly rounded in a fixed order: then bit for bit, the sign of zero included (NaN matches
// any NaN).
#include "tests/fuzz/large_reductions.h"
#include "tests/fuzz/tensor_programs.h"
#include <chrono>
#include <cmath>
#include <csignal>
#include <fmt/format.h>
#include <unistd.h>

namespace {

using namespace patgrad;
using namespace patgrad::tensor_fuzz;
using uops::bits;
using uops::is_float;

// ---- running a program on a device, and reporting

Tensor replay(const Step& s, const std::vector<Tensor>& t, const runtime::Target* dev) {
  auto in = [&](size_t j) -> const Tensor& { return t[size_t(s.in[j])]; };
  switch (s.kind) {
  case Kind::DATA: {
    int width = std::max(1, bits(s.dtype) / 8);
    std::vector<uint8_t> bytes(s.out.v.size() * size_t(width));
    for (size_t k = 0; k < s.out.v.size(); k++) {
      uint64_t b = to_bits(s.dtype, s.out.v[k]);
      std::memcpy(bytes.data() + k * size_t(width), &b, size_t(width)); // little-endian: the low bytes
    }
    return Tensor::from_data(bytes.data(), s.dtype, s.out.shape).to(dev);
  }
  case Kind::FULL: return Tensor::full(s.out.shape, s.value, s.dtype).to(dev);
  case Kind::ARANGE: return Tensor::arange(double(s.ints[0]), double(s.ints[1]), double(s.ints[2]), s.dtype).to(dev);
  case Kind::UNARY: return (in(0).*kUnary[s.op].apply)();
  case Kind::BINARY: return (in(0).*kBinary[s.op].apply)(in(1));
  case Kind::SCALAR: return s.flag ? kScalar[s.op].left(s.value, in(0)) : kScalar[s.op].right(in(0), s.value);
  case Kind::WHERE: return in(0).where(in(1), in(2));
  case Kind::CAST: return in(0).cast(s.dtype);
  case Kind::BITCAST: return in(0).bitcast(s.dtype);
  case Kind::RESHAPE: return in(0).reshape(s.ints);
  case Kind::PERMUTE: return in(0).permute(s.ints);
  case Kind::EXPAND: return in(0).expand(s.ints);
  case Kind::PAD: return in(0).pad(s.pairs, s.value);
  case Kind::SHRINK: return in(0).shrink(s.pairs);
  case Kind::FLIP: return in(0).flip(s.ints);
  case Kind::CONTIGUOUS: return in(0).contiguous();
  case Kind::REALIZE: return Tensor(in(0)).realize();
  case Kind::REDUCE: return (in(0).*kReduce[s.op].apply)(s.ints, s.flag);
  }
  return in(0);
}

template <typename T>
void read_into(const Tensor& t, Array& a) {
  for (T x : t.to_vector<T>()) a.v.push_back(std::is_floating_point_v<T> ? Elem{0, double(x), 0} : Elem{Wide(x), 0, 0});
}
Array read(const Tensor& t) {
  Array a{t.dtype(), t.shape(), {}};
  switch (t.dtype()) {
  case DType::bool_: read_into<bool>(t, a); break;
  case DType::i8: read_into<int8_t>(t, a); break;
  case DType::i16: read_into<int16_t>(t, a); break;
  case DType::i32: read_into<int32_t>(t, a); break;
  case DType::i64: read_into<int64_t>(t, a); break;
  case DType::u8: read_into<uint8_t>(t, a); break;
  case DType::u16: read_into<uint16_t>(t, a); break;
  case DType::u32: read_into<uint32_t>(t, a); break;
  case DType::u64: read_into<uint64_t>(t, a); break;
  case DType::f64: read_into<double>(t, a); break;
  default: read_into<float>(t, a); // f16 and bf16 through f32, exactly
  }
  return a;
}

// where got differs from the reference beyond the drift bound, or ""
std::string mismatch(const Array& got, const Array& want) {
  if (got.dtype != want.dtype || got.shape != want.shape)
    return fmt::format("the result is {} {}, the reference {} {}", uops::name(got.dtype), str(got.shape),
                       uops::name(want.dtype), str(want.shape));
  for (size_t k = 0; k < want.v.size(); k++) {
    const Elem &g = got.v[k], &w = want.v[k];
    bool same = !is_float(want.dtype)                ? g.i == w.i
                : std::isnan(g.f) || std::isnan(w.f) ? std::isnan(g.f) && std::isnan(w.f)
                : w.err == 0                         ? g.f == w.f && std::signbit(g.f) == std::signbit(w.f)
                                                     : std::fabs(g.f - w.f) <= 2 * w.err;
    if (!same)
      return fmt::format("element {} {}: got {}, expected {} (drift bound {})", k, str(unravel(int64_t(k), want.shape)),
                         str(got.dtype, g), str(want.dtype, w), w.err);
  }
  return "";
}

// runs the program on dev: what went wrong, or ""
std::string run_on(const Program& p, const runtime::Target* dev) {
  try {
    std::vector<Tensor> t;
    for (const Step& s : p.steps) {
      t.push_back(replay(s, t, dev));
      if (t.back().device() != dev) return fmt::format("t{} is on {}", t.size() - 1, t.back().device()->name);
    }
    for (size_t k : {p.probe, p.steps.size() - 1}) // the result, and an intermediate another schedule computes
      if (std::string why = mismatch(read(t[k]), p.steps[k].out); !why.empty()) return fmt::format("t{}: {}", k, why);
    return "";
  } catch (const std::exception& e) {
    return fmt::format("raised: {}", e.what());
  }
}

std::string g_listing; // the program running now, printed if it crashes
extern "C" void on_crash(int sig) {
  [[maybe_unused]] ssize_t n = write(2, g_listing.data(), g_listing.size());
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct Options {
  uint64_t seed = 1;
  int64_t count = 100;
  bool verbose = false;
  bool keep_going = false; // report every failing program, not just the first
};

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string_view flag = argv[i];
    if (flag == "--verbose")
      o.verbose = true;
    else if (flag == "--keep-going")
      o.keep_going = true;
    else if ((flag == "--seed" || flag == "--count") && i + 1 < argc) {
      char* end;
      long long v = std::strtoll(argv[++i], &end, 10);
      if (*end || v < 0) return std::nullopt;
      (flag == "--seed" ? o.seed : reinterpret_cast<uint64_t&>(o.count)) = uint64_t(v);
    } else
      return std::nullopt;
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  std::optional<Options> opts = parse_args(argc, argv);
  if (!opts) {
    fmt::print(stderr, "usage: fuzz_tensors [--seed S] [--count N] [--verbose] [--keep-going]\n");
    return 2;
  }
  for (int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGBUS}) std::signal(sig, on_crash);
  auto start = std::chrono::steady_clock::now();
  int64_t steps = 0, failures = 0;
  for (int64_t k = 0; k < opts->count; k++) {
    uint64_t seed = opts->seed + uint64_t(k);
    Program p = random_program(seed);
    steps += int64_t(p.steps.size());
    g_listing = listing(p, seed);
    if (opts->verbose) fmt::print("{}", g_listing);
    for (const runtime::Target* dev : runtime::targets()) {
      if (!dev->complete()) continue; // a backend in progress has its own tests until it runs every op
      std::string why = run_on(p, dev);
      if (why.empty()) continue;
      fmt::print("fuzz_tensors: FAIL on {}: {}\n{}", dev->name, why, g_listing);
      if (!opts->keep_going) return 1;
      failures++;
      break;
    }
    if (seed % 25 == 0) { // INTERP is too slow for millions of elements: the CPU, whose kernels it checks above
      std::string why;
      try {
        why = large_reduction(seed, "CPU", g_listing);
      } catch (const std::exception& e) {
        why = fmt::format("raised: {}", e.what());
      }
      if (opts->verbose) fmt::print("{}", g_listing);
      if (!why.empty()) {
        fmt::print("fuzz_tensors: FAIL on CPU: {}\n{}", why, g_listing);
        if (!opts->keep_going) return 1;
        failures++;
      }
    }
  }
  if (failures) {
    fmt::print("fuzz_tensors: {} of {} programs failed\n", failures, opts->count);
    return 1;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("fuzz_tensors: {} programs ({} steps) from seed {} match the reference on CPU and INTERP in {:.1f} s "
             "({:.1f} programs/s)\n",
             opts->count, steps, opts->seed, s, double(opts->count) / s);
  return 0;
}
