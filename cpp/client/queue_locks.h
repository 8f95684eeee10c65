#ifndef COMETMQ_CLIENT_QUEUE_LOCKS_H_
#define COMETMQ_CLIENT_QUEUE_LOCKS_H_

#include <set>
#include <string>
#include <vector>

#include "cpp/client/client_instance.h"
#include "cpp/client/message_queue.h"

namespace cometmq::client {

// Orderly consumers' broker locks (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ), one
// request per broker master. Blocking: call from the timer thread or a
// rebalance, never from the remoting I/O thread.

// Locks or renews `queues` for this client in `group`. Returns the queues
// the brokers say this client holds; queues of a broker that cannot be
// reached count as not locked. `answered_brokers`, when given, gets the
// names of the brokers that answered.
std::set<MessageQueue> LockQueues(
    ClientInstance* instance, const std::string& group,
    const std::vector<MessageQueue>& queues,
    std::set<std::string>* answered_brokers = nullptr);

// Releases `queues`. Best effort: a lock left behind expires on its broker
// (rebalanceLockMaxLiveTime).
void UnlockQueues(ClientInstance* instance, const std::string& group,
                  const std::vector<MessageQueue>& queues);

}  // namespace cometmq::client

#endif  // COMETMQ_CLIENT_QUEUE_LOCKS_H_
