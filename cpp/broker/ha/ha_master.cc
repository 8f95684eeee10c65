#include "cpp/broker/ha/ha_master.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/common/crc32.h"
#include "cpp/common/message_record.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

using remoting::Command;

constexpr absl::Duration kMaxHold = absl::Seconds(5);
constexpr int64_t kMaxBatch = int64_t{4} << 20;

}  // namespace

HaMaster::HaMaster(HaMasterOptions options, store::MessageStore* store)
    : options_(std::move(options)), store_(store) {}

HaMaster::~HaMaster() { Stop(); }

absl::Status HaMaster::Start() {
  remoting::ServerOptions server_options;
  server_options.name = "ha";
  server_options.bind_address = options_.bind_address;
  server_options.port = options_.port;
  server_options.io_threads = 1;
  server_options.shutdown_grace = absl::Seconds(1);
  server_ = std::make_unique<remoting::RemotingServer>(server_options);
  server_->RegisterHandler(proto::HA_TRANSFER,
                           [this](Command request, remoting::Responder r) {
                             HandleTransfer(std::move(request), std::move(r));
                           });
  server_->SetCloseListener(
      [this](const std::string& remote) { OnConnectionClosed(remote); });
  if (absl::Status s = server_->Start(); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("HA port ", options_.port, ": ", s.message()));
  }
  timer_ = std::thread([this] { TimerLoop(); });
  return absl::OkStatus();
}

uint16_t HaMaster::port() const {
  return server_ != nullptr ? server_->port() : 0;
}

void HaMaster::Stop() {
  std::vector<Held> held;
  std::multimap<int64_t, Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    held.swap(held_);
    waiters.swap(waiters_);
    timer_cv_.Signal();
  }
  for (const Held& h : held) AnswerEmpty(h);
  for (auto& [end, waiter] : waiters) {
    waiter.done(store::PutStatus::kFlushSlaveTimeout);
  }
  if (timer_.joinable()) timer_.join();
  if (server_ != nullptr) server_->Stop();
}

std::string HaMaster::CheckSlaveLog(const proto::HaTransferRequest& req) const {
  if (req.segment_size() != options_.segment_size) {
    return absl::StrCat("slave segment size ", req.segment_size(),
                        " differs from the master's ", options_.segment_size,
                        " (mapedFileSizeCommitLog must match)");
  }
  const int64_t offset = req.offset();
  const int64_t master_max = store_->MaxPhysicalOffset();
  if (offset > master_max) {
    return absl::StrCat("slave commit log ends at ", offset,
                        ", beyond the master's end ", master_max,
                        ": the logs diverged; the slave's store must be "
                        "emptied or truncated before it can replicate");
  }
  if (offset > 0 && offset < store_->MinPhysicalOffset()) {
    return absl::StrCat("slave commit log ends at ", offset,
                        " but the master's files start at ",
                        store_->MinPhysicalOffset(),
                        " (deleted by retention); empty the slave's store");
  }
  const int64_t tail_end = req.tail_end() > 0 ? req.tail_end() : offset;
  if (tail_end > offset) {
    return absl::StrCat("bad tail end ", tail_end, " beyond the slave's end ",
                        offset);
  }
  // Not comparable when the master has deleted those bytes (retention).
  if (req.tail_length() > 0 &&
      tail_end - req.tail_length() >= store_->MinPhysicalOffset()) {
    store::RecordSlice tail;
    if (!store_->commit_log().Read(tail_end - req.tail_length(),
                                   req.tail_length(), &tail) ||
        Crc32(tail.bytes()) != req.tail_crc()) {
      return absl::StrCat("the slave's last ", req.tail_length(),
                          " bytes before offset ", tail_end,
                          " differ from the master's: the logs diverged");
    }
  }
  return "";
}

