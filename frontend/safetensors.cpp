// safetensors: the header is checked in full before any tensor is made, so a bad file gives one clear error and no
// partial result. Little-endian host assumed, as the format's data is.
#include "frontend/safetensors.h"
#include "frontend/tensor_internal.h"
#include "runtime/atomic_file.h"
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <llvm/ADT/ScopeExit.h>
#include <llvm/ADT/StringSet.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/MemoryBuffer.h>

namespace patgrad {

namespace {

constexpr std::pair<const char*, DType> dtype_names[] = {
    {"F64", DType::f64}, {"F32", DType::f32}, {"F16", DType::f16},   {"BF16", DType::bf16}, {"I64", DType::i64},
    {"I32", DType::i32}, {"I16", DType::i16}, {"I8", DType::i8},     {"U64", DType::u64},   {"U32", DType::u32},
    {"U16", DType::u16}, {"U8", DType::u8},   {"BOOL", DType::bool_}};

std::optional<DType> parse_dtype(llvm::StringRef s) {
  for (auto [name, d] : dtype_names)
    if (s == name) return d;
  return std::nullopt;
}

const char* dtype_name(DType d) {
  for (auto [name, dt] : dtype_names)
    if (dt == d) return name;
  return nullptr;
}

size_t element_bytes(DType d) { return size_t(std::max(1, uops::bits(d) / 8)); }

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end; // in the data section
};

// One tensor's header entry, or why it is bad. `bad` formats the error with the path.
template <typename Bad>
Entry parse_entry(const std::string& name, const llvm::json::Value& v, uint64_t data_size, const Bad& bad) {
  const llvm::json::Object* o = v.getAsObject();
  if (!o) throw bad(fmt::format("tensor '{}': the header entry is not an object", name));
  std::optional<llvm::StringRef> dtype = o->getString("dtype");
  if (!dtype) throw bad(fmt::format("tensor '{}': no dtype", name));
  std::optional<DType> d = parse_dtype(*dtype);
  if (!d) throw bad(fmt::format("tensor '{}': unknown dtype '{}'", name, dtype->str()));
  const llvm::json::Array* shape = o->getArray("shape");
  const llvm::json::Array* offsets = o->getArray("data_offsets");
  if (!shape) throw bad(fmt::format("tensor '{}': no shape", name));
  if (!offsets || offsets->size() != 2) throw bad(fmt::format("tensor '{}': data_offsets is not [begin, end]", name));
  Entry e{name, *d, {}, 0, 0};
  // the element count, capped where it passes the data's size so a huge shape cannot overflow
  unsigned __int128 numel = 1;
  for (const llvm::json::Value& x : *shape) {
    std::optional<int64_t> n = x.getAsInteger();
    if (!n || *n < 0) throw bad(fmt::format("tensor '{}': shape holds something other than a size", name));
    e.shape.push_back(*n);
    numel = std::min<unsigned __int128>(numel * uint64_t(*n), (unsigned __int128)data_size + 1);
  }
  std::optional<uint64_t> begin = (*offsets)[0].getAsUINT64(), end = (*offsets)[1].getAsUINT64();
  if (!begin || !end || *begin > *end)
    throw bad(fmt::format("tensor '{}': data_offsets is not [begin, end] with begin <= end", name));
  e.begin = *begin;
  e.end = *end;
  if (e.end > data_size)
    throw bad(fmt::format("tensor '{}': data_offsets [{}, {}) are out of range of the {} bytes of data", name, e.begin,
                          e.end, data_size));
  if (numel > data_size)
    throw bad(fmt::format("tensor '{}': shape {} of {} needs more than the {} bytes of data", name,
                          detail::shape_str(e.shape), dtype->str(), data_size));
  if (numel * element_bytes(e.dtype) != e.end - e.begin)
    throw bad(fmt::format("tensor '{}': shape {} of {} needs {} bytes, data_offsets [{}, {}) hold {}", name,
                          detail::shape_str(e.shape), dtype->str(), uint64_t(numel * element_bytes(e.dtype)), e.begin,
                          e.end, e.end - e.begin));
  return e;
}

// A JSON string literal of UTF-8 text (checked by the caller).
std::string json_string(llvm::StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += {'\\', char(c)};
    else if (c < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out += char(c);
  }
  return out + "\"";
}

// The deepest nesting of [ and { in JSON text, outside strings; JSON's grammar is checked later, by the parser.
size_t json_depth(llvm::StringRef text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++; // an escape: the next character cannot end the string
      else if (c == '"')
        in_string = false;
    } else if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0)
      depth--;
  }
  return deepest;
}

} // namespace

SafetensorsFile safe_read(const std::string& path) {
  auto cannot_read = [&](const std::string& why) {
    return TensorError(fmt::format("safe_load: cannot read {}: {}", path, why));
  };
  auto not_regular = [&] { return TensorError(fmt::format("safe_load: {}: not a regular file", path)); };
  // Only a regular file has a size to bound the read by: /dev/zero would be read until memory runs out, and opening a
  // FIFO waits for a writer. Checked before opening, and again on what was opened.
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status)) throw cannot_read(ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file) throw not_regular();
  auto fd = llvm::sys::fs::openNativeFileForRead(path);
  if (!fd) throw cannot_read(llvm::toString(fd.takeError()));
  auto close = llvm::make_scope_exit([&] { llvm::sys::fs::closeFile(*fd); });
  if (std::error_code ec = llvm::sys::fs::status(*fd, status)) throw cannot_read(ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file) throw not_regular();
  auto file = llvm::MemoryBuffer::getOpenFile(*fd, path, status.getSize(), /*RequiresNullTerminator=*/false);
  if (!file) throw cannot_read(file.getError().message());
  return safe_parse((*file)->getBuffer(), path);
}

