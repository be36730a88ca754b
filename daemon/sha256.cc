#include "daemon/sha256.h"

#include <openssl/evp.h>

namespace taskpool {

std::optional<std::string> Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  // One-shot EVP_Digest: no context to leak on an early return.
  if (EVP_Digest(data.data(), data.size(), digest, &digest_size, EVP_sha256(),
                 nullptr) != 1) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest_size);
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace taskpool
