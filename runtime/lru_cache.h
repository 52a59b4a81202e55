// A map that keeps its most recently used values within a byte budget, for the in-memory kernel caches: the
// compiler's objects (runtime/cpu_jit.cpp) and the linked kernels (runtime/run.cpp). Not thread-safe: callers lock.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>

namespace patgrad::runtime {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class LruCache {
public:
  explicit LruCache(uint64_t max_bytes) : max_bytes(max_bytes) {}

  // The value under key, now the most recently used; null if there is none. Values never move: the pointer stays
  // valid until the value is evicted, which only a later insert or charge can do.
  Value* find(const Key& key) {
    auto it = index.find(key);
    if (it == index.end()) return nullptr;
    order.splice(order.begin(), order, it->second);
    return it->second->value.get();
  }

  // Stores value under key (which must be absent) as the most recently used, charged bytes, then evicts the least
  // recently used values until the others fit in the budget. The new value is never evicted, even if it alone is
  // over budget: its caller is about to use it.
  Value& insert(const Key& key, std::unique_ptr<Value> value, uint64_t bytes) {
    order.push_front({key, std::move(value), bytes});
    index[key] = order.begin();
    total += bytes;
    evict();
    return *order.front().value;
  }

  // Charges bytes for key's value from now on (it grew or shrank), makes it the most recently used and evicts as
  // insert does.
  void charge(const Key& key, uint64_t bytes) {
    auto it = index.find(key);
    if (it == index.end()) return;
    total = total - it->second->bytes + bytes;
    it->second->bytes = bytes;
    order.splice(order.begin(), order, it->second);
    evict();
  }

  uint64_t bytes() const { return total; }
  size_t size() const { return order.size(); }

private:
  struct Slot {
    Key key;
    std::unique_ptr<Value> value;
    uint64_t bytes;
  };

  void evict() {
    while (total > max_bytes && order.size() > 1) {
      total -= order.back().bytes;
      index.erase(order.back().key);
      order.pop_back();
    }
  }

  uint64_t max_bytes;
  uint64_t total = 0;
  std::list<Slot> order; // the most recently used first
  std::unordered_map<Key, typename std::list<Slot>::iterator, Hash> index;
};

} // namespace patgrad::runtime