SafetensorsFile safe_parse(llvm::StringRef bytes, const std::string& name) {
  auto bad = [&](const std::string& why) { return TensorError(fmt::format("safe_load: {}: {}", name, why)); };
  if (bytes.size() < 8) throw bad(fmt::format("truncated: {} bytes, too short for the header's length", bytes.size()));
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8)
    throw bad(
        fmt::format("truncated: the header's length is {} bytes, but only {} follow", header_size, bytes.size() - 8));
  llvm::StringRef data = bytes.drop_front(8 + header_size);
  // llvm::json::parse recurses once per level: millions of [ would overflow the stack. A safetensors header needs
  // three levels (the header, a tensor's entry, its shape).
  constexpr size_t max_depth = 64;
  if (json_depth(bytes.substr(8, header_size)) > max_depth)
    throw bad(fmt::format("bad header JSON: nested deeper than {} levels", max_depth));
  llvm::Expected<llvm::json::Value> header = llvm::json::parse(bytes.substr(8, header_size));
  if (!header) throw bad("bad header JSON: " + llvm::toString(header.takeError()));
  const llvm::json::Object* top = header->getAsObject();
  if (!top) throw bad("bad header JSON: not an object");

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : *top) {
    if (key == "__metadata__") {
      const llvm::json::Object* meta = value.getAsObject();
      if (!meta) throw bad("__metadata__ is not an object");
      for (const auto& [k, v] : *meta) {
        std::optional<llvm::StringRef> s = v.getAsString();
        if (!s) throw bad(fmt::format("__metadata__ '{}' is not a string", k.str()));
        out.metadata[k.str()] = s->str();
      }
    } else
      entries.push_back(parse_entry(key.str(), value, data.size(), bad));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  for (size_t i = 1; i < entries.size(); i++) {
    const Entry &a = entries[i - 1], &b = entries[i];
    if (b.begin < a.end)
      throw bad(fmt::format("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", a.name, a.begin, a.end, b.name, b.begin,
                            b.end));
  }
  for (const Entry& e : entries) {
    std::vector<uint8_t> raw(data.bytes_begin() + e.begin, data.bytes_begin() + e.end);
    if (e.dtype == DType::bool_)
      for (uint8_t& b : raw) b = b != 0; // a bool is 0 or 1 in memory
    out.tensors.emplace_back(e.name, Tensor::from_data(raw.data(), e.dtype, e.shape));
  }
  return out;
}

NamedTensors safe_load(const std::string& path) { return safe_read(path).tensors; }

void safe_save(const std::string& path, const NamedTensors& tensors,
               const std::map<std::string, std::string>& metadata) {
  llvm::StringSet<> names;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw TensorError("safe_save: a tensor cannot be named __metadata__");
    if (!names.insert(name).second) throw TensorError(fmt::format("safe_save: two tensors are named '{}'", name));
    if (!llvm::json::isUTF8(name)) throw TensorError("safe_save: a tensor's name is not UTF-8 text");
    if (!dtype_name(t.dtype()))
      throw TensorError(
          fmt::format("safe_save: tensor '{}' has dtype {}, which safetensors lacks", name, uops::name(t.dtype())));
  }
  for (const auto& [k, v] : metadata)
    if (!llvm::json::isUTF8(k) || !llvm::json::isUTF8(v))
      throw TensorError("safe_save: a __metadata__ key or value is not UTF-8 text");
  std::vector<Tensor> all;
  for (const auto& [name, t] : tensors) all.push_back(t);
  Tensor::realize_all(all); // one schedule: work the tensors share is done once
  std::vector<std::vector<uint8_t>> data;
  for (const Tensor& t : all) data.push_back(t.bytes());

  // written by hand: llvm::json::OStream trips GCC's maybe-uninitialized warning in sanitizer builds at -O2
  std::string header = "{";
  auto entry = [&](const std::string& key, const std::string& value) {
    header += (header.size() > 1 ? "," : "") + json_string(key) + ":" + value;
  };
  if (!metadata.empty()) {
    std::string meta = "{";
    for (const auto& [k, v] : metadata) meta += (meta.size() > 1 ? "," : "") + json_string(k) + ":" + json_string(v);
    entry("__metadata__", meta + "}");
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); i++) {
    const Tensor& t = tensors[i].second;
    entry(tensors[i].first,
          fmt::format(R"({{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", dtype_name(t.dtype()),
                      fmt::join(t.shape(), ","), offset, offset + data[i].size()));
    offset += data[i].size();
  }
  header += "}";
  header.resize((header.size() + 7) / 8 * 8, ' '); // the data starts 8-aligned, as the reference writer does
  uint64_t header_size = header.size();

  // Concurrent saves of one path each write a whole file of their own and the last rename wins: path always holds
  // one complete save, and no save reports success for a file it did not write whole.
  llvm::Error saved = runtime::write_file_atomically(path, [&](llvm::raw_ostream& os) {
    os.write(reinterpret_cast<const char*>(&header_size), 8);
    os << header;
    for (const auto& d : data) os.write(reinterpret_cast<const char*>(d.data()), d.size());
    return llvm::Error::success();
  });
  if (saved) throw TensorError(fmt::format("safe_save: {}", llvm::toString(std::move(saved))));
}

} // namespace patgrad
