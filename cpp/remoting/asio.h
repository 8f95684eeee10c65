#ifndef COMETMQ_REMOTING_ASIO_H_
#define COMETMQ_REMOTING_ASIO_H_

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including
// <utility>; g++ 12 then fails. Include Asio only through this header.
// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

#endif  // COMETMQ_REMOTING_ASIO_H_
