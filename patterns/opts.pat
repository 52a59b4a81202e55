# Kernel optimizations, done as rewrites on a kernel's ranges. The `optimize` stage chooses a list of named opts
# (lowering/optimize.cpp), checks each (lowering/opts.cpp) and marks it in the graph; these rules carry it out before
# the next is marked. A mark on an output range sits under the END that closes it; one on a reduce range wraps each
# REDUCE over it. A range keeps its number through every rewrite, so a later opt can name it again.
include "prelude.pat";

group opts {
  # UPCAST[(k)](x, r): x for k neighbouring values of the output range r. r becomes a range o over a k-th of it, and
  # x is copied for each r = o*k + j; the copies share the loops that close after them. Two upcasts are a register
  # tile: the second copies the first's copies.
  [upcast] END(u:UPCAST(x, r), ...rs) if trips(r) % at(u.arg, 0) == 0
      => END(GROUP(...[subst(x, r, o * CONST<index>[at(u.arg, 0)] + j) for j in iota(at(u.arg, 0))]),
             ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);

  # SPLIT[(k, n)](x, r): r = o*k + i, o in r's place over a k-th of it, i (numbered n) the innermost loop of k trips
  [split] END(s:SPLIT(x, r), ...rs) if trips(r) % at(s.arg, 0) == 0
      => END(subst(x, r, o * CONST<index>[at(s.arg, 0)] + i), ...[choose(q.arg == r.arg, o, q) for q in rs], i)
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(s.arg, 0)]),
            i = RANGE<index>[at(s.arg, 1)](CONST<index>[at(s.arg, 0)]);
  [split_reduce] s:SPLIT(red:REDUCE<t>(x, ...rs), r) if trips(r) % at(s.arg, 0) == 0
      => REDUCE<t>[red.arg](subst(x, r, o * CONST<index>[at(s.arg, 0)] + i), ...[choose(q.arg == r.arg, o, q) for q in rs], i)
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(s.arg, 0)]),
            i = RANGE<index>[at(s.arg, 1)](CONST<index>[at(s.arg, 0)]);

  # SWAP(x, a, b): the loops of a and b trade places (output ranges commute; so do one reduction's)
  [swap] END(SWAP(x, a, b), ...rs) => END(x, ...[choose(q.arg == a.arg, b, choose(q.arg == b.arg, a, q)) for q in rs]);
  [swap_reduce] SWAP(red:REDUCE<t>(x, ...rs), a, b)
      => REDUCE<t>[red.arg](x, ...[choose(q.arg == a.arg, b, choose(q.arg == b.arg, a, q)) for q in rs]);

  # THREAD(x, r): r becomes the outermost output loop, the one the target shares between threads (target_cpu.pat)
  [thread] END(THREAD(x, r), ...rs) => END(x, r, ...without(rs, (r)));

  # PAD_TO[(m)](x, r): r runs to the next multiple of m. The extra trips compute at r's last value (every load stays in
  # bounds) and store nothing; a reduction's add the op's identity.
  [pad] END(p:PAD_TO(STORE(g, i, v), r), ...rs)
      => END(STORE(g, subst(i, r, last), subst(v, r, last), o < CONST<index>[trips(r)]), ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[(trips(r) + at(p.arg, 0) - 1) // at(p.arg, 0) * at(p.arg, 0)]),
            last = MIN(o, CONST<index>[trips(r) - 1]);
  [pad_gated] END(p:PAD_TO(STORE(g, i, v, c), r), ...rs)
      => END(STORE(g, subst(i, r, last), subst(v, r, last), subst(c, r, last) & (o < CONST<index>[trips(r)])),
             ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[(trips(r) + at(p.arg, 0) - 1) // at(p.arg, 0) * at(p.arg, 0)]),
            last = MIN(o, CONST<index>[trips(r) - 1]);
  [pad_add] p:PAD_TO(REDUCE<t>[ADD](x, ...rs), r) => REDUCE<t>[ADD](WHERE(o < CONST<index>[trips(r)], subst(x, r, last), CONST<t>[0]), ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[(trips(r) + at(p.arg, 0) - 1) // at(p.arg, 0) * at(p.arg, 0)]),
            last = MIN(o, CONST<index>[trips(r) - 1]);
  [pad_mul] p:PAD_TO(REDUCE<t>[MUL](x, ...rs), r) => REDUCE<t>[MUL](WHERE(o < CONST<index>[trips(r)], subst(x, r, last), CONST<t>[1]), ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[(trips(r) + at(p.arg, 0) - 1) // at(p.arg, 0) * at(p.arg, 0)]),
            last = MIN(o, CONST<index>[trips(r) - 1]);
  [pad_max] p:PAD_TO(REDUCE<t>[MAX](x, ...rs), r) => REDUCE<t>[MAX](WHERE(o < CONST<index>[trips(r)], subst(x, r, last), CONST<t>[lowest(t)]), ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[(trips(r) + at(p.arg, 0) - 1) // at(p.arg, 0) * at(p.arg, 0)]),
            last = MIN(o, CONST<index>[trips(r) - 1]);
}

group opts_reduce {
  # UPCAST[(k)](REDUCE(x, ...rs), r), r one of rs: k partial sums, the j-th over r = o*k + j, added at the end. They
  # share the loops, so each trip adds k neighbours into k accumulators (the vectorizer makes one vector of them).
  [upcast_sum] u:UPCAST(REDUCE<t>[ADD](x, ...rs), r) if trips(r) % at(u.arg, 0) == 0
      => sum(...[REDUCE<t>[ADD](subst(x, r, o * CONST<index>[at(u.arg, 0)] + j), ...[choose(q.arg == r.arg, o, q) for q in rs])
                 for j in iota(at(u.arg, 0))])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
  # UNROLL[(k)](REDUCE(x, ...rs), r): one accumulator that takes k neighbours of r a trip
  [unroll_add] u:UNROLL(REDUCE<t>[ADD](x, ...rs), r) if trips(r) % at(u.arg, 0) == 0
      => REDUCE<t>[ADD](sum(...[subst(x, r, o * CONST<index>[at(u.arg, 0)] + j) for j in iota(at(u.arg, 0))]),
                        ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
  [unroll_mul] u:UNROLL(REDUCE<t>[MUL](x, ...rs), r) if trips(r) % at(u.arg, 0) == 0
      => REDUCE<t>[MUL](product(...[subst(x, r, o * CONST<index>[at(u.arg, 0)] + j) for j in iota(at(u.arg, 0))]),
                        ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
  [unroll_max] u:UNROLL(REDUCE<t>[MAX](x, ...rs), r) if trips(r) % at(u.arg, 0) == 0
      => REDUCE<t>[MAX](maximum(...[subst(x, r, o * CONST<index>[at(u.arg, 0)] + j) for j in iota(at(u.arg, 0))]),
                        ...[choose(q.arg == r.arg, o, q) for q in rs])
      where o = RANGE<index>[r.arg](CONST<index>[trips(r) // at(u.arg, 0)]);
}
