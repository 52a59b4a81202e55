// safetensors: round trips of every dtype, a file built here byte by byte, the writer's exact bytes, one error per
// kind of corruption, what is not a regular file, and saves racing each other and loads, in several processes.
#include "frontend/safetensors.h"
#include "tests/shell.h"
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace patgrad;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    llvm::SmallString<128> d;
    REQUIRE(!llvm::sys::fs::createUniqueDirectory("patgrad-safetensors", d));
    path = std::string(d);
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
};

// A file: the header's length (little-endian u64), the header, the data.
std::string file_bytes(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

using testing::files_in;
using testing::shell;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

template <typename T>
std::string bytes_of(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

} // namespace

TEST_CASE("safe_save and safe_load round-trip every dtype, 0-d and empty tensors", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/all.safetensors";
  // values every dtype holds exactly (f16 and bf16 included); bool gets 0 and 1
  std::vector<double> values = {0, 1, -2, 3.5, 100, -0.25};
  NamedTensors saved;
  for (DType d : {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i64, DType::i32, DType::i16, DType::i8,
                  DType::u64, DType::u32, DType::u16, DType::u8, DType::bool_}) {
    std::vector<double> v = values;
    if (!uops::is_float(d))
      for (double& x : v) x = uops::is_signed(d) ? std::trunc(x) : std::fabs(std::trunc(x));
    if (uops::is_bool(d)) v = {0, 1, 1, 0, 1, 0};
    saved.emplace_back(std::string(uops::name(d)), Tensor::from_vector(v, {2, 3}).cast(d));
  }
  saved.emplace_back("scalar \"quoted\" \\ \n é", Tensor::scalar(7.5)); // escapes and UTF-8 in a name
  saved.emplace_back("empty", Tensor::zeros({0, 3}, DType::i32));
  safe_save(path, saved, {{"format", "pt"}, {"note", "say \"hi\"\t"}});
  CHECK(files_in(dir.path) == std::vector<std::string>{"all.safetensors"}); // no temporary left

  SafetensorsFile f = safe_read(path);
  CHECK(f.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"note", "say \"hi\"\t"}});
  REQUIRE(f.tensors.size() == saved.size());
  for (size_t i = 0; i < saved.size(); i++) {
    INFO(saved[i].first);
    CHECK(f.tensors[i].first == saved[i].first); // the order of the data, which is the saving order
    CHECK(f.tensors[i].second.dtype() == saved[i].second.dtype());
    CHECK(f.tensors[i].second.shape() == saved[i].second.shape());
    CHECK(f.tensors[i].second.to_vector<double>() == saved[i].second.to_vector<double>());
  }
}

TEST_CASE("safe_load reads a file built byte by byte", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/hand.safetensors";
  // header keys in another order than the data; "b" sits after "a" in the data
  std::string header = R"({"b":{"dtype":"I16","shape":[1,2],"data_offsets":[8,12]},)"
                       R"("__metadata__":{"format":"pt"},)"
                       R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("c":{"dtype":"BOOL","shape":[3],"data_offsets":[12,15]}})";
  std::string data = bytes_of<float>({1.0f, -2.5f}) + bytes_of<int16_t>({3, -4}) + std::string("\x01\x00\x07", 3);
  write_file(path, file_bytes(header, data));
  SafetensorsFile f = safe_read(path);
  REQUIRE(f.tensors.size() == 3);
  CHECK(f.metadata.at("format") == "pt");
  CHECK(f.tensors[0].first == "a");
  CHECK(f.tensors[0].second.to_vector<float>() == std::vector<float>{1.0f, -2.5f});
  CHECK(f.tensors[1].first == "b");
  CHECK(f.tensors[1].second.shape() == Shape{1, 2});
  CHECK(f.tensors[1].second.to_vector<int16_t>() == std::vector<int16_t>{3, -4});
  CHECK(f.tensors[2].second.dtype() == DType::bool_);
  CHECK(f.tensors[2].second.to_vector<bool>() == std::vector<bool>{true, false, true});
  CHECK(f.tensors[2].second.cast(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1});
}

TEST_CASE("safe_save writes the format's exact bytes", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/exact.safetensors";
  safe_save(path, {{"w", Tensor::from_vector<float>({1.5f, -2.0f}, {2, 1})}, {"n", Tensor::from_vector<int64_t>({9})}});
  std::string header = R"({"w":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},)"
                       R"("n":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  CHECK(read_file(path) == file_bytes(header, bytes_of<float>({1.5f, -2.0f}) + bytes_of<int64_t>({9})));

  // saving again replaces the file whole
  safe_save(path, {{"x", Tensor::from_vector<uint8_t>({5})}});
  NamedTensors t = safe_load(path);
  REQUIRE(t.size() == 1);
  CHECK(t[0].first == "x");
}