void HaMaster::HandleTransfer(Command request, remoting::Responder responder) {
  if (!request.header.has_ha_transfer()) {
    responder.Respond(remoting::MissingPayloadResponse(request, "ha_transfer"));
    return;
  }
  const proto::HaTransferRequest req = request.header.ha_transfer();
  if (std::string error = CheckSlaveLog(req); !error.empty()) {
    LogRefusal(responder.remote_address(), req.slave_addr(), error);
    responder.Respond(
        remoting::MakeResponse(request, proto::BAD_REQUEST, error));
    return;
  }
  Acknowledge(responder.remote_address(), req);
  const int64_t offset =
      req.offset() == 0 ? store_->MinPhysicalOffset() : req.offset();
  const int64_t max_bytes = std::clamp<int64_t>(req.max_bytes(), 1, kMaxBatch);
  request.body.clear();
  store::RecordSlice slice;
  {
    // The read and the parking happen under mu_, and OnAppended takes mu_
    // after the append is visible: either this read sees the new records,
    // or OnAppended finds this request held. Nothing is sent under mu_.
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      responder.Respond(remoting::MakeResponse(
          request, proto::SERVICE_NOT_AVAILABLE, "the master is stopping"));
      return;
    }
    if (!store_->ReadForReplica(offset, max_bytes, &slice)) {
      const absl::Duration hold =
          std::min(absl::Milliseconds(req.wait_millis()), kMaxHold);
      held_.push_back(Held{std::move(request), std::move(responder), offset,
                           max_bytes, absl::Now() + hold});
      timer_cv_.Signal();
      return;
    }
  }
  Answer(request, responder, offset, slice);
}

void HaMaster::Answer(const Command& request,
                      const remoting::Responder& responder, int64_t offset,
                      const store::RecordSlice& slice) const {
  Command response = remoting::MakeResponse(request, proto::SUCCESS);
  proto::HaTransferResponse* out =
      response.header.mutable_ha_transfer_response();
  out->set_offset(offset);
  out->set_master_max_offset(store_->MaxPhysicalOffset());
  response.body.assign(slice.data, static_cast<size_t>(slice.size));
  responder.Respond(std::move(response));
}

bool HaMaster::TryAnswer(const Command& request,
                         const remoting::Responder& responder, int64_t offset,
                         int64_t max_bytes) const {
  store::RecordSlice slice;
  if (!store_->ReadForReplica(offset, max_bytes, &slice)) return false;
  Answer(request, responder, offset, slice);
  return true;
}

void HaMaster::AnswerEmpty(const Held& held) const {
  Command response = remoting::MakeResponse(held.request, proto::SUCCESS);
  proto::HaTransferResponse* out =
      response.header.mutable_ha_transfer_response();
  out->set_offset(held.offset);
  out->set_master_max_offset(store_->MaxPhysicalOffset());
  held.responder.Respond(std::move(response));
}

void HaMaster::LogRefusal(const std::string& remote,
                          const std::string& slave_addr,
                          const std::string& error) {
  absl::MutexLock lock(&mu_);
  std::string& last = refused_[remote];
  if (last == error) return;  // the slave retries every second
  last = error;
  spdlog::error("replication to slave {} ({}) refused: {}", slave_addr, remote,
                error);
}

void HaMaster::Acknowledge(const std::string& remote,
                           const proto::HaTransferRequest& req) {
  std::vector<Done> done;
  {
    absl::MutexLock lock(&mu_);
    SlaveStatus& slave = slaves_[remote];
    if (slave.remote.empty()) {
      spdlog::info("slave {} (brokerId {}) connected from {} at offset {}",
                   req.slave_addr(), req.broker_id(), remote, req.offset());
    }
    slave.remote = remote;
    slave.slave_addr = req.slave_addr();
    slave.broker_id = req.broker_id();
    slave.acked_offset = req.offset();
    slave.last_seen = absl::Now();
    max_acked_ = std::max(max_acked_, req.offset());
    auto covered = waiters_.upper_bound(max_acked_);
    for (auto it = waiters_.begin(); it != covered; ++it) {
      done.push_back(std::move(it->second.done));
    }
    waiters_.erase(waiters_.begin(), covered);
  }
  for (Done& d : done) d(store::PutStatus::kOk);
}

void HaMaster::OnConnectionClosed(const std::string& remote) {
  std::vector<Done> orphaned;
  {
    absl::MutexLock lock(&mu_);
    refused_.erase(remote);
    if (slaves_.erase(remote) > 0) {
      spdlog::warn("slave connection {} closed", remote);
    }
    orphaned = TakeWaitersWithoutSlave();
  }
  for (Done& d : orphaned) d(store::PutStatus::kSlaveNotAvailable);
}

