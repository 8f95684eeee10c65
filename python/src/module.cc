// The `cometmq._core` extension module. Blocking calls release the GIL;
// callbacks from client threads take it.
#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "CometMQ client core (C++)";
  m.attr("__version__") = "0.1.0";
}
