// INTERP: the linear program itself, run by interpret() (interp.cpp) node by node. Nothing to compile: an executable
// is the program.
#include "lowering/lowering.h"
#include "runtime/target.h"

namespace patgrad::runtime {
namespace {

class InterpExecutable : public Executable {
public:
  explicit InterpExecutable(std::vector<UOp> program) : program(std::move(program)) {}
  llvm::Error run(llvm::ArrayRef<Buffer*> buffers) const override { return interpret(program, buffers); }
  uint64_t bytes() const override { return program.size() * sizeof(uops::Node); }

private:
  std::vector<UOp> program;
};

class InterpTarget : public Target {
public:
  InterpTarget() : Target("INTERP") {}
  llvm::Expected<std::unique_ptr<Executable>> compile(const lowering::Lowered& kernel,
                                                      const std::string&) const override {
    return std::make_unique<InterpExecutable>(kernel.program);
  }
};

} // namespace

std::unique_ptr<Target> make_interp_target() { return std::make_unique<InterpTarget>(); }

} // namespace patgrad::runtime
