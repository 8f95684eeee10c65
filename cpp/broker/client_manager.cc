#include "cpp/broker/client_manager.h"

#include <algorithm>
#include <utility>

namespace cometmq::broker {

ClientManager::ClientManager(absl::Duration expiry, Notifier notify)
    : expiry_(expiry), notify_(std::move(notify)) {}

void ClientManager::Heartbeat(const proto::HeartbeatData& heartbeat,
                              std::weak_ptr<remoting::Connection> connection,
                              absl::string_view remote_address,
                              absl::Time now) {
  ClientChannel channel{heartbeat.client_id(), std::string(remote_address),
                        std::move(connection), now,
                        heartbeat.language(),  heartbeat.version()};
  Changed changed;
  {
    absl::MutexLock lock(&mu_);
    for (const proto::ProducerData& producer : heartbeat.producers()) {
      producers_[producer.group()][channel.client_id] = channel;
    }
    for (const proto::ConsumerData& consumer : heartbeat.consumers()) {
      ConsumerGroup& group = consumers_[consumer.group()];
      auto [it, inserted] =
          group.members.insert_or_assign(channel.client_id, channel);
      if (inserted) changed.push_back(consumer.group());
      group.consume_type = consumer.consume_type();
      group.message_model = consumer.message_model();
      group.consume_from_where = consumer.consume_from_where();
      // Replaced, not merged: a heartbeat lists all the member's topics.
      Subscriptions& subs = group.subscriptions[channel.client_id];
      subs.clear();
      for (const proto::SubscriptionData& sub : consumer.subscriptions()) {
        subs[sub.topic()] = sub;
      }
    }
  }
  NotifyGroups(changed);
}

void ClientManager::Unregister(absl::string_view client_id,
                               absl::string_view producer_group,
                               absl::string_view consumer_group) {
  Changed changed;
  {
    absl::MutexLock lock(&mu_);
    if (!producer_group.empty()) {
      if (auto it = producers_.find(producer_group); it != producers_.end()) {
        it->second.erase(client_id);
        if (it->second.empty()) producers_.erase(it);
      }
    }
    if (!consumer_group.empty()) {
      if (auto it = consumers_.find(consumer_group); it != consumers_.end()) {
        if (it->second.members.erase(client_id) > 0) {
          changed.push_back(it->first);
        }
        it->second.subscriptions.erase(client_id);
        if (it->second.members.empty()) consumers_.erase(it);
      }
    }
  }
  NotifyGroups(changed);
}

void ClientManager::OnConnectionClosed(absl::string_view remote_address) {
  Changed changed;
  {
    absl::MutexLock lock(&mu_);
    changed = RemoveIf([&](const ClientChannel& c) {
      return c.remote_address == remote_address;
    });
  }
  NotifyGroups(changed);
}

std::vector<std::string> ClientManager::ScanExpired(absl::Time now) {
  std::vector<std::string> expired;
  Changed changed;
  {
    absl::MutexLock lock(&mu_);
    changed = RemoveIf([&](const ClientChannel& c) {
      if (now - c.last_heartbeat <= expiry_) return false;
      expired.push_back(c.client_id);
      return true;
    });
  }
  NotifyGroups(changed);
  std::sort(expired.begin(), expired.end());
  expired.erase(std::unique(expired.begin(), expired.end()), expired.end());
  return expired;
}

ClientManager::Changed ClientManager::RemoveIf(
    const std::function<bool(const ClientChannel&)>& pred) {
  Changed changed;
  for (auto it = producers_.begin(); it != producers_.end();) {
    absl::erase_if(it->second, [&](const auto& e) { return pred(e.second); });
    if (it->second.empty()) {
      producers_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = consumers_.begin(); it != consumers_.end();) {
    ConsumerGroup& group = it->second;
    if (absl::erase_if(group.members,
                       [&](const auto& e) { return pred(e.second); }) > 0) {
      changed.push_back(it->first);
      absl::erase_if(group.subscriptions, [&](const auto& e) {
        return !group.members.contains(e.first);
      });
    }
    if (it->second.members.empty()) {
      consumers_.erase(it++);
    } else {
      ++it;
    }
  }
  return changed;
}

void ClientManager::NotifyGroups(const Changed& groups) {
  if (!notify_) return;
  for (const std::string& group : groups) {
    std::vector<ClientChannel> members;
    {
      absl::MutexLock lock(&mu_);
      auto it = consumers_.find(group);
      if (it == consumers_.end()) continue;
      for (const auto& [id, channel] : it->second.members) {
        members.push_back(channel);
      }
    }
    for (const ClientChannel& member : members) notify_(member, group);
  }
}

std::vector<std::string> ClientManager::ConsumerIds(
    absl::string_view group) const {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  if (auto it = consumers_.find(group); it != consumers_.end()) {
    for (const auto& [id, channel] : it->second.members) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> ClientManager::ProducerIds(
    absl::string_view group) const {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  if (auto it = producers_.find(group); it != producers_.end()) {
    for (const auto& [id, channel] : it->second) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<ConsumerConnection> ClientManager::ConsumerConnectionOf(
    absl::string_view group) const {
  absl::MutexLock lock(&mu_);
  auto it = consumers_.find(group);
  if (it == consumers_.end() || it->second.members.empty()) {
    return std::nullopt;
  }
  const ConsumerGroup& g = it->second;
  ConsumerConnection out;
  out.consume_type = g.consume_type;
  out.message_model = g.message_model;
  out.consume_from_where = g.consume_from_where;
  std::map<std::string, absl::Time> heard;  // topic -> whose expression
  for (const auto& [client_id, channel] : g.members) {
    out.members.push_back(channel);
    auto subs = g.subscriptions.find(client_id);
    if (subs == g.subscriptions.end()) continue;
    for (const auto& [topic, subscription] : subs->second) {
      auto [at, first] = heard.try_emplace(topic, channel.last_heartbeat);
      if (first || channel.last_heartbeat > at->second) {
        at->second = channel.last_heartbeat;
        out.subscriptions[topic] = subscription;
      }
    }
  }
  std::sort(out.members.begin(), out.members.end(),
            [](const ClientChannel& a, const ClientChannel& b) {
              return a.client_id < b.client_id;
            });
  return out;
}

std::vector<ClientChannel> ClientManager::Producers(
    absl::string_view group) const {
  std::vector<ClientChannel> members;
  absl::MutexLock lock(&mu_);
  if (auto it = producers_.find(group); it != producers_.end()) {
    for (const auto& [id, channel] : it->second) members.push_back(channel);
  }
  std::sort(members.begin(), members.end(),
            [](const ClientChannel& a, const ClientChannel& b) {
              return a.client_id < b.client_id;
            });
  return members;
}

std::optional<ClientChannel> ClientManager::LiveProducer(
    absl::string_view group) const {
  absl::MutexLock lock(&mu_);
  auto it = producers_.find(group);
  if (it == producers_.end()) return std::nullopt;
  const ClientChannel* best = nullptr;
  for (const auto& [id, channel] : it->second) {
    if (channel.connection.expired()) continue;
    if (best == nullptr || channel.last_heartbeat > best->last_heartbeat) {
      best = &channel;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::optional<std::string> ClientManager::Subscription(
    absl::string_view group, absl::string_view topic) const {
  absl::MutexLock lock(&mu_);
  auto it = consumers_.find(group);
  if (it == consumers_.end()) return std::nullopt;
  const ConsumerGroup& g = it->second;
  std::optional<std::string> expression;
  absl::Time heard = absl::InfinitePast();
  for (const auto& [client_id, subs] : g.subscriptions) {
    auto sub = subs.find(topic);
    auto member = g.members.find(client_id);
    if (sub == subs.end() || member == g.members.end()) continue;
    if (!expression || member->second.last_heartbeat > heard) {
      expression = sub->second.expression();
      heard = member->second.last_heartbeat;
    }
  }
  return expression;
}

std::vector<std::string> ClientManager::SubscribedTopics(
    absl::string_view group) const {
  std::vector<std::string> topics;
  absl::MutexLock lock(&mu_);
  if (auto it = consumers_.find(group); it != consumers_.end()) {
    for (const auto& [client_id, subs] : it->second.subscriptions) {
      for (const auto& [topic, expr] : subs) topics.push_back(topic);
    }
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  return topics;
}

std::vector<std::string> ClientManager::GroupsSubscribedTo(
    absl::string_view topic) const {
  std::vector<std::string> groups;
  absl::MutexLock lock(&mu_);
  for (const auto& [group, consumers] : consumers_) {
    for (const auto& [client_id, subs] : consumers.subscriptions) {
      if (subs.contains(topic)) {
        groups.push_back(group);
        break;
      }
    }
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace cometmq::broker
