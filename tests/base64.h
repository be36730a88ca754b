// RFC 4648 base64 decoding, for tests that read bytes out of protobuf's
// JSON mapping (`taskpool --json`), which writes them in base64.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace taskpool::testing {

inline std::string Base64Decode(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

}  // namespace taskpool::testing
