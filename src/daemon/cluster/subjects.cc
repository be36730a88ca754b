#include "daemon/cluster/subjects.h"

namespace taskpool::cluster {

std::string Subjects::FunctionToken(std::string_view function) {
  const bool plain = !function.empty() && function.find_first_not_of(
                                              "abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-") == std::string_view::npos;
  if (plain) return std::string(function);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string token = "~";
  for (unsigned char c : function) {
    token += kDigits[c >> 4];
    token += kDigits[c & 0xf];
  }
  return token;
}

}  // namespace taskpool::cluster
