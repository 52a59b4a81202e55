// safetensors: round trips of every dtype, a file built here byte by byte, the writer's exact bytes, and one error
// per kind of corruption.
#include "frontend/safetensors.h"
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <sstream>

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
  CHECK(!llvm::sys::fs::exists(path + ".tmp"));

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
                    Catch::Contains("cannot create " + dir.path + "/no/such/dir/a.tmp"));
  CHECK(!llvm::sys::fs::exists(dir.path + "/a"));
  CHECK(!llvm::sys::fs::exists(dir.path + "/a.tmp"));
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
  };
  for (const Case& c : cases) {
    INFO(c.what);
    write_file(path, c.bytes);
    CHECK_THROWS_WITH(safe_load(path), Catch::Contains("safe_load: " + path + ": " + c.error));
  }
  CHECK_THROWS_WITH(safe_load(dir.path + "/missing"), Catch::Contains("cannot read " + dir.path + "/missing"));
}
