// Python's text forms: repr and str of values, the shortest round-trip float repr, and format specs
// ([[fill]align][sign][#][0][width][,|_][.precision][type]) as f-strings and str.format use them.
#pragma once
#include "frontend/script/interp.h"

namespace patgrad::script {

std::string float_repr(double x);         // 1.0 0.1 1e-05 1e+16 inf nan -0.0
std::string str_repr(std::string_view s); // 'a', "it's", with Python's escapes
std::string format_value(Interp& in, const Value& v, std::string_view spec);

} // namespace patgrad::script