TEST_CASE("safe_save refuses what the format cannot hold and leaves no partial file", "[safetensors]") {
  TempDir dir;
  CHECK_THROWS_WITH(safe_save(dir.path + "/a", {{"x", Tensor::zeros({1})}, {"x", Tensor::zeros({1})}}),
                    Catch::Contains("two tensors are named 'x'"));
  CHECK_THROWS_WITH(safe_save(dir.path + "/a", {{"bad\xff", Tensor::zeros({1})}}), Catch::Contains("not UTF-8"));
  CHECK_THROWS_WITH(safe_save(dir.path + "/a", {{"__metadata__", Tensor::zeros({1})}}),
                    Catch::Contains("cannot be named __metadata__"));
  CHECK_THROWS_WITH(safe_save(dir.path + "/no/such/dir/a", {{"x", Tensor::zeros({1})}}),
                    Catch::Contains("cannot create a temporary file beside " + dir.path + "/no/such/dir/a"));
  CHECK(files_in(dir.path).empty());
}

TEST_CASE("safe_load names the path and the fault of each corrupt file", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/bad.safetensors";
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, int b, int e) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(b) + "," + std::to_string(e) + "]}";
  };
  std::string data16(16, '\0');
  struct Case {
    std::string what, bytes, error;
  };
  std::vector<Case> cases = {
      {"too short", "abc", "truncated: 3 bytes, too short for the header's length"},
      {"header past the end", file_bytes("{}", "").substr(0, 8) + "{",
       "truncated: the header's length is 2 bytes, but only 1 follow"},
      {"bad JSON", file_bytes("{\"a\":", ""), "bad header JSON"},
      {"header not an object", file_bytes("[1,2]", ""), "bad header JSON: not an object"},
      {"unknown dtype", file_bytes("{" + entry("a", "F8", "[2]", 0, 2) + "}", data16),
       "tensor 'a': unknown dtype 'F8'"},
      {"out of range", file_bytes("{" + entry("a", "F32", "[5]", 0, 20) + "}", data16),
       "tensor 'a': data_offsets [0, 20) are out of range of the 16 bytes of data"},
      {"size mismatch", file_bytes("{" + entry("a", "F32", "[2,3]", 0, 16) + "}", data16),
       "tensor 'a': shape (2,3) of F32 needs 24 bytes, data_offsets [0, 16) hold 16"},
      {"overlap",
       file_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "I32", "[2]", 4, 12) + "}", data16),
       "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
      {"begin after end", file_bytes("{" + entry("a", "U8", "[0]", 8, 4) + "}", data16),
       "tensor 'a': data_offsets is not [begin, end] with begin <= end"},
      {"negative size", file_bytes("{" + entry("a", "U8", "[-1]", 0, 0) + "}", data16),
       "tensor 'a': shape holds something other than a size"},
      {"huge shape", file_bytes("{" + entry("a", "F64", "[4294967296,4294967296,4294967296]", 0, 16) + "}", data16),
       "tensor 'a': shape (4294967296,4294967296,4294967296) of F64 needs"},
      {"no dtype", file_bytes(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", data16), "tensor 'a': no dtype"},
      {"metadata not strings", file_bytes(R"({"__metadata__":{"k":1}})", ""), "__metadata__ 'k' is not a string"},
      // llvm::json::parse recursed once a level, to a stack overflow
      {"5 million [", file_bytes(std::string(5'000'000, '['), ""), "bad header JSON: nested deeper than 64 levels"},
      {"65 levels", file_bytes(std::string(65, '[') + std::string(65, ']'), ""),
       "bad header JSON: nested deeper than 64 levels"},
      {"64 levels", file_bytes(std::string(64, '[') + std::string(64, ']'), ""), "bad header JSON: not an object"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    write_file(path, c.bytes);
    CHECK_THROWS_WITH(safe_load(path), Catch::Contains("safe_load: " + path + ": " + c.error));
  }
  CHECK_THROWS_WITH(safe_load(dir.path + "/missing"), Catch::Contains("cannot read " + dir.path + "/missing"));
}

TEST_CASE("safe_load counts nesting outside strings only", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/brackets.safetensors";
  // 100 brackets inside a string, after an escaped quote that does not end it
  std::string value = "\\\"" + std::string(100, '[') + std::string(100, '{');
  write_file(path, file_bytes(R"({"__metadata__":{"k":")" + value + R"("}})", ""));
  CHECK(safe_read(path).metadata.at("k") == "\"" + std::string(100, '[') + std::string(100, '{'));
}

TEST_CASE("safe_load refuses what is not a regular file instead of reading it forever", "[safetensors]") {
  TempDir dir;
  std::string fifo = dir.path + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0); // opening it would wait for a writer
  for (const std::string& path : {std::string("/dev/zero"), dir.path, fifo}) {
    INFO(path);
    CHECK_THROWS_WITH(safe_load(path), Catch::Contains("safe_load: " + path + ": not a regular file"));
  }
}