std::vector<HaMaster::Done> HaMaster::TakeWaitersWithoutSlave() {
  std::vector<Done> out;
  if (waiters_.empty() || AnySlaveInSync(waiters_.begin()->first)) return out;
  for (auto& [end, waiter] : waiters_) out.push_back(std::move(waiter.done));
  waiters_.clear();
  return out;
}

void HaMaster::OnAppended(int64_t end_offset) {
  std::vector<Held> ready;
  {
    // Always under mu_ (a short, uncontended section: nothing is copied or
    // sent under it), so a request being parked cannot miss this append.
    absl::MutexLock lock(&mu_);
    if (held_.empty()) return;
    auto split = std::partition(held_.begin(), held_.end(), [&](const Held& h) {
      return h.offset >= end_offset;
    });
    for (auto it = split; it != held_.end(); ++it) {
      ready.push_back(std::move(*it));
    }
    held_.erase(split, held_.end());
  }
  for (const Held& h : ready) {
    if (!TryAnswer(h.request, h.responder, h.offset, h.max_bytes)) {
      AnswerEmpty(h);
    }
  }
}

bool HaMaster::AnySlaveInSync(int64_t end_offset) const {
  const absl::Time now = absl::Now();
  for (const auto& [remote, slave] : slaves_) {
    if (now - slave.last_seen < options_.slave_expiry &&
        end_offset - slave.acked_offset <= options_.max_gap_not_in_sync) {
      return true;
    }
  }
  return false;
}

void HaMaster::WaitForSlave(int64_t end_offset, Done done) {
  store::PutStatus now_status;
  {
    absl::MutexLock lock(&mu_);
    if (max_acked_ >= end_offset) {
      now_status = store::PutStatus::kOk;
    } else if (stopping_ || !AnySlaveInSync(end_offset)) {
      now_status = store::PutStatus::kSlaveNotAvailable;
    } else {
      waiters_.emplace(
          end_offset,
          Waiter{absl::Now() + options_.slave_ack_timeout, std::move(done)});
      timer_cv_.Signal();
      return;
    }
  }
  done(now_status);
}

std::vector<SlaveStatus> HaMaster::Slaves() const {
  absl::MutexLock lock(&mu_);
  std::vector<SlaveStatus> out;
  for (const auto& [remote, slave] : slaves_) out.push_back(slave);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.broker_id < b.broker_id;
  });
  return out;
}

bool HaMaster::WaitForSlavesAt(int64_t end_offset, absl::Duration limit) {
  auto caught_up = [this, end_offset]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::all_of(slaves_.begin(), slaves_.end(), [&](const auto& s) {
      return s.second.acked_offset >= end_offset;
    });
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&caught_up), limit);
}

void HaMaster::TimerLoop() {
  pthread_setname_np(pthread_self(), "ha-master");
  while (true) {
    std::vector<Held> expired_held;
    std::vector<Done> expired_waits;
    std::vector<Done> orphaned;
    {
      absl::MutexLock lock(&mu_);
      absl::Time next = absl::Now() + absl::Seconds(1);
      for (const Held& h : held_) next = std::min(next, h.deadline);
      for (const auto& [end, w] : waiters_) next = std::min(next, w.deadline);
      timer_cv_.WaitWithDeadline(&mu_, next);
      if (stopping_) return;
      const absl::Time now = absl::Now();
      auto split =
          std::partition(held_.begin(), held_.end(),
                         [&](const Held& h) { return h.deadline > now; });
      for (auto it = split; it != held_.end(); ++it) {
        expired_held.push_back(std::move(*it));
      }
      held_.erase(split, held_.end());
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->second.deadline <= now) {
          expired_waits.push_back(std::move(it->second.done));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = slaves_.begin(); it != slaves_.end();) {
        auto current = it++;
        if (now - current->second.last_seen > options_.slave_expiry) {
          spdlog::warn("slave {} not heard from in {}; dropped",
                       current->second.slave_addr,
                       absl::FormatDuration(options_.slave_expiry));
          slaves_.erase(current);
        }
      }
      orphaned = TakeWaitersWithoutSlave();
    }
    for (const Held& h : expired_held) AnswerEmpty(h);
    for (Done& d : expired_waits) d(store::PutStatus::kFlushSlaveTimeout);
    for (Done& d : orphaned) d(store::PutStatus::kSlaveNotAvailable);
  }
}

}  // namespace cometmq::broker
