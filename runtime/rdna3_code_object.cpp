// RDNA3 code objects: the MC assembler and LLVM's codegen for gfx1100, and the loader of one kernel. See the header.
#include "runtime/rdna3_code_object.h"
#include <fmt/format.h>
#include <llvm/BinaryFormat/ELF.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/IRReader/IRReader.h>
#include <llvm/MC/MCAsmBackend.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCCodeEmitter.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCObjectFileInfo.h>
#include <llvm/MC/MCObjectWriter.h>
#include <llvm/MC/MCParser/MCAsmParser.h>
#include <llvm/MC/MCParser/MCTargetAsmParser.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCStreamer.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <mutex>

extern "C" {
void LLVMInitializeAMDGPUTargetInfo();
void LLVMInitializeAMDGPUTargetMC();
void LLVMInitializeAMDGPUTarget();
void LLVMInitializeAMDGPUAsmParser();
void LLVMInitializeAMDGPUAsmPrinter();
void LLVMInitializeAMDGPUDisassembler();
}

namespace patgrad::runtime::rdna3 {

namespace {

llvm::Error error(std::string message) { return llvm::createStringError(llvm::inconvertibleErrorCode(), message); }

// Kernel descriptor layout (llvm/Support/AMDHSAKernelDescriptor.h), 64 bytes.
constexpr uint64_t descriptor_size = 64;
constexpr uint64_t entry_offset_field = 0x10;

template <class T>
T read_le(const uint8_t* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= T(p[i]) << (8 * i);
  return value;
}

} // namespace

const llvm::Target& amdgpu_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeAMDGPUTargetInfo();
    LLVMInitializeAMDGPUTargetMC();
    LLVMInitializeAMDGPUTarget();
    LLVMInitializeAMDGPUAsmParser();
    LLVMInitializeAMDGPUAsmPrinter();
    LLVMInitializeAMDGPUDisassembler();
  });
  std::string message;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, message);
  assert(target && "libLLVM is built with the AMDGPU target (CMakeLists.txt checks LLVM 19 from Debian)");
  return *target;
}

llvm::Expected<std::vector<char>> assemble(llvm::StringRef asm_text) {
  const llvm::Target& target = amdgpu_target();
  llvm::Triple target_triple(triple);
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(asm_text, "kernel.s"), llvm::SMLoc());
  // The parser reports through the SourceMgr; without a handler it would print to stderr and we would lose the text.
  std::string diagnostics;
  llvm::raw_string_ostream diagnostic_stream(diagnostics);
  sources.setDiagHandler(
      [](const llvm::SMDiagnostic& d, void* stream) { d.print(nullptr, *static_cast<llvm::raw_ostream*>(stream)); },
      &diagnostic_stream);

  llvm::MCTargetOptions options;
  std::unique_ptr<llvm::MCRegisterInfo> registers(target.createMCRegInfo(triple));
  std::unique_ptr<llvm::MCAsmInfo> asm_info(target.createMCAsmInfo(*registers, triple, options));
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(target.createMCSubtargetInfo(triple, cpu, ""));
  std::unique_ptr<llvm::MCInstrInfo> instructions(target.createMCInstrInfo());
  llvm::MCContext context(target_triple, asm_info.get(), registers.get(), subtarget.get(), &sources, &options);
  std::unique_ptr<llvm::MCObjectFileInfo> file_info(target.createMCObjectFileInfo(context, /*PIC=*/false));
  context.setObjectFileInfo(file_info.get());

  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream object_stream(object);
  std::unique_ptr<llvm::MCAsmBackend> backend(target.createMCAsmBackend(*subtarget, *registers, options));
  std::unique_ptr<llvm::MCObjectWriter> writer = backend->createObjectWriter(object_stream);
  std::unique_ptr<llvm::MCCodeEmitter> emitter(target.createMCCodeEmitter(*instructions, context));
  std::unique_ptr<llvm::MCStreamer> streamer(target.createMCObjectStreamer(
      target_triple, context, std::move(backend), std::move(writer), std::move(emitter), *subtarget));
  std::unique_ptr<llvm::MCAsmParser> parser(llvm::createMCAsmParser(sources, context, *streamer, *asm_info));
  std::unique_ptr<llvm::MCTargetAsmParser> target_parser(
      target.createMCAsmParser(*subtarget, *parser, *instructions, options));
  parser->setTargetParser(*target_parser);
  if (parser->Run(/*NoInitialTextSection=*/false) || context.hadError())
    return error(diagnostics.empty() ? "assembly failed" : llvm::StringRef(diagnostics).rtrim().str());
  return std::vector<char>(object.begin(), object.end());
}

