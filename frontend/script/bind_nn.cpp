// nn for scripts: layers, nn.functional, nn.train/nn.eval, and the state of a script's objects. A layer is an
// instance whose attributes hold its tensors, as tinygrad's layers are objects with tensor attributes: get_parameters
// and get_state_dict walk attributes, so a script's own classes that hold layers work the same way, and
// `head.weight = wte.weight` ties weights. The C++ layer (frontend/nn.h) makes the tensors with PyTorch's
// initialisation and computes the forward pass from whatever the attributes hold then.
#include "frontend/nn.h"
#include "frontend/script/bind_train.h"
#include <functional>

namespace patgrad::script {
namespace {

namespace F = nn::functional;

F::Reduction reduction_arg(const Bound& b, size_t i) {
  if (!b.has(i)) return F::Reduction::mean;
  const std::string& r = to_str(b[i], "reduction");
  if (r == "mean") return F::Reduction::mean;
  if (r == "sum") return F::Reduction::sum;
  if (r == "none") return F::Reduction::none;
  raise("ValueError", fmt::format("reduction must be 'mean', 'sum' or 'none', not '{}'", r));
}

// ---- layers

// Which C++ member holds each tensor attribute, so that a forward pass uses what the attributes hold now.
using Slots = std::vector<std::pair<const char*, std::function<void(const Tensor&)>>>;

struct LayerObj : InstanceObj {
  std::unique_ptr<nn::Module> module;
  std::function<Tensor(const Tensor&)> forward;
  Slots slots;
  LayerObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : InstanceObj(std::move(c)) {}
};

Value call_layer(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("layer", args, {"self", "input"});
  auto& l = native<LayerObj>(b[0], "layer");
  for (auto& [name, set] : l.slots) {
    Value* v = l.attrs.find(name);
    if (v && !v->is_none()) set(tensor_arg(in, *v, name));
  }
  Value* training = l.attrs.find("training");
  l.module->train(!training || truthy(in, *training));
  return wrap(l.forward(tensor_arg(in, b[1], "input")));
}

template <typename M>
Value make_layer(const char* kind, std::unique_ptr<M> m, Slots slots) {
  auto* l = new LayerObj(class_named(kind, {{"__call__", call_layer}, {"forward", call_layer}}));
  Value v{ObjRef(l)};
  for (auto& [name, t] : m->named_parameters()) l->attrs.set(name, wrap(t));
  for (auto& [name, t] : m->named_buffers()) l->attrs.set(name, wrap(t));
  for (auto& [name, set] : slots) // an optional tensor the layer does not have is None, as PyTorch's bias=False
    if (!l->attrs.find(name)) l->attrs.set(name, Value());
  l->attrs.set("training", Value::boolean(true));
  M* raw = m.get();
  l->forward = [raw](const Tensor& x) { return raw->forward(x); };
  l->module = std::move(m);
  l->slots = std::move(slots);
  return v;
}

// slots for weight and an optional bias
template <typename M>
Slots weight_bias(M* m) {
  return {{"weight", [m](const Tensor& t) { m->weight = t; }}, {"bias", [m](const Tensor& t) { m->bias = t; }}};
}

Value linear(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("Linear", args, {"in_features", "out_features", "bias="});
  auto m =
      std::make_unique<nn::Linear>(to_int(b[0], "in_features"), to_int(b[1], "out_features"), bool_or(in, b, 2, true));
  Slots s = weight_bias(m.get());
  return make_layer("Linear", std::move(m), std::move(s));
}

Value conv2d(Interp& in, const Value&, CallArgs& args) {
  Bound b =
      bind("Conv2d", args,
           {"in_channels", "out_channels", "kernel_size", "stride=", "padding=", "dilation=", "groups=", "bias="});
  nn::Conv2dOptions o{.stride = pair_or(in, b, 3, {1}, "stride"),
                      .padding = pair_or(in, b, 4, {0}, "padding"),
                      .dilation = pair_or(in, b, 5, {1}, "dilation"),
                      .groups = int_or(b, 6, 1, "groups"),
                      .bias = bool_or(in, b, 7, true)};
  Shape k = to_axes(in, b[2], "kernel_size");
  if (k.size() == 1) k.push_back(k[0]);
  auto m = std::make_unique<nn::Conv2d>(to_int(b[0], "in_channels"), to_int(b[1], "out_channels"), k, o);
  Slots s = weight_bias(m.get());
  return make_layer("Conv2d", std::move(m), std::move(s));
}

Value conv_transpose2d(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("ConvTranspose2d", args,
                 {"in_channels", "out_channels", "kernel_size",
                  "stride=", "padding=", "output_padding=", "groups=", "bias=", "dilation="});
  nn::ConvTranspose2dOptions o{.stride = pair_or(in, b, 3, {1}, "stride"),
                               .padding = pair_or(in, b, 4, {0}, "padding"),
                               .output_padding = pair_or(in, b, 5, {0}, "output_padding"),
                               .dilation = pair_or(in, b, 8, {1}, "dilation"),
                               .groups = int_or(b, 6, 1, "groups"),
                               .bias = bool_or(in, b, 7, true)};
  Shape k = to_axes(in, b[2], "kernel_size");
  if (k.size() == 1) k.push_back(k[0]);
  auto m = std::make_unique<nn::ConvTranspose2d>(to_int(b[0], "in_channels"), to_int(b[1], "out_channels"), k, o);
  Slots s = weight_bias(m.get());
  return make_layer("ConvTranspose2d", std::move(m), std::move(s));
}

template <typename BN>
Value batch_norm(Interp& in, CallArgs& args, const char* kind) {
  Bound b = bind(kind, args, {"num_features", "eps=", "momentum=", "affine=", "track_running_stats="});
  nn::BatchNormOptions o{.eps = float_or(b, 1, 1e-5, "eps"),
                         .momentum = float_or(b, 2, 0.1, "momentum"),
                         .affine = bool_or(in, b, 3, true),
                         .track_running_stats = bool_or(in, b, 4, true)};
  auto m = std::make_unique<BN>(to_int(b[0], "num_features"), o);
  BN* p = m.get();
  Slots s = weight_bias(p);
  s.push_back({"running_mean", [p](const Tensor& t) { p->running_mean = t; }});
  s.push_back({"running_var", [p](const Tensor& t) { p->running_var = t; }});
  s.push_back({"num_batches_tracked", [p](const Tensor& t) { p->num_batches_tracked = t; }});
  return make_layer(kind, std::move(m), std::move(s));
}

Value layer_norm(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("LayerNorm", args, {"normalized_shape", "eps=", "elementwise_affine=", "bias="});
  auto m = std::make_unique<nn::LayerNorm>(to_axes(in, b[0], "normalized_shape"), float_or(b, 1, 1e-5, "eps"),
                                           bool_or(in, b, 2, true), bool_or(in, b, 3, true));
  Slots s = weight_bias(m.get());
  return make_layer("LayerNorm", std::move(m), std::move(s));
}

Value rms_norm(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("RMSNorm", args, {"normalized_shape", "eps=", "elementwise_affine="});
  std::optional<double> eps;
  if (b.has(1) && !b[1].is_none()) eps = to_float(b[1], "eps");
  auto m = std::make_unique<nn::RMSNorm>(to_axes(in, b[0], "normalized_shape"), eps, bool_or(in, b, 2, true));
  nn::RMSNorm* p = m.get();
  return make_layer("RMSNorm", std::move(m), {{"weight", [p](const Tensor& t) { p->weight = t; }}});
}

Value group_norm(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("GroupNorm", args, {"num_groups", "num_channels", "eps=", "affine="});
  auto m = std::make_unique<nn::GroupNorm>(to_int(b[0], "num_groups"), to_int(b[1], "num_channels"),
                                           float_or(b, 2, 1e-5, "eps"), bool_or(in, b, 3, true));
  Slots s = weight_bias(m.get());
  return make_layer("GroupNorm", std::move(m), std::move(s));
}

Value embedding(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("Embedding", args, {"num_embeddings", "embedding_dim"});
  auto m = std::make_unique<nn::Embedding>(to_int(b[0], "num_embeddings"), to_int(b[1], "embedding_dim"));
  nn::Embedding* p = m.get();
  return make_layer("Embedding", std::move(m), {{"weight", [p](const Tensor& t) { p->weight = t; }}});
}

Value dropout_layer(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("Dropout", args, {"p="});
  return make_layer("Dropout", std::make_unique<nn::Dropout>(float_or(b, 0, 0.5, "p")), {});
}
// ---- walking a script's objects: the tensors under attributes, list items and dict values, with dotted names

void walk(Interp& in, const Value& v, const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out,
          std::vector<const Object*>& seen, int depth) {
  if (depth > 64) raise("RecursionError", "objects nested more than 64 deep");
  auto name = [&](const std::string& k) { return prefix.empty() ? k : prefix + "." + k; };
  switch (v.type()) {
  case Type::Tensor: {
    const Tensor& t = v.as<TensorObj>().t;
    for (auto& [n, x] : out)
      if (x.is(t)) return; // a tied tensor counts once, under its first name
    out.push_back({prefix, t});
    return;
  }
  case Type::Instance: {
    if (std::find(seen.begin(), seen.end(), v.obj()) != seen.end()) return;
    seen.push_back(v.obj());
    for (auto& [k, x] : v.as<InstanceObj>().attrs.entries()) walk(in, x, name(k), out, seen, depth + 1);
    return;
  }
  case Type::List:
  case Type::Tuple: {
    auto& items = v.as<ListObj>().items;
    for (size_t i = 0; i < items.size(); i++) walk(in, items[i], name(std::to_string(i)), out, seen, depth + 1);
    return;
  }
  case Type::Dict:
    for (auto& [k, x] : v.as<DictObj>().entries) walk(in, x, name(in.str(k)), out, seen, depth + 1);
    return;
  default: return;
  }
}

std::vector<std::pair<std::string, Tensor>> tensors_under(Interp& in, const Value& v) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::vector<const Object*> seen;
  walk(in, v, "", out, seen, 0);
  return out;
}

Value get_parameters(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("get_parameters", args, {"obj"});
  std::vector<Value> out;
  for (auto& [n, t] : tensors_under(in, b[0]))
    if (t.requires_grad()) out.push_back(wrap(t));
  return make_list(std::move(out));
}

Value get_state_dict(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("get_state_dict", args, {"obj"});
  auto* d = new DictObj();
  Value r{ObjRef(d)};
  for (auto& [n, t] : tensors_under(in, b[0])) d->set(make_str(n), wrap(t));
  return r;
}

Value load_state_dict(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("load_state_dict", args, {"obj", "state_dict", "strict="});
  if (!b[1].is(Type::Dict))
    raise("TypeError", fmt::format("load_state_dict(): state_dict must be a dict, not {}", type_name(b[1])));
  bool strict = bool_or(in, b, 2, true);
  auto mine = tensors_under(in, b[0]);
  auto& given = b[1].as<DictObj>();
  std::vector<std::pair<Tensor, Tensor>> todo;
  for (auto& [n, t] : mine) {
    Value* v = given.find(make_str(n));
    if (!v) {
      if (strict) raise("KeyError", fmt::format("load_state_dict(): missing key '{}'", n));
      continue;
    }
    Tensor x = tensor_arg(in, *v, "state_dict value");
    if (x.shape() != t.shape() || x.dtype() != t.dtype())
      raise("ValueError",
            fmt::format("load_state_dict(): '{}' is {} {} in the state_dict but {} {} in the object", n,
                        shape_str(x.shape()), dtype_name(x.dtype()), shape_str(t.shape()), dtype_name(t.dtype())));
    todo.push_back({t, x});
  }
  if (strict)
    for (auto& [k, x] : given.entries) {
      std::string key = in.str(k);
      if (std::none_of(mine.begin(), mine.end(), [&](auto& p) { return p.first == key; }))
        raise("KeyError", fmt::format("load_state_dict(): unexpected key '{}'", key));
    }
  std::vector<Tensor> all;
  for (auto& [t, x] : todo) all.push_back(t.assign(x));
  Tensor::realize_all(all);
  return Value();
}

// nn.train(obj, mode=True) and nn.eval(obj): the training flag of every layer under obj
void set_training(Interp& in, const Value& v, bool on, int depth) {
  if (depth > 64) raise("RecursionError", "objects nested more than 64 deep");
  if (v.is(Type::Instance)) {
    auto& inst = v.as<InstanceObj>();
    if (inst.attrs.find("training")) inst.attrs.set("training", Value::boolean(on));
    for (auto& [k, x] : inst.attrs.entries())
      if (!x.is(Type::Builtin)) set_training(in, x, on, depth + 1);
  } else if (v.is(Type::List) || v.is(Type::Tuple)) {
    for (const Value& x : v.as<ListObj>().items) set_training(in, x, on, depth + 1);
  } else if (v.is(Type::Dict)) {
    for (auto& [k, x] : v.as<DictObj>().entries) set_training(in, x, on, depth + 1);
  }
}
// ---- nn.functional

const std::pair<const char*, BuiltinFn> functional[] = {
    {"cross_entropy",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("cross_entropy", args, {"input", "target", "reduction=", "ignore_index=", "label_smoothing="});
       F::CrossEntropyOptions o{.reduction = reduction_arg(b, 2),
                                .ignore_index = int_or(b, 3, -100, "ignore_index"),
                                .label_smoothing = float_or(b, 4, 0, "label_smoothing")};
       return wrap(F::cross_entropy(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"), o));
     }},
    {"nll_loss",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("nll_loss", args, {"input", "target", "reduction=", "ignore_index="});
       return wrap(F::nll_loss(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"), reduction_arg(b, 2),
                               int_or(b, 3, -100, "ignore_index")));
     }},
    {"mse_loss",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("mse_loss", args, {"input", "target", "reduction="});
       return wrap(F::mse_loss(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"), reduction_arg(b, 2)));
     }},
    {"l1_loss",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("l1_loss", args, {"input", "target", "reduction="});
       return wrap(F::l1_loss(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"), reduction_arg(b, 2)));
     }},
    {"binary_cross_entropy",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("binary_cross_entropy", args, {"input", "target", "reduction="});
       return wrap(
           F::binary_cross_entropy(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"), reduction_arg(b, 2)));
     }},
    {"binary_cross_entropy_with_logits",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("binary_cross_entropy_with_logits", args, {"input", "target", "reduction=", "pos_weight="});
       return wrap(F::binary_cross_entropy_with_logits(tensor_arg(in, b[0], "input"), tensor_arg(in, b[1], "target"),
                                                       reduction_arg(b, 2), optional_tensor(in, b, 3, "pos_weight")));
     }},
    {"one_hot",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("one_hot", args, {"tensor", "num_classes="});
       return wrap(F::one_hot(tensor_arg(in, b[0], "tensor"), int_or(b, 1, -1, "num_classes")));
     }},
    {"scaled_dot_product_attention",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("scaled_dot_product_attention", args,
                      {"query", "key", "value", "attn_mask=", "dropout_p=", "is_causal=", "scale="});
       F::AttentionOptions o{.attn_mask = optional_tensor(in, b, 3, "attn_mask"),
                             .dropout_p = float_or(b, 4, 0, "dropout_p"),
                             .is_causal = bool_or(in, b, 5, false)};
       if (b.has(6) && !b[6].is_none()) o.scale = to_float(b[6], "scale");
       return wrap(F::scaled_dot_product_attention(tensor_arg(in, b[0], "query"), tensor_arg(in, b[1], "key"),
                                                   tensor_arg(in, b[2], "value"), o));
     }},
    {"dropout",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("dropout", args, {"input", "p=", "training="});
       return wrap(F::dropout(tensor_arg(in, b[0], "input"), float_or(b, 1, 0.5, "p"), bool_or(in, b, 2, true)));
     }},
    {"layer_norm",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("layer_norm", args, {"input", "normalized_shape", "weight=", "bias=", "eps="});
       return wrap(F::layer_norm(tensor_arg(in, b[0], "input"), to_axes(in, b[1], "normalized_shape"),
                                 optional_tensor(in, b, 2, "weight"), optional_tensor(in, b, 3, "bias"),
                                 float_or(b, 4, 1e-5, "eps")));
     }},
    {"max_pool2d",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("max_pool2d", args, {"input", "kernel_size", "stride=", "padding=", "dilation="});
       return wrap(tensor_arg(in, b[0], "input")
                       .max_pool2d(to_axes(in, b[1], "kernel_size"), pair_or(in, b, 2, {}, "stride"),
                                   pair_or(in, b, 3, {0}, "padding"), pair_or(in, b, 4, {1}, "dilation")));
     }},
    {"avg_pool2d",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("avg_pool2d", args, {"input", "kernel_size", "stride=", "padding=", "count_include_pad="});
       return wrap(tensor_arg(in, b[0], "input")
                       .avg_pool2d(to_axes(in, b[1], "kernel_size"), pair_or(in, b, 2, {}, "stride"),
                                   pair_or(in, b, 3, {0}, "padding"),
                                   bool_or(in, b, 4, true) ? Tensor::PadCount::include : Tensor::PadCount::exclude));
     }},
    {"relu", [](Interp& in, const Value&,
                CallArgs& args) { return wrap(tensor_arg(in, bind("relu", args, {"input"})[0], "input").relu()); }},
    {"gelu", [](Interp& in, const Value&,
                CallArgs& args) { return wrap(tensor_arg(in, bind("gelu", args, {"input"})[0], "input").gelu()); }},
    {"silu", [](Interp& in, const Value&,
                CallArgs& args) { return wrap(tensor_arg(in, bind("silu", args, {"input"})[0], "input").silu()); }},
    {"sigmoid",
     [](Interp& in, const Value&, CallArgs& args) {
       return wrap(tensor_arg(in, bind("sigmoid", args, {"input"})[0], "input").sigmoid());
     }},
    {"softmax",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("softmax", args, {"input", "dim="});
       return wrap(tensor_arg(in, b[0], "input").softmax(int_or(b, 1, -1, "dim")));
     }},
    {"log_softmax",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("log_softmax", args, {"input", "dim="});
       return wrap(tensor_arg(in, b[0], "input").log_softmax(int_or(b, 1, -1, "dim")));
     }},
};

} // namespace

