// IR text to an optimized object file for the host CPU. Each call owns its LLVMContext and TargetMachine, so
// compiles may run on several threads at once; nothing here touches the JIT.
#include "runtime/cpu_internal.h"
#include <llvm/ADT/STLExtras.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/IRReader/IRReader.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Vectorize/SLPVectorizer.h>

namespace patgrad::runtime {
namespace {

llvm::Error error(const llvm::Twine& message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

// LLVM's default diagnostic handler exits the process on a backend error; collect the errors instead. Warnings and
// remarks are dropped: the IR comes from our renderers, and nothing in them is actionable for the user.
void collect_errors(const llvm::DiagnosticInfo* info, void* context) {
  if (info->getSeverity() != llvm::DS_Error) return;
  auto& errors = *static_cast<std::string*>(context);
  llvm::raw_string_ostream os(errors);
  llvm::DiagnosticPrinterRawOStream printer(os);
  os << "ir: error: ";
  info->print(printer);
  os << "\n";
}

llvm::Expected<std::unique_ptr<llvm::Module>> parse(llvm::StringRef ir, llvm::LLVMContext& context) {
  llvm::SMDiagnostic diagnostic;
  auto module = llvm::parseIR(llvm::MemoryBufferRef(ir, "ir"), diagnostic, context);
  if (!module) {
    std::string message;
    llvm::raw_string_ostream os(message);
    diagnostic.print(nullptr, os, /*ShowColors=*/false);
    return error(llvm::StringRef(message).rtrim());
  }
  return module;
}

// The verifier runs before the optimizer: the passes assume valid IR and may crash on anything else.
llvm::Error verify(const llvm::Module& module) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (!llvm::verifyModule(module, &os)) return llvm::Error::success();
  return error("ir: error: invalid module: " + llvm::StringRef(message).rtrim());
}

// The new pass manager's O2 pipeline; the target machine gives it the host's cost model, so the vectorizers pick the
// host's vector width. The SLP vectorizer is on (O2's tuning options leave it off): an upcast register tile is
// straight-line code, not a loop, and SLP turns its scalar accumulators into full-width vector FMAs (26 times faster
// on a matmul tile than the scalar code).
void optimize(llvm::Module& module, llvm::TargetMachine& machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PipelineTuningOptions tuning;
  tuning.SLPVectorization = std::getenv("PATGRAD_NO_SLP") == nullptr;
  llvm::PassBuilder builder(&machine, tuning);
  // SLP again at the end: its first run can leave part of a tile in scalars (a batch norm gradient's 24 partial sums
  // of where(x > 0, g, 0): 8 of them, as a branch per lane, 4 GB/s); the second makes them vectors (12 GB/s).
  if (tuning.SLPVectorization)
    builder.registerOptimizerLastEPCallback([](llvm::ModulePassManager& passes, llvm::OptimizationLevel) {
      passes.addPass(llvm::createModuleToFunctionPassAdaptor(llvm::SLPVectorizerPass()));
    });
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(module, modules);
}

} // namespace

llvm::orc::JITTargetMachineBuilder host_target() {
  llvm::orc::JITTargetMachineBuilder target{llvm::Triple(llvm::sys::getProcessTriple())};
  target.setCPU(llvm::sys::getHostCPUName().str());
  // Sorted, so that the feature string (part of the cache key) does not depend on hash-table order.
  auto features = llvm::sys::getHostCPUFeatures();
  llvm::SmallVector<llvm::StringRef> names;
  for (const auto& feature : features) names.push_back(feature.getKey());
  llvm::sort(names);
  for (llvm::StringRef name : names) target.getFeatures().AddFeature(name, features.lookup(name));
  // LLJIT links x86-64 ELF with JITLink, which wants PIC and the small code model; LLJIT sets the same for the IR it
  // compiles itself, but our objects are compiled here.
  target.setRelocationModel(llvm::Reloc::PIC_);
  target.setCodeModel(llvm::CodeModel::Small);
  target.setCodeGenOptLevel(llvm::CodeGenOptLevel::Default); // llc -O2
  return target;
}

std::string target_id(const llvm::orc::JITTargetMachineBuilder& target) {
  // Bump the format tag whenever compile_to_object changes what it emits for the same IR.
  return "patgrad-cpu-3;llvm-" LLVM_VERSION_STRING ";" + target.getTargetTriple().str() + ";" + target.getCPU() + ";" +
         target.getFeatures().getString() + ";pic;small;O2";
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> compile_to_object(llvm::StringRef ir,
                                                                      llvm::orc::JITTargetMachineBuilder target) {
  auto machine = target.createTargetMachine();
  if (!machine) return machine.takeError();
  llvm::LLVMContext context;
  std::string backend_errors;
  context.setDiagnosticHandlerCallBack(collect_errors, &backend_errors);
  auto module = parse(ir, context);
  if (!module) return module.takeError();
  (*module)->setTargetTriple((*machine)->getTargetTriple().str());
  (*module)->setDataLayout((*machine)->createDataLayout());
  if (auto err = verify(**module)) return err;
  optimize(**module, **machine);
  auto object = llvm::orc::SimpleCompiler(**machine)(**module);
  if (!object) return object.takeError();
  if (!backend_errors.empty()) return error(llvm::StringRef(backend_errors).rtrim());
  return std::move(*object);
}

} // namespace patgrad::runtime