llvm::Expected<std::vector<char>> compile_ir(llvm::StringRef ir_text) {
  const llvm::Target& target = amdgpu_target();
  llvm::LLVMContext context;
  llvm::SMDiagnostic diagnostic;
  std::unique_ptr<llvm::Module> module =
      llvm::parseIR(llvm::MemoryBufferRef(ir_text, "kernel.ll"), diagnostic, context);
  if (!module) {
    std::string text;
    llvm::raw_string_ostream stream(text);
    diagnostic.print(nullptr, stream);
    return error(llvm::StringRef(text).rtrim().str());
  }
  std::string verifier_text;
  llvm::raw_string_ostream verifier_stream(verifier_text);
  if (llvm::verifyModule(*module, &verifier_stream)) // codegen asserts on invalid IR: refuse it first
    return error("invalid IR: " + llvm::StringRef(verifier_text).rtrim().str());

  std::unique_ptr<llvm::TargetMachine> machine(target.createTargetMachine(
      triple, cpu, "", llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Default));
  module->setTargetTriple(triple);
  module->setDataLayout(machine->createDataLayout());
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream object_stream(object);
  llvm::legacy::PassManager passes;
  if (machine->addPassesToEmitFile(passes, object_stream, nullptr, llvm::CodeGenFileType::ObjectFile))
    return error("the AMDGPU target cannot emit an object file");
  passes.run(*module);
  return std::vector<char>(object.begin(), object.end());
}

