// RDNA3: a kernel's assembly (renderers/rdna3.cpp) assembled in-process into a gfx1100 code object, and run by the
// emulator (rdna3_emulator.h) on the host's buffers: there is no AMD GPU here, and the emulator checks what hardware
// would not (bounds, waits, hazards). A kernel runs one lane per trip of its outermost output loop (the SPECIAL that
// gpu_dims made), in workgroups of one wave.
#include "lowering/lowering.h"
#include "renderers/rdna3.h"
#include "runtime/rdna3_emulator.h"
#include "runtime/target.h"

namespace patgrad::runtime {
namespace {

class Rdna3Executable : public Executable {
public:
  Rdna3Executable(rdna3::CodeObject code, int64_t lanes) : code(std::move(code)), lanes(lanes) {}

  llvm::Error run(llvm::ArrayRef<Buffer*> buffers) const override {
    rdna3::Kernargs args;
    std::vector<rdna3::Buffer> reachable;
    for (const Buffer* b : buffers) {
      args.add(b->data);
      reachable.push_back(
          {b->data, size_t(std::max<int64_t>(b->size, 1)) * size_t(std::max(1, uops::bits(b->dtype) / 8))});
    }
    rdna3::Launch launch;
    launch.grid.x = uint32_t((lanes + renderers::rdna3::workgroup_size - 1) / renderers::rdna3::workgroup_size);
    launch.block.x = uint32_t(renderers::rdna3::workgroup_size);
    launch.kernargs = args.data();
    launch.buffers = reachable;
    auto counters = rdna3::run(code, launch);
    if (!counters) return counters.takeError();
    return llvm::Error::success();
  }
  uint64_t bytes() const override { return code.code.size() + sizeof(*this); }

private:
  rdna3::CodeObject code;
  int64_t lanes;
};

class Rdna3Target : public Target {
public:
  Rdna3Target() : Target("RDNA3") {}
  bool complete() const override { return false; } // 32-bit dtypes, no integer division yet
  llvm::Expected<std::unique_ptr<Executable>> compile(const lowering::Lowered& kernel,
                                                      const std::string& name) const override {
    auto object = rdna3::assemble(kernel.source);
    if (!object) return object.takeError();
    auto code = rdna3::load(*object, name);
    if (!code) return code.takeError();
    int64_t lanes = 1; // a kernel with no output loop: one lane stores its one element
    for (const UOp& u : kernel.program)
      if (u->op == uops::Op::SPECIAL) lanes = int64_t(u->src[0]->value().i);
    if (lanes > int64_t(UINT32_MAX) * renderers::rdna3::workgroup_size)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "RDNA3: %lld lanes are more than a grid holds",
                                     (long long)lanes);
    return std::make_unique<Rdna3Executable>(std::move(*code), lanes);
  }
};

} // namespace

std::unique_ptr<Target> make_rdna3_target() { return std::make_unique<Rdna3Target>(); }

} // namespace patgrad::runtime
