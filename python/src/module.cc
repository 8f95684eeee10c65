// The `cometmq._core` extension: thin bindings of the C++ client. The
// Pythonic API (keyword arguments, futures, exception classes) lives in the
// pure-Python package; this layer converts types, releases the GIL around
// every call that may block, and takes it in callbacks from client threads.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cpp/client/admin.h"
#include "cpp/client/callback_executor.h"
#include "cpp/client/client_error.h"
#include "cpp/client/message.h"
#include "cpp/client/producer.h"
#include "cpp/client/pull_consumer.h"
#include "cpp/client/push_consumer.h"
#include "cpp/client/transaction_producer.h"
#include "cpp/common/lock_checking.h"
#include "cpp/common/message_record.h"
#include "cpp/common/version.h"

namespace py = pybind11;

namespace cometmq::python {
namespace {

using client::Message;
using client::MessageExt;
using client::MessageSelector;

// Raised into Python as _core.ClientError(message, broker_code, kind).
struct ClientException {
  std::string message;
  int broker_code;
  std::string kind;  // absl status code name, e.g. "DEADLINE_EXCEEDED"
};

[[noreturn]] void Throw(const absl::Status& status) {
  std::optional<int32_t> code = client::BrokerStatusCode(status);
  throw ClientException{std::string(status.message()), code.value_or(-1),
                        absl::StatusCodeToString(status.code())};
}

template <typename T>
T Unwrap(absl::StatusOr<T> result) {
  if (!result.ok()) Throw(result.status());
  return *std::move(result);
}

void Check(const absl::Status& status) {
  if (!status.ok()) Throw(status);
}

// Makes the blocking client call `call` (returning absl::Status or
// absl::StatusOr) with the GIL released; returns its value, or raises its
// error as ClientError once the GIL is taken back.
template <typename F>
auto CallWithoutGil(F&& call) {
  auto result = [&] {
    py::gil_scoped_release release;
    return call();
  }();
  if constexpr (std::is_same_v<decltype(result), absl::Status>) {
    Check(result);
  } else {
    return Unwrap(std::move(result));
  }
}

// WIPE_/ADD_WRITE_PERM_OF_BROKER on every NameServer, as mqadmin's
// wipeWritePerm/addWritePerm: {namesrv address: topics it routes for the
// broker}; the failures, if any, are raised together.
py::dict WritePermOnEveryNamesrv(client::Admin& admin,
                                 const std::string& broker_name, bool wipe) {
  py::dict out;
  std::vector<std::string> failures;
  for (const auto& [addr, topics] : CallWithoutGil(
           [&] { return admin.WritePermOfBroker(broker_name, wipe); })) {
    if (topics.ok()) {
      out[py::str(addr)] = *topics;
    } else {
      failures.push_back(absl::StrCat(addr, ": ", topics.status().message()));
    }
  }
  if (!failures.empty()) {
    Check(absl::UnavailableError(absl::StrCat(
        wipe ? "wipe" : "add", " write perm of broker[", broker_name,
        "] failed on ", absl::StrJoin(failures, "; "))));
  }
  return out;
}

// Poll() for up to `timeout`, in slices short enough that Ctrl-C (or any
// signal with a Python handler) interrupts a long poll within a tenth of a
// second: the handler runs between slices, with the GIL, and its exception
// ends the call. Poll() returns as soon as a message is there, so slicing
// adds no latency; a slice that ends early with nothing (a shutdown woke
// it) ends the call as one long Poll() would.
absl::StatusOr<std::vector<client::MessageExt>> PollInterruptibly(
    client::DefaultLitePullConsumer& consumer, absl::Duration timeout) {
  constexpr absl::Duration kSlice = absl::Milliseconds(100);
  const absl::Time deadline = absl::Now() + timeout;
  for (bool first = true;; first = false) {
    const absl::Time slice_end = std::min(absl::Now() + kSlice, deadline);
    absl::StatusOr<std::vector<client::MessageExt>> msgs;
    absl::Time returned;
    {
      py::gil_scoped_release release;
      msgs = consumer.Poll(slice_end - absl::Now());
      // Read before taking the GIL back, which another thread may hold
      // past the slice's end: a slice woken early must still count so.
      returned = absl::Now();
    }
    // A shutdown between two slices: one long Poll() would have been woken
    // by it and returned nothing, not "not running".
    if (!first && absl::IsFailedPrecondition(msgs.status())) {
      return std::vector<client::MessageExt>();
    }
    if (!msgs.ok() || !msgs->empty() || returned < slice_end ||
        returned >= deadline) {
      return msgs;
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

// A Python callable that may be called and dropped on any thread: it takes
// the GIL for both.
class PyCallable {
 public:
  explicit PyCallable(py::object fn)
      : fn_(new py::object(std::move(fn)), [](py::object* p) {
          py::gil_scoped_acquire gil;
          delete p;
        }) {}
  template <typename... Args>
  py::object operator()(Args&&... args) const {
    py::gil_scoped_acquire gil;
    return (*fn_)(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<py::object> fn_;
};

// Holds a client for its Python object. The client's destructor shuts it
// down, which waits for running listener calls and async send callbacks;
// they take the GIL, so the destructor runs with the GIL released (a client
// dropped while running would otherwise deadlock its interpreter).
template <typename T>
struct DeleteWithoutGil {
  void operator()(T* client) const {
    py::gil_scoped_release release;
    delete client;
  }
};
template <typename T>
using Holder = std::unique_ptr<T, DeleteWithoutGil<T>>;
template <typename T, typename... Args>
Holder<T> MakeHolder(Args&&... args) {
  return Holder<T>(new T(std::forward<Args>(args)...));
}

Message MakeMessage(const std::string& topic, py::bytes body,
                    const std::string& tags, std::vector<std::string> keys,
                    std::map<std::string, std::string> properties,
                    int delay_level) {
  Message m;
  m.topic = topic;
  m.body = body;
  m.tags = tags;
  m.keys = std::move(keys);
  m.properties = std::move(properties);
  m.delay_level = delay_level;
  return m;
}

py::dict MessageToDict(const MessageExt& m) {
  py::dict d;
  d["topic"] = m.topic;
  d["body"] = py::bytes(m.body);
  d["tags"] = m.tags;
  d["keys"] = m.keys;
  d["properties"] = m.properties;
  d["msg_id"] = m.msg_id;
  d["offset_msg_id"] = m.offset_msg_id;
  d["broker_name"] = m.broker_name;
  d["queue_id"] = m.queue_id;
  d["queue_offset"] = m.queue_offset;
  d["commit_log_offset"] = m.commit_log_offset;
  d["reconsume_times"] = m.reconsume_times;
  d["born_timestamp"] = m.born_timestamp;
  d["store_timestamp"] = m.store_timestamp;
  d["born_host"] = m.born_host;
  d["store_host"] = m.store_host;
  d["delay_level"] = m.delay_level;
  return d;
}

py::dict SendResultToDict(const client::SendResult& r) {
  py::dict d;
  d["status"] = r.status;
  d["msg_id"] = r.msg_id;
  d["offset_msg_id"] = r.offset_msg_id;
  d["broker_name"] = r.broker_name;
  d["queue_id"] = r.queue_id;
  d["queue_offset"] = r.queue_offset;
  return d;
}

client::ClientConfig MakeClientConfig(const std::string& namesrv,
                                      const std::string& instance_name = "") {
  client::ClientConfig config;
  config.namesrv_addr = namesrv;
  if (!instance_name.empty()) config.instance_name = instance_name;
  return config;
}

client::ConsumerOptions MakeConsumerOptions(
    const std::string& namesrv, const std::string& instance_name,
    const std::string& model, const std::string& consume_from,
    int64_t consume_timestamp_ms, int max_reconsume_times, int consume_threads,
    bool orderly = false, std::string offset_dir = "") {
  client::ConsumerOptions o;
  o.client = MakeClientConfig(namesrv, instance_name);
  if (model == "CLUSTERING") {
    o.model = client::MessageModel::kClustering;
  } else if (model == "BROADCASTING") {
    o.model = client::MessageModel::kBroadcasting;
  } else {
    throw py::value_error("model must be CLUSTERING or BROADCASTING");
  }
  // RocketMQ's ConsumeFromWhere names too; its deprecated MIN_OFFSET,
  // MAX_OFFSET and LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST behave as
  // LAST_OFFSET there (RebalancePushImpl.computePullFromWhere).
  absl::string_view from = consume_from;
  absl::ConsumePrefix(&from, "CONSUME_FROM_");
  if (from == "FIRST_OFFSET") {
    o.consume_from = client::ConsumeFrom::kFirstOffset;
  } else if (from == "LAST_OFFSET" || from == "MIN_OFFSET" ||
             from == "MAX_OFFSET" ||
             from == "LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST") {
    o.consume_from = client::ConsumeFrom::kLastOffset;
  } else if (from == "TIMESTAMP") {
    o.consume_from = client::ConsumeFrom::kTimestamp;
  } else {
    throw py::value_error(
        "consume_from must be FIRST_OFFSET, LAST_OFFSET or TIMESTAMP (or "
        "RocketMQ's CONSUME_FROM_FIRST_OFFSET, CONSUME_FROM_LAST_OFFSET, "
        "CONSUME_FROM_TIMESTAMP), not " +
        consume_from);
  }
  o.consume_timestamp_millis = consume_timestamp_ms;
  o.max_reconsume_times = max_reconsume_times;
  o.consume_threads = consume_threads;
  o.orderly = orderly;
  o.local_offset_dir = std::move(offset_dir);
  return o;
}

py::dict RouteToDict(const proto::TopicRouteData& route) {
  py::list queues, brokers;
  for (const auto& q : route.queue_datas()) {
    py::dict d;
    d["broker_name"] = q.broker_name();
    d["read_queue_nums"] = q.read_queue_nums();
    d["write_queue_nums"] = q.write_queue_nums();
    d["perm"] = q.perm();
    d["order"] = q.order();
    queues.append(d);
  }
  for (const auto& b : route.broker_datas()) {
    py::dict d, addrs;
    d["cluster"] = b.cluster();
    d["broker_name"] = b.broker_name();
    for (const auto& [id, addr] : b.broker_addrs()) addrs[py::int_(id)] = addr;
    d["broker_addrs"] = addrs;
    brokers.append(d);
  }
  py::dict out;
  out["queue_datas"] = queues;
  out["broker_datas"] = brokers;
  return out;
}

py::dict ClusterToDict(const proto::ClusterInfo& info) {
  py::dict brokers, clusters;
  for (const auto& [name, b] : info.broker_table()) {
    py::dict d, addrs;
    d["cluster"] = b.cluster();
    for (const auto& [id, addr] : b.broker_addrs()) addrs[py::int_(id)] = addr;
    d["broker_addrs"] = addrs;
    brokers[py::str(name)] = d;
  }
  for (const auto& [cluster, names] : info.cluster_table()) {
    py::list l;
    for (const auto& n : names.names()) l.append(n);
    clusters[py::str(cluster)] = l;
  }
  py::dict out;
  out["brokers"] = brokers;
  out["clusters"] = clusters;
  return out;
}

// One message of a batch: topic, body, tags, keys, properties, delay level
// (the package fills in the batch's topic and tags where an item has none;
// the client refuses a batch whose topics differ or that delays).
using BatchItem =
    std::tuple<std::string, py::bytes, std::string, std::vector<std::string>,
               std::map<std::string, std::string>, int>;

void BindProducer(py::module_& m) {
  using client::DefaultProducer;
  py::class_<DefaultProducer, Holder<DefaultProducer>>(m, "Producer")
      .def(py::init([](const std::string& group, const std::string& namesrv,
                       int64_t send_timeout_ms, int retry_times) {
             client::ProducerOptions o;
             o.client = MakeClientConfig(namesrv);
             o.send_timeout = absl::Milliseconds(send_timeout_ms);
             o.retry_times_when_send_failed = retry_times;
             return MakeHolder<DefaultProducer>(group, o);
           }),
           py::arg("group"), py::arg("namesrv"), py::arg("send_timeout_ms"),
           py::arg("retry_times"))
      .def(
          "start", [](DefaultProducer& p) { Check(p.Start()); },
          py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &DefaultProducer::Shutdown,
           py::call_guard<py::gil_scoped_release>())
      .def("send",
           [](DefaultProducer& p, const std::string& topic, py::bytes body,
              const std::string& tags, std::vector<std::string> keys,
              std::map<std::string, std::string> props, int delay,
              int64_t timeout_ms) {
             Message msg = MakeMessage(topic, body, tags, std::move(keys),
                                       std::move(props), delay);
             return SendResultToDict(CallWithoutGil([&] {
               return p.SendSync(msg, absl::Milliseconds(timeout_ms));
             }));
           })
      .def("send_async",
           [](DefaultProducer& p, const std::string& topic, py::bytes body,
              const std::string& tags, std::vector<std::string> keys,
              std::map<std::string, std::string> props, int delay,
              int64_t timeout_ms, py::object on_done) {
             Message msg = MakeMessage(topic, body, tags, std::move(keys),
                                       std::move(props), delay);
             PyCallable done(std::move(on_done));
             py::gil_scoped_release release;
             p.SendAsync(
                 msg,
                 [done](absl::StatusOr<client::SendResult> r) {
                   py::gil_scoped_acquire gil;
                   try {
                     if (r.ok()) {
                       done(SendResultToDict(*r), py::none());
                     } else {
                       std::optional<int32_t> code =
                           client::BrokerStatusCode(r.status());
                       done(py::none(),
                            py::make_tuple(
                                std::string(r.status().message()),
                                code.value_or(-1),
                                absl::StatusCodeToString(r.status().code())));
                     }
                   } catch (py::error_already_set& e) {
                     e.discard_as_unraisable("cometmq send_async callback");
                   }
                 },
                 absl::Milliseconds(timeout_ms));
           })
      .def("send_oneway",
           [](DefaultProducer& p, const std::string& topic, py::bytes body,
              const std::string& tags, std::vector<std::string> keys,
              std::map<std::string, std::string> props) {
             Message msg = MakeMessage(topic, body, tags, std::move(keys),
                                       std::move(props), 0);
             py::gil_scoped_release release;
             Check(p.SendOneway(msg));
           })
      .def("send_orderly",
           [](DefaultProducer& p, const std::string& topic, py::bytes body,
              const std::string& sharding_key, const std::string& tags,
              std::vector<std::string> keys,
              std::map<std::string, std::string> props) {
             Message msg = MakeMessage(topic, body, tags, std::move(keys),
                                       std::move(props), 0);
             return SendResultToDict(CallWithoutGil(
                 [&] { return p.SendOrderly(msg, sharding_key); }));
           })
      .def("send_batch", [](DefaultProducer& p,
                            const std::vector<BatchItem>& items) {
        std::vector<Message> batch;
        batch.reserve(items.size());
        for (const auto& [topic, body, tags, keys, props, delay] : items) {
          batch.push_back(MakeMessage(topic, body, tags, keys, props, delay));
        }
        return SendResultToDict(
            CallWithoutGil([&] { return p.SendBatch(batch); }));
      });
}

client::TransactionState ParseState(const std::string& state) {
  if (state == "COMMIT") return client::TransactionState::kCommit;
  if (state == "ROLLBACK") return client::TransactionState::kRollback;
  return client::TransactionState::kUnknown;
}

// Wraps a Python fn(message dict) -> "COMMIT" | "ROLLBACK" | "UNKNOWN" (the
// package's wrappers guarantee the string); a Python error means UNKNOWN.
std::function<client::TransactionState(const MessageExt&)> StateCallback(
    py::object fn, const char* what) {
  PyCallable callable(std::move(fn));
  return [callable, what](const MessageExt& msg) {
    py::gil_scoped_acquire gil;
    try {
      return ParseState(callable(MessageToDict(msg)).cast<std::string>());
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable(what);
    } catch (const py::cast_error&) {
    }
    return client::TransactionState::kUnknown;
  };
}

void BindTransactionProducer(py::module_& m) {
  using client::TransactionProducer;
  py::class_<TransactionProducer, Holder<TransactionProducer>>(
      m, "TransactionProducer")
      .def(
          py::init([](const std::string& group, const std::string& namesrv,
                      const std::string& instance_name, int64_t send_timeout_ms,
                      int retry_times, int64_t heartbeat_interval_ms,
                      py::object check_listener) {
            client::ProducerOptions o;
            o.client = MakeClientConfig(namesrv, instance_name);
            o.client.heartbeat_interval =
                absl::Milliseconds(heartbeat_interval_ms);
            o.send_timeout = absl::Milliseconds(send_timeout_ms);
            o.retry_times_when_send_failed = retry_times;
            return MakeHolder<TransactionProducer>(
                group, o,
                StateCallback(std::move(check_listener),
                              "cometmq transaction check listener"));
          }),
          py::arg("group"), py::arg("namesrv"), py::arg("instance_name"),
          py::arg("send_timeout_ms"), py::arg("retry_times"),
          py::arg("heartbeat_interval_ms"), py::arg("check_listener"))
      .def(
          "start", [](TransactionProducer& p) { Check(p.Start()); },
          py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &TransactionProducer::Shutdown,
           py::call_guard<py::gil_scoped_release>())
      .def("send_in_transaction",
           [](TransactionProducer& p, const std::string& topic, py::bytes body,
              const std::string& tags, std::vector<std::string> keys,
              std::map<std::string, std::string> props, py::object executor) {
             Message msg = MakeMessage(topic, body, tags, std::move(keys),
                                       std::move(props), 0);
             auto run = StateCallback(std::move(executor),
                                      "cometmq local transaction executor");
             client::TransactionSendResult result =
                 CallWithoutGil([&] { return p.SendInTransaction(msg, run); });
             py::dict d = SendResultToDict(result.send);
             d["transaction_id"] = result.transaction_id;
             d["local_state"] =
                 client::TransactionStateName(result.local_state);
             d["end_error"] = result.end_error;
             return d;
           });
}

void BindPushConsumer(py::module_& m) {
  using client::DefaultPushConsumer;
  py::class_<DefaultPushConsumer, Holder<DefaultPushConsumer>>(m,
                                                               "PushConsumer")
      .def(py::init([](const std::string& group, const std::string& namesrv,
                       const std::string& instance_name,
                       const std::string& model, const std::string& from,
                       int64_t timestamp_ms, int max_reconsume_times,
                       int consume_threads, bool orderly,
                       const std::string& offset_dir, int64_t lock_interval_ms,
                       int64_t consume_concurrently_max_span,
                       int64_t consume_timeout_ms, int consume_batch_max_size) {
        client::ConsumerOptions options = MakeConsumerOptions(
            namesrv, instance_name, model, from, timestamp_ms,
            max_reconsume_times, consume_threads, orderly, offset_dir);
        if (lock_interval_ms <= 0) {
          throw py::value_error("lock_interval_ms must be positive");
        }
        if (consume_concurrently_max_span < 1) {
          throw py::value_error(
              "consume_concurrently_max_span must be at least 1");
        }
        if (consume_timeout_ms <= 0) {
          throw py::value_error("consume_timeout_ms must be positive");
        }
        options.consume_concurrently_max_span = consume_concurrently_max_span;
        options.consume_timeout = absl::Milliseconds(consume_timeout_ms);
        // Checked by Start(), as RocketMQ's checkConfig at start().
        options.consume_batch_max_size = consume_batch_max_size;
        // The client stops consuming a queue whose lock was not confirmed
        // for 1.5 renewal intervals, as RocketMQ's 20 s / 30 s.
        options.lock_interval = absl::Milliseconds(lock_interval_ms);
        options.lock_ttl = options.lock_interval * 3 / 2;
        return MakeHolder<DefaultPushConsumer>(group, std::move(options));
      }))
      .def("subscribe",
           [](DefaultPushConsumer& c, const std::string& topic,
              const std::string& expression) {
             Check(c.Subscribe(topic, expression));
           })
      .def("subscribe_sql",
           [](DefaultPushConsumer& c, const std::string& topic,
              const std::string& sql) {
             Check(c.Subscribe(topic, MessageSelector::BySql(sql)));
           })
      .def("unsubscribe",
           [](DefaultPushConsumer& c, const std::string& topic) {
             CallWithoutGil([&] { return c.Unsubscribe(topic); });
           })
      .def("register_listener",
           [](DefaultPushConsumer& c, py::object fn) {
             PyCallable listener(std::move(fn));
             c.RegisterListener([listener](const MessageExt& msg) {
               py::gil_scoped_acquire gil;
               try {
                 bool ok = listener(MessageToDict(msg)).cast<bool>();
                 return ok ? client::ConsumeResult::kSuccess
                           : client::ConsumeResult::kReconsumeLater;
               } catch (py::error_already_set& e) {
                 e.discard_as_unraisable("cometmq message listener");
                 return client::ConsumeResult::kReconsumeLater;
               }
             });
           })
      .def("register_batch_listener",
           [](DefaultPushConsumer& c, py::object fn) {
             PyCallable listener(std::move(fn));
             c.RegisterBatchListener(
                 [listener](const std::vector<MessageExt>& msgs) {
                   py::gil_scoped_acquire gil;
                   try {
                     py::list batch;
                     for (const MessageExt& msg : msgs) {
                       batch.append(MessageToDict(msg));
                     }
                     bool ok = listener(std::move(batch)).cast<bool>();
                     return ok ? client::ConsumeResult::kSuccess
                               : client::ConsumeResult::kReconsumeLater;
                   } catch (py::error_already_set& e) {
                     e.discard_as_unraisable("cometmq batch listener");
                     return client::ConsumeResult::kReconsumeLater;
                   }
                 });
           })
      .def(
          "start", [](DefaultPushConsumer& c) { Check(c.Start()); },
          py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &DefaultPushConsumer::Shutdown,
           py::call_guard<py::gil_scoped_release>())
      .def("owned_queues", [](DefaultPushConsumer& c) {
        std::vector<std::string> out;
        for (const auto& q : c.OwnedQueues()) out.push_back(q.ToString());
        return out;
      });
}

void BindPullConsumer(py::module_& m) {
  using client::DefaultLitePullConsumer;
  py::class_<DefaultLitePullConsumer, Holder<DefaultLitePullConsumer>>(
      m, "PullConsumer")
      .def(py::init([](const std::string& group, const std::string& namesrv,
                       const std::string& instance_name,
                       const std::string& from, int64_t timestamp_ms) {
        return MakeHolder<DefaultLitePullConsumer>(
            group, MakeConsumerOptions(namesrv, instance_name, "CLUSTERING",
                                       from, timestamp_ms, 16, 1));
      }))
      .def("subscribe",
           [](DefaultLitePullConsumer& c, const std::string& topic,
              const std::string& expression) {
             Check(c.Subscribe(topic, expression));
           })
      .def("subscribe_sql",
           [](DefaultLitePullConsumer& c, const std::string& topic,
              const std::string& sql) {
             Check(c.Subscribe(topic, MessageSelector::BySql(sql)));
           })
      .def("unsubscribe",
           [](DefaultLitePullConsumer& c, const std::string& topic) {
             CallWithoutGil([&] { return c.Unsubscribe(topic); });
           })
      .def(
          "start", [](DefaultLitePullConsumer& c) { Check(c.Start()); },
          py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &DefaultLitePullConsumer::Shutdown,
           py::call_guard<py::gil_scoped_release>())
      .def("poll",
           [](DefaultLitePullConsumer& c, int64_t timeout_ms) {
             absl::StatusOr<std::vector<MessageExt>> msgs =
                 PollInterruptibly(c, absl::Milliseconds(timeout_ms));
             py::list out;
             for (const auto& msg : Unwrap(std::move(msgs))) {
               out.append(MessageToDict(msg));
             }
             return out;
           })
      .def("commit",
           [](DefaultLitePullConsumer& c) {
             py::gil_scoped_release release;
             Check(c.Commit());
           })
      .def("seek", [](DefaultLitePullConsumer& c, const std::string& topic,
                      const std::string& broker_name, int32_t queue_id,
                      int64_t offset) {
        py::gil_scoped_release release;
        Check(
            c.Seek(client::MessageQueue{topic, broker_name, queue_id}, offset));
      });
}

py::list ConnectionsToList(
    const std::vector<client::ClientConnection>& connections) {
  py::list out;
  for (const client::ClientConnection& c : connections) {
    py::dict d;
    d["client_id"] = c.client_id;
    d["client_addr"] = c.address;
    d["language"] = c.language;
    d["version"] = c.version;
    out.append(d);
  }
  return out;
}

void BindAdmin(py::module_& m) {
  using client::Admin;
  py::class_<Admin, Holder<Admin>>(m, "Admin")
      .def(py::init([](const std::string& namesrv) {
        return MakeHolder<Admin>(MakeClientConfig(namesrv));
      }))
      .def(
          "start", [](Admin& a) { Check(a.Start()); },
          py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &Admin::Shutdown,
           py::call_guard<py::gil_scoped_release>())
      .def("create_topic",
           [](Admin& a, const std::string& topic, const std::string& cluster,
              int32_t read, int32_t write, int32_t perm, bool order) {
             client::TopicSettings settings;
             settings.read_queues = read;
             settings.write_queues = write;
             settings.perm = perm;
             settings.order = order;
             py::gil_scoped_release release;
             Check(a.CreateTopic(topic, cluster, settings));
           })
      .def("delete_topic",
           [](Admin& a, const std::string& topic, const std::string& cluster) {
             py::gil_scoped_release release;
             Check(a.DeleteTopic(topic, cluster));
           })
      .def("topic_route",
           [](Admin& a, const std::string& topic) {
             return RouteToDict(
                 CallWithoutGil([&] { return a.TopicRoute(topic); }));
           })
      .def("cluster_list",
           [](Admin& a) {
             return ClusterToDict(
                 CallWithoutGil([&] { return a.ClusterList(); }));
           })
      .def("broker_status",
           [](Admin& a, const std::string& broker_addr) {
             const proto::BrokerRuntimeInfo info = CallWithoutGil(
                 [&] { return a.BrokerRuntimeInfo(broker_addr); });
             py::dict out;
             for (const auto& [key, value] : info.table()) {
               out[py::str(key)] = value;
             }
             return out;
           })
      .def("broker_config",
           [](Admin& a, const std::string& broker_addr) {
             return CallWithoutGil([&] { return a.BrokerConfig(broker_addr); });
           })
      .def("update_broker_config",
           [](Admin& a, const std::string& broker_addr, const std::string& key,
              const std::string& value) {
             CallWithoutGil(
                 [&] { return a.UpdateBrokerConfig(broker_addr, key, value); });
           })
      .def("write_perm_of_broker",
           [](Admin& a, const std::string& broker_name, bool wipe) {
             return WritePermOnEveryNamesrv(a, broker_name, wipe);
           })
      .def("topic_stats",
           [](Admin& a, const std::string& topic) {
             py::list out;
             for (const auto& q :
                  CallWithoutGil([&] { return a.TopicStats(topic); })) {
               py::dict d;
               d["broker_name"] = q.broker_name;
               d["queue_id"] = q.queue_id;
               d["min_offset"] = q.min_offset;
               d["max_offset"] = q.max_offset;
               d["last_update_timestamp"] = q.last_update_timestamp;
               out.append(d);
             }
             return out;
           })
      .def("consumer_progress",
           [](Admin& a, const std::string& group, const std::string& topic) {
             py::list out;
             for (const auto& q : CallWithoutGil(
                      [&] { return a.ConsumerProgress(group, topic); })) {
               py::dict d;
               d["topic"] = q.topic;
               d["broker_name"] = q.broker_name;
               d["queue_id"] = q.queue_id;
               d["broker_offset"] = q.broker_offset;
               d["consumer_offset"] = q.consumer_offset;
               d["lag"] = q.lag;
               out.append(d);
             }
             return out;
           })
      .def("reset_offset_by_time",
           [](Admin& a, const std::string& group, const std::string& topic,
              int64_t timestamp, bool force) {
             const client::OffsetReset reset = CallWithoutGil([&] {
               return a.ResetOffsetByTime(group, topic, timestamp, force);
             });
             py::list queues;
             for (const client::QueueReset& q : reset.queues) {
               py::dict d;
               d["broker_name"] = q.broker_name;
               d["queue_id"] = q.queue_id;
               d["offset"] = q.offset;
               d["online"] = q.online;
               queues.append(d);
             }
             py::dict out;
             out["queues"] = queues;
             out["clients_notified"] = reset.clients_notified;
             return out;
           })
      .def("clone_group_offset",
           [](Admin& a, const std::string& src, const std::string& dest,
              const std::string& topic, bool offline) {
             const std::vector<client::GroupOffsetClone> clones =
                 CallWithoutGil([&] {
                   return a.CloneGroupOffset(src, dest, topic, offline);
                 });
             py::list out;
             for (const client::GroupOffsetClone& c : clones) {
               py::dict d;
               d["broker_name"] = c.broker_name;
               d["cloned"] = !c.topics.empty();
               d["clients_notified"] = c.clients_notified;
               out.append(d);
             }
             return out;
           })
      .def("consumer_connection",
           [](Admin& a, const std::string& group,
              const std::string& broker_addr) {
             const client::ConsumerConnectionInfo info = CallWithoutGil(
                 [&] { return a.ConsumerConnection(group, broker_addr); });
             py::dict out;
             out["connections"] = ConnectionsToList(info.connections);
             out["consume_type"] = info.consume_type;
             out["message_model"] = info.message_model;
             out["consume_from_where"] = info.consume_from_where;
             py::dict subs;
             py::dict types;
             for (const auto& [topic, expression] : info.subscriptions) {
               subs[py::str(topic)] = expression;
               types[py::str(topic)] = info.expression_types.at(topic);
             }
             out["subscriptions"] = subs;
             out["expression_types"] = types;
             return out;
           })
      .def("producer_connection",
           [](Admin& a, const std::string& group, const std::string& topic) {
             return ConnectionsToList(CallWithoutGil(
                 [&] { return a.ProducerConnection(group, topic); }));
           })
      .def("delete_subscription_group",
           [](Admin& a, const std::string& group, const std::string& cluster,
              const std::string& broker_addr, bool remove_offsets) {
             py::list out;
             for (const auto& d : CallWithoutGil([&] {
                    return a.DeleteSubscriptionGroup(
                        group, cluster, broker_addr, remove_offsets);
                  })) {
               py::dict entry;
               entry["broker_addr"] = d.broker_addr;
               entry["existed"] = d.existed;
               entry["offsets_removed"] = d.offsets_removed;
               out.append(entry);
             }
             return out;
           })
      .def("view_message",
           [](Admin& a, const std::string& offset_msg_id) {
             return MessageToDict(
                 CallWithoutGil([&] { return a.ViewMessage(offset_msg_id); }));
           })
      .def("resend_dlq",
           [](Admin& a, const std::string& group, int32_t max_messages) {
             py::list out;
             for (const auto& m : CallWithoutGil(
                      [&] { return a.ResendDlq(group, max_messages); })) {
               py::dict d;
               d["msg_id"] = m.msg_id;
               d["topic"] = m.topic;
               d["broker_name"] = m.broker_name;
               d["queue_id"] = m.queue_id;
               d["queue_offset"] = m.queue_offset;
               out.append(d);
             }
             return out;
           })
      .def("query_by_unique_key",
           [](Admin& a, const std::string& topic, const std::string& msg_id) {
             absl::StatusOr<std::vector<MessageExt>> r;
             {
               py::gil_scoped_release release;
               r = a.QueryByUniqueKey(topic, msg_id);
             }
             py::list out;
             for (const auto& msg : Unwrap(std::move(r))) {
               out.append(MessageToDict(msg));
             }
             return out;
           })
      .def("query_by_key",
           [](Admin& a, const std::string& topic, const std::string& key,
              int64_t begin_ms, int64_t end_ms, int32_t max_num) {
             py::list out;
             for (const auto& msg : CallWithoutGil([&] {
                    return a.QueryByKey(topic, key, begin_ms, end_ms, max_num);
                  })) {
               out.append(MessageToDict(msg));
             }
             return out;
           });
}

}  // namespace
}  // namespace cometmq::python

PYBIND11_MODULE(_core, m) {
  cometmq::ConfigureLockOrderChecking();
  using cometmq::python::ClientException;
  m.doc() = "CometMQ client core (C++)";
  m.attr("__version__") = cometmq::kVersion;
  static py::exception<ClientException> client_error(m, "ClientError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ClientException& e) {
      PyErr_SetObject(client_error.ptr(),
                      py::make_tuple(e.message, e.broker_code, e.kind).ptr());
    }
  });
  m.def("in_callback_thread",
        &cometmq::client::CallbackExecutor::InCallbackThread,
        "True on a client's callback thread, where send_async futures are "
        "resolved: a shutdown there cannot wait for the callbacks.");
  cometmq::python::BindProducer(m);
  cometmq::python::BindTransactionProducer(m);
  cometmq::python::BindPushConsumer(m);
  cometmq::python::BindPullConsumer(m);
  cometmq::python::BindAdmin(m);
}