namespace {

using Elf = llvm::object::ELF64LEObjectFile;

// Where a relocatable object's R_AMDGPU_REL64 at the descriptor's entry field points: the code's section and offset.
// The field holds S + A - P with P the field itself, so the entry, descriptor + field, is S + A - 0x10.
llvm::Expected<std::pair<llvm::object::SectionRef, uint64_t>>
relocated_entry(const Elf& elf, llvm::object::SectionRef descriptor, uint64_t field) {
  for (const llvm::object::SectionRef& relocations : elf.sections()) {
    llvm::Expected<llvm::object::section_iterator> target = relocations.getRelocatedSection();
    if (!target) return target.takeError();
    if (*target != descriptor) continue;
    for (const llvm::object::RelocationRef& relocation : relocations.relocations()) {
      if (relocation.getOffset() != field) continue;
      if (relocation.getType() != llvm::ELF::R_AMDGPU_REL64)
        return error(fmt::format("kernel descriptor entry has relocation type {}, expected R_AMDGPU_REL64",
                                 relocation.getType()));
      llvm::object::symbol_iterator symbol = relocation.getSymbol();
      llvm::Expected<llvm::object::section_iterator> section = symbol->getSection();
      llvm::Expected<uint64_t> value = symbol->getValue();
      llvm::Expected<int64_t> addend = llvm::object::ELFRelocationRef(relocation).getAddend();
      if (!section || !value || !addend) {
        llvm::consumeError(section.takeError());
        llvm::consumeError(value.takeError());
        llvm::consumeError(addend.takeError());
        return error("kernel descriptor entry relocation is malformed");
      }
      if (*section == elf.section_end()) return error("kernel descriptor entry relocation points at no section");
      return std::pair{**section, *value + *addend - entry_offset_field};
    }
  }
  return error("relocatable object has no relocation for the kernel descriptor's entry offset");
}

// A linked object: the entry is the descriptor's address plus the field, inside some section.
llvm::Expected<std::pair<llvm::object::SectionRef, uint64_t>> linked_entry(const Elf& elf, uint64_t address) {
  for (const llvm::object::SectionRef& section : elf.sections())
    if (section.isText() && address >= section.getAddress() && address < section.getAddress() + section.getSize())
      return std::pair{section, address - section.getAddress()};
  return error(fmt::format("kernel entry 0x{:x} lies in no code section", address));
}

llvm::Error read_descriptor(llvm::ArrayRef<uint8_t> d, CodeObject& kernel) {
  kernel.lds_size = read_le<uint32_t>(&d[0x00]);
  kernel.private_size = read_le<uint32_t>(&d[0x04]);
  kernel.kernarg_size = read_le<uint32_t>(&d[0x08]);
  kernel.rsrc1 = read_le<uint32_t>(&d[0x30]);
  kernel.rsrc2 = read_le<uint32_t>(&d[0x34]);
  kernel.properties = read_le<uint16_t>(&d[0x38]);
  kernel.vgpr_count = ((kernel.rsrc1 & 0x3f) + 1) * 8; // wave32 granule: 8 VGPRs, stored as count/8 - 1
  kernel.user_sgpr_count = (kernel.rsrc2 >> 1) & 0x1f;
  if (kernel.lds_size > 64 * 1024)
    return error(fmt::format("kernel descriptor asks for {} bytes of LDS, at most 65536", kernel.lds_size));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<CodeObject> load(llvm::ArrayRef<char> object, llvm::StringRef name) {
  llvm::MemoryBufferRef buffer(llvm::StringRef(object.data(), object.size()), "kernel.o");
  llvm::Expected<Elf> elf = Elf::create(buffer);
  if (!elf) return error("not an ELF object: " + llvm::toString(elf.takeError()));
  uint16_t machine = elf->getELFFile().getHeader().e_machine;
  if (machine != llvm::ELF::EM_AMDGPU) return error(fmt::format("ELF object is for machine {}, not AMDGPU", machine));

  std::string descriptor_name = (name + ".kd").str();
  for (const llvm::object::ELFSymbolRef& symbol : elf->symbols()) {
    llvm::Expected<llvm::StringRef> symbol_name = symbol.getName();
    if (!symbol_name) {
      llvm::consumeError(symbol_name.takeError());
      continue;
    }
    if (*symbol_name != descriptor_name) continue;
    llvm::Expected<llvm::object::section_iterator> section = symbol.getSection();
    llvm::Expected<uint64_t> address = symbol.getValue();
    if (!section || !address || *section == elf->section_end()) {
      if (!section) llvm::consumeError(section.takeError());
      if (!address) llvm::consumeError(address.takeError());
      return error(fmt::format("kernel descriptor {} is in no section", descriptor_name));
    }
    llvm::Expected<llvm::StringRef> contents = (*section)->getContents();
    if (!contents) return contents.takeError();
    bool relocatable = elf->isRelocatableObject();
    uint64_t offset = relocatable ? *address : *address - (*section)->getAddress();
    if (offset + descriptor_size > contents->size())
      return error(fmt::format("kernel descriptor {} runs past the end of its section", descriptor_name));
    llvm::ArrayRef<uint8_t> descriptor(reinterpret_cast<const uint8_t*>(contents->data()) + offset, descriptor_size);

    CodeObject kernel;
    kernel.name = name.str();
    if (llvm::Error e = read_descriptor(descriptor, kernel)) return e;
    auto entry = relocatable ? relocated_entry(*elf, **section, offset + entry_offset_field)
                             : linked_entry(*elf, *address + read_le<uint64_t>(&descriptor[entry_offset_field]));
    if (!entry) return entry.takeError();
    llvm::Expected<llvm::StringRef> code = entry->first.getContents();
    if (!code) return code.takeError();
    if (entry->second >= code->size() || entry->second % 4 != 0)
      return error(fmt::format("kernel entry offset 0x{:x} is outside its section or misaligned", entry->second));
    kernel.code.assign(code->bytes_begin() + entry->second, code->bytes_end());
    return kernel;
  }
  return error(fmt::format("object has no kernel '{}' (no symbol {})", name, descriptor_name));
}

} // namespace patgrad::runtime::rdna3
