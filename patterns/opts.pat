# Kernel optimizations, done as rewrites on a kernel's ranges. The `optimize` stage (lowering/optimize.cpp) chooses
# them and marks them in the graph; these rules carry them out.
include "prelude.pat";

group opts {
  # UPCAST[(k)](x, r): x for k neighbouring values of the output range r. r becomes a range o over a k-th of it, and
  # x is copied for each r = o*k + j; the copies share the loops that close after them.
  [upcast] END(u:UPCAST(x, r), ...rs) if trips(r) % at(u.arg, 0) == 0
      => END(GROUP(...[subst(x, r, o * CONST<index>[at(u.arg, 0)] + j) for j in iota(at(u.arg, 0))]),
             ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
  # a register tile: km neighbours along r times kn along s, every pair a copy
  [upcast_tile] END(u:UPCAST(x, r, s), ...rs) if trips(r) % at(u.arg, 0) == 0 && trips(s) % at(u.arg, 1) == 0
      => END(GROUP(...[subst(subst(x, r, o * CONST<index>[at(u.arg, 0)] + a), s, p * CONST<index>[at(u.arg, 1)] + b)
                       for a, b in iota(prod(u.arg)) // at(u.arg, 1), iota(prod(u.arg)) % at(u.arg, 1)]),
             ...[choose(q.arg == r.arg, o, choose(q.arg == s.arg, p, q)) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]),
            p = RANGE<index>[s.arg](CONST<index>[trips(s) // at(u.arg, 1)]);
}

group opts_reduce {
  # UPCAST[(k)](REDUCE(x, ...rs), r), r one of rs: k partial sums, the j-th over r = o*k + j, added at the end. They
  # share the loops, so each trip adds k neighbours into k accumulators (the vectorizer makes one vector of them).
  [upcast_sum] u:UPCAST(REDUCE<t>[ADD](x, ...rs), r) if trips(r) % at(u.arg, 0) == 0
      => sum(...[REDUCE<t>[ADD](subst(x, r, o * CONST<index>[at(u.arg, 0)] + j), ...[choose(q.arg == r.arg, o, q) for q in rs])
                 for j in iota(at(u.arg, 0))])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
}
