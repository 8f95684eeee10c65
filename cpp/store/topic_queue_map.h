#ifndef COMETMQ_STORE_TOPIC_QUEUE_MAP_H_
#define COMETMQ_STORE_TOPIC_QUEUE_MAP_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace cometmq::store {

// A map keyed by (topic, queue id) that looks up without building a key
// string, so the append and dispatch paths do not allocate per message.
// Not thread-safe.
template <typename V>
class TopicQueueMap {
 public:
  V* Find(absl::string_view topic, int32_t queue_id) {
    auto t = map_.find(topic);
    if (t == map_.end()) return nullptr;
    auto q = t->second.find(queue_id);
    return q == t->second.end() ? nullptr : &q->second;
  }
  const V* Find(absl::string_view topic, int32_t queue_id) const {
    return const_cast<TopicQueueMap*>(this)->Find(topic, queue_id);
  }
  // The value, default-constructed when absent.
  V& operator()(absl::string_view topic, int32_t queue_id) {
    auto t = map_.find(topic);
    if (t == map_.end()) t = map_.try_emplace(std::string(topic)).first;
    return t->second[queue_id];
  }
  void EraseTopic(absl::string_view topic) {
    auto t = map_.find(topic);
    if (t != map_.end()) map_.erase(t);
  }
  void Clear() { map_.clear(); }
  bool Empty() const { return map_.empty(); }

  // Calls fn(topic, queue_id, value) for every entry.
  template <typename F>
  void ForEach(F fn) {
    for (auto& [topic, queues] : map_) {
      for (auto& [queue_id, value] : queues) fn(topic, queue_id, value);
    }
  }
  template <typename F>
  void ForEach(F fn) const {
    for (const auto& [topic, queues] : map_) {
      for (const auto& [queue_id, value] : queues) fn(topic, queue_id, value);
    }
  }

 private:
  absl::flat_hash_map<std::string, absl::flat_hash_map<int32_t, V>> map_;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_TOPIC_QUEUE_MAP_H_
