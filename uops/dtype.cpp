#include "uops/dtype.h"

namespace patgrad::uops {
namespace {

enum Kind : uint8_t { B, S, U, F, I, V };
struct Info {
  std::string_view spelling;
  int bits;
  Kind kind;
};
constexpr Info infos[] = {
#define PATGRAD_DTYPE_INFO(name, spelling, bits, kind) {spelling, bits, kind},
    PATGRAD_DTYPES(PATGRAD_DTYPE_INFO)
#undef PATGRAD_DTYPE_INFO
};
const Info& info(DType d) { return infos[int(d)]; }

} // namespace

std::string_view name(DType d) { return info(d).spelling; }
std::optional<DType> parse_dtype(std::string_view s) {
  for (int i = 0; i < num_dtypes; i++)
    if (infos[i].spelling == s) return DType(i);
  return std::nullopt;
}
int bits(DType d) { return info(d).bits; }
bool is_bool(DType d) { return info(d).kind == B; }
bool is_int(DType d) { return info(d).kind == S || info(d).kind == U || info(d).kind == I; }
bool is_signed(DType d) { return info(d).kind == S || info(d).kind == I; }
bool is_unsigned(DType d) { return info(d).kind == U; }
bool is_float(DType d) { return info(d).kind == F; }
bool is_fixed_int(DType d) { return info(d).kind == S || info(d).kind == U; }

__int128 dtype_min(DType d) {
  if (is_unsigned(d) || is_bool(d)) return 0;
  return -(__int128(1) << (bits(d) - 1));
}
__int128 dtype_max(DType d) {
  if (is_bool(d)) return 1;
  if (is_unsigned(d)) return (__int128(1) << bits(d)) - 1;
  return (__int128(1) << (bits(d) - 1)) - 1;
}

} // namespace patgrad::uops
