// datasets and safetensors for scripts: fashion_mnist, DataLoader (iterating one gives the epoch's batches as tuples:
// the interpreter iterates lists), safe_load and safe_save.
#include "frontend/datasets.h"
#include "frontend/safetensors.h"
#include "frontend/script/bind_train.h"

namespace patgrad::script {
namespace {

struct LoaderObj : InstanceObj {
  std::unique_ptr<datasets::DataLoader> loader;
  LoaderObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : InstanceObj(std::move(c)) {}
};

Value fashion_mnist(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("fashion_mnist", args, {"split=", "format=", "dir=", "label_dtype="});
  std::string split = b.has(0) ? to_str(b[0], "split") : "train";
  if (split != "train" && split != "test")
    raise("ValueError", fmt::format("fashion_mnist: split must be 'train' or 'test', not '{}'", split));
  datasets::FashionMnistOptions o;
  std::string format = b.has(1) ? to_str(b[1], "format") : "normal";
  if (format == "normal")
    o.format = datasets::ImageFormat::f32_normal;
  else if (format == "unit")
    o.format = datasets::ImageFormat::f32_unit;
  else if (format == "uint8")
    o.format = datasets::ImageFormat::u8;
  else
    raise("ValueError", fmt::format("fashion_mnist: format must be 'normal', 'unit' or 'uint8', not '{}'", format));
  if (b.has(2) && !b[2].is_none()) o.dir = to_str(b[2], "dir");
  if (b.has(3)) o.label_dtype = to_dtype(b[3], "label_dtype");
  datasets::Dataset d = datasets::fashion_mnist(split == "train" ? datasets::Split::train : datasets::Split::test, o);
  return make_tuple({wrap(d.images), wrap(d.labels)});
}

LoaderObj& loader_of(const Value& self) { return native<LoaderObj>(self, "DataLoader"); }

Value loader_len(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("__len__", args, {"self"});
  return Value::integer(loader_of(b[0]).loader->num_batches());
}

// Every batch of the next epoch, as tuples: the interpreter iterates lists.
Value loader_iter(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("__iter__", args, {"self"});
  std::vector<Value> batches;
  for (std::vector<Tensor> batch : *loader_of(b[0]).loader) {
    std::vector<Value> items;
    for (Tensor& t : batch) items.push_back(wrap(t));
    batches.push_back(make_tuple(std::move(items)));
  }
  return make_list(std::move(batches));
}

Value data_loader(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("DataLoader", args, {"tensors", "batch_size=", "shuffle=", "seed=", "drop_last="});
  std::vector<Tensor> ts;
  for (const Value& x : in.iterate(b[0])) ts.push_back(tensor_arg(in, x, "tensors item"));
  datasets::LoaderOptions o{.batch_size = int_or(b, 1, 64, "batch_size"),
                            .shuffle = bool_or(in, b, 2, false),
                            .seed = uint64_t(int_or(b, 3, 0, "seed")),
                            .drop_last = bool_or(in, b, 4, false)};
  auto* l = new LoaderObj(class_named("DataLoader", {{"__len__", loader_len}, {"__iter__", loader_iter}}));
  Value v{ObjRef(l)};
  l->loader = std::make_unique<datasets::DataLoader>(ts, o);
  return v;
}

} // namespace

Value datasets_module(Interp& in) {
  static const std::pair<const char*, BuiltinFn> data[] = {{"fashion_mnist", fashion_mnist},
                                                           {"DataLoader", data_loader}};
  return module_with(in, "patgrad.datasets", data);
}

void add_safetensors_functions(Env& patgrad) {
  static const std::pair<const char*, BuiltinFn> fns[] = {
      {"safe_load",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("safe_load", args, {"path"});
         auto* d = new DictObj();
         Value r{ObjRef(d)};
         for (auto& [n, t] : safe_load(to_str(b[0], "path"))) d->set(make_str(n), wrap(t));
         return r;
       }},
      {"safe_save",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("safe_save", args, {"tensors", "path"});
         if (!b[0].is(Type::Dict))
           raise("TypeError",
                 fmt::format("safe_save(): tensors must be a dict of name to Tensor, not {}", type_name(b[0])));
         NamedTensors ts;
         for (auto& [k, v] : b[0].as<DictObj>().entries)
           ts.push_back({in.str(k), tensor_arg(in, v, "safe_save value")});
         safe_save(to_str(b[1], "path"), ts);
         return Value();
       }},
  };
  for (auto& [n, f] : fns) patgrad.vars.set(n, builtin(n, f));
}

} // namespace patgrad::script
