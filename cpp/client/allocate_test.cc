#include "cpp/client/allocate.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cometmq::client {
namespace {

std::vector<MessageQueue> Queues(int per_broker, int brokers) {
  std::vector<MessageQueue> queues;
  for (int b = 0; b < brokers; ++b) {
    for (int q = 0; q < per_broker; ++q) {
      queues.push_back({"T", absl::StrCat("broker-", b), q});
    }
  }
  return queues;
}

std::vector<std::string> Clients(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("10.0.0.1@", i, "@0"));
  return ids;
}

TEST(AllocateTest, EvenSplitGivesContiguousBlocks) {
  auto queues = Queues(4, 2);
  auto clients = Clients(4);
  std::vector<MessageQueue> first =
      AllocateAveragely(queues, clients, clients[0]);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], (MessageQueue{"T", "broker-0", 0}));
  EXPECT_EQ(first[1], (MessageQueue{"T", "broker-0", 1}));
  std::vector<MessageQueue> last =
      AllocateAveragely(queues, clients, clients[3]);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0], (MessageQueue{"T", "broker-1", 2}));
}

TEST(AllocateTest, EveryQueueOwnedExactlyOnceForManyShapes) {
  for (int queue_count : {1, 3, 8, 10, 16}) {
    for (int client_count : {1, 2, 3, 5, 8, 20}) {
      auto queues = Queues(queue_count, 1);
      auto clients = Clients(client_count);
      std::multiset<MessageQueue> owned;
      size_t most = 0, least = queues.size();
      for (const std::string& id : clients) {
        auto mine = AllocateAveragely(queues, clients, id);
        most = std::max(most, mine.size());
        least = std::min(least, mine.size());
        owned.insert(mine.begin(), mine.end());
      }
      EXPECT_EQ(owned,
                std::multiset<MessageQueue>(queues.begin(), queues.end()))
          << queue_count << " queues, " << client_count << " clients";
      EXPECT_LE(most - least, 1u);
    }
  }
}

TEST(AllocateTest, MoreConsumersThanQueuesLeavesTheRestIdle) {
  auto queues = Queues(2, 1);
  auto clients = Clients(5);
  EXPECT_EQ(AllocateAveragely(queues, clients, clients[0]).size(), 1u);
  EXPECT_EQ(AllocateAveragely(queues, clients, clients[1]).size(), 1u);
  for (int i = 2; i < 5; ++i) {
    EXPECT_TRUE(AllocateAveragely(queues, clients, clients[i]).empty());
  }
}

TEST(AllocateTest, InputOrderDoesNotMatter) {
  auto queues = Queues(4, 3);
  auto clients = Clients(5);
  auto expected = AllocateAveragely(queues, clients, clients[2]);
  std::reverse(queues.begin(), queues.end());
  std::rotate(clients.begin(), clients.begin() + 3, clients.end());
  EXPECT_EQ(AllocateAveragely(queues, clients, "10.0.0.1@2@0"), expected);
}

TEST(AllocateTest, UnknownClientGetsNothing) {
  EXPECT_TRUE(AllocateAveragely(Queues(4, 1), Clients(2), "stranger").empty());
}

}  // namespace
}  // namespace cometmq::client
