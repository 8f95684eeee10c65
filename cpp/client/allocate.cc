#include "cpp/client/allocate.h"

#include <algorithm>

namespace cometmq::client {

std::vector<MessageQueue> AllocateAveragely(std::vector<MessageQueue> queues,
                                            std::vector<std::string> client_ids,
                                            const std::string& client_id) {
  std::sort(queues.begin(), queues.end());
  std::sort(client_ids.begin(), client_ids.end());
  client_ids.erase(std::unique(client_ids.begin(), client_ids.end()),
                   client_ids.end());
  auto it = std::find(client_ids.begin(), client_ids.end(), client_id);
  if (it == client_ids.end() || queues.empty()) return {};
  const size_t index = static_cast<size_t>(it - client_ids.begin());
  const size_t n = queues.size();
  const size_t clients = client_ids.size();
  const size_t mod = n % clients;
  size_t average = n <= clients               ? 1
                   : (mod > 0 && index < mod) ? n / clients + 1
                                              : n / clients;
  size_t start =
      (mod > 0 && index < mod) ? index * average : index * average + mod;
  size_t range = std::min(average, n > start ? n - start : 0);
  return std::vector<MessageQueue>(queues.begin() + start,
                                   queues.begin() + start + range);
}

}  // namespace cometmq::client
