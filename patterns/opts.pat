# Kernel optimizations, done as rewrites on a kernel's ranges. The `optimize` stage (lowering/optimize.cpp) chooses
# them and marks them in the graph; these rules carry them out.
include "prelude.pat";

group opts {
  # UPCAST[k](x, r): x for k neighbouring values of the output range r. r becomes a range o over a k-th of it, and x
  # is copied for each r = o*k + j; the copies share the loops that close after them.
  [upcast] END(u:UPCAST(x, r), ...rs) if trips(r) % u.arg == 0
      => END(GROUP(...[subst(x, r, o * CONST<index>[u.arg] + j) for j in iota(u.arg)]), ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // u.arg]);
}