TEST_CASE("a save that cannot be written whole is an error and leaves the old file", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/model.safetensors";
  safe_save(path, {{"old", Tensor::full({4}, 1.0)}});
  std::string old = read_file(path);
  std::ofstream(dir.path + "/save.pg") << "from patgrad import Tensor, safe_save\n"
                                       << "safe_save({'new': Tensor.ones(100000)}, '" << path << "')\n";
  // A file size limit of 32 KB stands in for a full disk: writes past it fail with EFBIG (SIGXFSZ ignored).
  std::string out;
  int code = shell("trap '' XFSZ; ulimit -f 64; PATGRAD_CACHE_DIR=" + dir.path + "/cache exec " PATGRAD_BINARY " run " +
                       dir.path + "/save.pg",
                   &out);
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("safe_save: cannot write " + path + ".tmp-"));
  CHECK(read_file(path) == old);
  for (const std::string& name : files_in(dir.path)) CHECK(name.find(".tmp-") == std::string::npos);
}

TEST_CASE("a save removes the temporaries that killed saves left, and only those", "[safetensors]") {
  TempDir dir;
  std::string path = dir.path + "/model.safetensors";
  auto make = [&](const std::string& name, int age_seconds) {
    int fd;
    REQUIRE(!llvm::sys::fs::openFileForWrite(dir.path + "/" + name, fd));
    auto when = std::chrono::system_clock::now() - std::chrono::seconds(age_seconds);
    REQUIRE(!llvm::sys::fs::setLastAccessAndModificationTime(fd, when));
    ::close(fd);
  };
  make("model.safetensors.tmp-0123abcd", 120); // a killed save's: removed
  make("model.safetensors.tmp-89abcdef", 0);   // a save that may be under way: kept
  make("other.safetensors.tmp-0123abcd", 120); // another path's: kept
  make("model.safetensors.tmp-notmine", 120);  // not a temporary's name: kept
  safe_save(path, {{"x", Tensor::full({2}, 3.0)}});
  CHECK(files_in(dir.path) == std::vector<std::string>{"model.safetensors", "model.safetensors.tmp-89abcdef",
                                                       "model.safetensors.tmp-notmine",
                                                       "other.safetensors.tmp-0123abcd"});
}

TEST_CASE("processes saving and loading one checkpoint at once always see a whole file", "[safetensors]") {
  // Each saver k writes tensors whose values and length both say k; a torn or mixed file would disagree with itself.
  // The last rename wins: the file at the end is one saver's whole file.
  TempDir dir;
  std::string path = dir.path + "/shared.safetensors";
  std::ofstream(dir.path + "/race.pg") << R"(import sys
from patgrad import Tensor, safe_save, safe_load
path, k = sys.argv[1], int(sys.argv[2])
for i in range(12):
    if k > 0:
        safe_save({"a": Tensor.full((1000 * k,), k), "b": Tensor.full((3,), k)}, path)
    else:
        d = safe_load(path)
        v = d["b"].max().item()
        assert d["a"].shape == (1000 * int(v),), f"a has shape {d['a'].shape} in version {v}"
        assert d["a"].min().item() == v and d["a"].max().item() == v and d["b"].min().item() == v, "mixed versions"
print("ok")
)";
  safe_save(path, {{"a", Tensor::full({1000}, 1.0)}, {"b", Tensor::full({3}, 1.0)}});
  std::string run = "PATGRAD_CACHE_DIR=" + dir.path + "/cache " PATGRAD_BINARY " run " + dir.path + "/race.pg " + path;
  // three savers and three loaders, all at once, each with its output and exit code in a file of its own
  std::string command;
  const int versions[] = {1, 2, 3, 0, 0, 0};
  for (int i = 0; i < 6; i++) {
    std::string out = dir.path + "/out" + std::to_string(i);
    command += "(" + run + " " + std::to_string(versions[i]) + " >" + out + " 2>&1; echo \"exit $?\" >>" + out + ") & ";
  }
  shell(command + "wait");
  for (int i = 0; i < 6; i++) CHECK(read_file(dir.path + "/out" + std::to_string(i)) == "ok\nexit 0\n");
  SafetensorsFile last = safe_read(path);
  double v = last.tensors.at(1).second.to_vector<double>()[0];
  CHECK((v == 1 || v == 2 || v == 3));
  CHECK(last.tensors.at(0).second.shape() == Shape{int64_t(1000 * v)});
  for (const std::string& name : files_in(dir.path)) CHECK(name.find(".tmp-") == std::string::npos);
}
