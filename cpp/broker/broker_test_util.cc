#include "cpp/broker/broker_test_util.h"

#include "absl/strings/str_cat.h"
#include "cpp/store/store_test_util.h"

namespace cometmq::broker {

std::unique_ptr<namesrv::NameServer> StartLoopbackNameServer() {
  namesrv::NamesrvConfig config;
  config.bindAddress = "127.0.0.1";
  config.listenPort = 0;
  auto server = std::make_unique<namesrv::NameServer>(config);
  if (!server->Start().ok()) return nullptr;
  return server;
}

BrokerConfig LoopbackBrokerConfig(const namesrv::NameServer& namesrv,
                                  const std::string& tag) {
  BrokerConfig config;
  config.brokerIP1 = "127.0.0.1";
  config.bindAddress = "127.0.0.1";
  config.listenPort = 0;
  config.namesrvAddr = absl::StrCat("127.0.0.1:", namesrv.port());
  config.store = store::SmallStoreConfig(store::MakeTempDir(tag));
  config.logDir = config.store.storePathRootDir + "/logs";
  return config;
}

}  // namespace cometmq::broker