Value nn_module(Interp& in) {
  Value functional_module = module_with(in, "patgrad.nn.functional", functional);
  static const std::pair<const char*, BuiltinFn> layers[] = {
      {"Linear", linear},
      {"Conv2d", conv2d},
      {"ConvTranspose2d", conv_transpose2d},
      {"BatchNorm1d",
       [](Interp& in, const Value&, CallArgs& a) { return batch_norm<nn::BatchNorm1d>(in, a, "BatchNorm1d"); }},
      {"BatchNorm2d",
       [](Interp& in, const Value&, CallArgs& a) { return batch_norm<nn::BatchNorm2d>(in, a, "BatchNorm2d"); }},
      {"LayerNorm", layer_norm},
      {"RMSNorm", rms_norm},
      {"GroupNorm", group_norm},
      {"Embedding", embedding},
      {"Dropout", dropout_layer},
      {"train",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("train", args, {"obj", "mode="});
         set_training(in, b[0], bool_or(in, b, 1, true), 0);
         return b[0];
       }},
      {"eval",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("eval", args, {"obj"});
         set_training(in, b[0], false, 0);
         return b[0];
       }},
  };
  Value nn = module_with(in, "patgrad.nn", layers);
  nn.as<ModuleObj>().env->vars.set("functional", functional_module);
  nn.as<ModuleObj>().env->vars.set("F", functional_module);
  return nn;
}

void add_state_functions(Env& patgrad) {
  static const std::pair<const char*, BuiltinFn> state[] = {
      {"get_parameters", get_parameters},
      {"get_state_dict", get_state_dict},
      {"state_dict", get_state_dict}, // PyTorch's name
      {"load_state_dict", load_state_dict},
  };
  for (auto& [n, f] : state) patgrad.vars.set(n, builtin(n, f));
}

} // namespace patgrad::script
