// INTERP: runs a linear program instruction by instruction with uops::eval. A loop jumps back from its END to its
// RANGE; accumulators are values that ASSIGN sets and AFTER reads.
#include "runtime/target.h"
#include <cstring>
#include <llvm/ADT/DenseMap.h>

namespace patgrad::runtime {
namespace {

using uops::Node;
using uops::Op;
using uops::Value;

Value read(const Buffer& b, int64_t i) {
  const char* p = static_cast<const char*>(b.data);
  switch (b.dtype) {
  case DType::bool_: return Value{p[i] != 0, 0};
  case DType::i8: return Value{reinterpret_cast<const int8_t*>(p)[i], 0};
  case DType::i16: return Value{reinterpret_cast<const int16_t*>(p)[i], 0};
  case DType::i32: return Value{reinterpret_cast<const int32_t*>(p)[i], 0};
  case DType::i64:
  case DType::index: return Value{reinterpret_cast<const int64_t*>(p)[i], 0};
  case DType::u8: return Value{reinterpret_cast<const uint8_t*>(p)[i], 0};
  case DType::u16: return Value{reinterpret_cast<const uint16_t*>(p)[i], 0};
  case DType::u32: return Value{reinterpret_cast<const uint32_t*>(p)[i], 0};
  case DType::u64: return Value{int64_t(reinterpret_cast<const uint64_t*>(p)[i]), 0};
  case DType::f16:
  case DType::bf16: return Value{0, uops::float_from_bits(b.dtype, reinterpret_cast<const uint16_t*>(p)[i])};
  case DType::f32: return Value{0, reinterpret_cast<const float*>(p)[i]};
  case DType::f64: return Value{0, reinterpret_cast<const double*>(p)[i]};
  default: return {};
  }
}

void write(Buffer& b, int64_t i, Value v) {
  char* p = static_cast<char*>(b.data);
  int bytes = std::max(1, uops::bits(b.dtype) / 8);
  uint64_t raw = uops::is_float(b.dtype) ? uops::float_bits(b.dtype, v.f) : uint64_t(v.i);
  std::memcpy(p + i * bytes, &raw, bytes); // little-endian: the low bytes
}

} // namespace

llvm::Error interpret(const std::vector<UOp>& program, llvm::ArrayRef<Buffer*> buffers) {
  llvm::DenseMap<const Node*, Value> vals;
  llvm::DenseMap<const Node*, size_t> loop_start; // RANGE -> its position
  auto fail = [](const char* what, const UOp& u) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "INTERP: %s in %s", what, uops::sexpr(u).c_str());
  };
  for (size_t pc = 0; pc < program.size(); pc++) {
    const UOp& u = program[pc];
    // constants are read where used: linearize opens the output loops before their bounds appear
    auto arg = [&](size_t i) { return u->src[i]->op == Op::CONST ? u->src[i]->value() : vals[u->src[i].get()]; };
    switch (u->op) {
    case Op::CONST: vals[u.get()] = u->value(); break;
    case Op::DEFINE_GLOBAL: break;
    case Op::RANGE: { // a thread loop's share is the whole loop here
      loop_start[u.get()] = pc;
      vals[u.get()] = Value{0, 0};
      if (arg(0).i <= 0) { // skip to after its END
        for (pc++; pc < program.size(); pc++)
          if (program[pc]->op == Op::END && program[pc]->src[1] == u) break;
      }
      break;
    }
    case Op::END: {
      const Node* r = u->src[1].get();
      Value& i = vals[r];
      const Node* end = r->src[0].get();
      if (++i.i < (end->op == Op::CONST ? end->value().i : vals[end].i)) pc = loop_start[r];
      break;
    }
    case Op::DEFINE_ACC:
    case Op::GROUP: break;
    case Op::ASSIGN: vals[u->src[0].get()] = arg(1); break;
    case Op::AFTER: {
      Value v = vals[u->src[0].get()]; // a copy: inserting u may grow the map under a reference
      vals[u.get()] = v;
      break;
    }
    case Op::LOAD: {
      const Buffer& b = *buffers[std::get<int64_t>(u->src[0]->arg)];
      bool on = u->src.size() < 3 || arg(2).i;
      int64_t i = arg(1).i;
      // an empty buffer holds one zero element, as on the CPU: linearize may hoist a load out of a loop that runs
      // zero times, and its value is then never used
      if (on && b.size == 0 && i == 0) on = false;
      if (on && (i < 0 || i >= b.size)) return fail("load out of bounds", u);
      vals[u.get()] = on ? read(b, i) : (uops::is_float(u->dtype) ? uops::float_value(u->dtype, 0) : Value{});
      break;
    }
    case Op::STORE: {
      Buffer& b = *buffers[std::get<int64_t>(u->src[0]->arg)];
      int64_t i = arg(1).i;
      if (u->src.size() == 4 && !arg(3).i) break; // gated off
      if (i < 0 || i >= b.size) return fail("store out of bounds", u);
      write(b, i, arg(2));
      break;
    }
    default: {
      llvm::SmallVector<Value, 3> args;
      for (size_t i = 0; i < u->src.size(); i++) args.push_back(arg(i));
      DType in = u->src.empty() ? u->dtype : u->src[u->op == Op::WHERE ? 1 : 0]->dtype;
      auto v = uops::eval(u->op, u->dtype, in, args);
      // undefined (division by zero, a float out of an int's range): like the CPU, produce some value, here 0
      vals[u.get()] = v ? *v : Value{};
    }
    }
  }
  return llvm::Error::success();
}

} // namespace patgrad::runtime
