#ifndef COMETMQ_COMMON_VERSION_H_
#define COMETMQ_COMMON_VERSION_H_

namespace cometmq {

// The CometMQ release, as the Python package declares it (python/setup.py;
// cometmq.__version__). Clients send it with their heartbeats, and mqadmin
// consumerConnection/producerConnection show it for each client.
inline constexpr char kVersion[] = "0.1.0";

// The language clients report, RocketMQ's LanguageCode: the Python package
// runs this C++ client, so every CometMQ client is "CPP".
inline constexpr char kClientLanguage[] = "CPP";

}  // namespace cometmq

#endif  // COMETMQ_COMMON_VERSION_H_
